"""Presets (issue 16 item 3): each tool's export, in that tool's documented shape,
imports end to end with ``--mapping <preset>`` and the MRR per month equals a table
computed by hand here, to the cent. Each billing fixture holds an annual plan, a
quantity > 1, a percentage coupon, a trial, a cancellation at period end and a
second currency (EUR, converted at the fixture's rate of 1.10)."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from keepwell.contract.service import read_table
from keepwell.core.settings import Settings
from keepwell.core.workspace import open_workspace
from tests.cli_runner import Result, run_cli

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def home(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path / "ws"
    assert run_cli(["init", str(home)], home, capsys, monkeypatch).code == 0
    return home


class Importer:
    def __init__(
        self,
        home: Path,
        folder: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        self.home, self.folder, self.capsys, self.monkeypatch = home, folder, capsys, monkeypatch

    def run(self, *args: str) -> Result:
        return run_cli(list(args), self.home, self.capsys, self.monkeypatch)

    def load(self, entity: str, name: str, preset: str | None = None) -> dict[str, object]:
        mapping = ["--mapping", preset] if preset else []
        result = self.run("import", entity, str(self.folder / name), *mapping, "--format", "json")
        assert result.code == 0, result.out + result.err
        summary: dict[str, object] = json.loads(result.out)
        return summary

    def mrr(self, first: str, last: str) -> dict[str, Decimal]:
        result = self.run("metrics", "mrr", "--from", first, "--to", last, "--format", "json")
        assert result.code == 0, result.err
        return {r["month"]: Decimal(str(r["ending_mrr"])) for r in json.loads(result.out)}


@pytest.fixture
def importer(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Importer:
    return Importer(home, tmp_path / "export", capsys, monkeypatch)


def _copy(importer: Importer, tool: str) -> None:
    shutil.copytree(FIXTURES / tool, importer.folder)


def test_stripe_exports_import_end_to_end_with_mrr_to_the_cent(importer: Importer) -> None:
    _copy(importer, "stripe")
    accounts = importer.load("accounts", "customers.csv", "stripe-customers")
    importer.load("fx_rates", "fx_rates.csv")
    lines = importer.load("subscriptions", "subscriptions.csv", "stripe-subscriptions")
    invoices = importer.load("invoices", "invoices.csv", "stripe-invoices")

    assert (accounts["read"], accounts["loaded"]) == (5, 5)
    # sub_C is trialing and sub_J a free plan: left out, and counted
    assert (lines["read"], lines["loaded"], lines["rejected"], lines["filtered"]) == (10, 8, 0, 2)
    assert (invoices["read"], invoices["loaded"], invoices["filtered"]) == (3, 2, 1)  # a draft
    # By hand, USD: A 3 x 50 less 20% = 120 (from Jan); B 1,200 a year = 100 (Feb); D 30
    # after its trial ends on 4 Feb; E 2 x 40 EUR = 80 EUR x 1.10 = 88, cancelled at the
    # period end 20 May (Jan-Apr); F 300 a quarter = 100 (from Mar); G 25, ended 1 Apr
    # (Jan-Mar); H 60 less 10 off = 50 (from Apr); I 20 (its coupon applies once: no
    # lower MRR, from May).
    assert importer.mrr("2025-01", "2025-06") == {
        "2025-01": Decimal("233.00"),
        "2025-02": Decimal("363.00"),
        "2025-03": Decimal("463.00"),
        "2025-04": Decimal("488.00"),
        "2025-05": Decimal("420.00"),
        "2025-06": Decimal("420.00"),
    }
    again = importer.load("subscriptions", "subscriptions.csv", "stripe-subscriptions")
    assert (again["new"], again["updated"], again["unchanged"]) == (0, 0, 8)


def test_chargebee_exports_import_end_to_end_with_mrr_to_the_cent(importer: Importer) -> None:
    _copy(importer, "chargebee")
    importer.load("accounts", "customers.csv", "chargebee-customers")
    importer.load("fx_rates", "fx_rates.csv")
    lines = importer.load("subscriptions", "subscriptions.csv", "chargebee-subscriptions")
    invoices = importer.load("invoices", "invoices.csv", "chargebee-invoices")

    assert (lines["read"], lines["loaded"], lines["filtered"]) == (8, 7, 1)  # cb_3 in trial
    assert (invoices["read"], invoices["loaded"], invoices["filtered"]) == (4, 3, 1)
    # By hand, USD: cb_1 2,400 a year = 200 (from Jan); cb_2 4 x 25 less 25% = 75 (Feb);
    # cb_4 50 EUR x 1.10 = 55, non-renewing to 1 Apr (Jan-Mar); cb_5 450 a quarter = 150
    # (Mar); cb_6 40 from its trial's end on 14 Feb (one-time coupon: no lower MRR);
    # cb_7 4,800 every 2 years = 200 (Apr); cb_8 10, cancelled 5 Mar (Jan-Feb).
    assert importer.mrr("2025-01", "2025-06") == {
        "2025-01": Decimal("265.00"),
        "2025-02": Decimal("380.00"),
        "2025-03": Decimal("520.00"),
        "2025-04": Decimal("665.00"),
        "2025-05": Decimal("665.00"),
        "2025-06": Decimal("665.00"),
    }


def test_hubspot_exports_import_end_to_end_with_mrr_to_the_cent(importer: Importer) -> None:
    _copy(importer, "hubspot")
    accounts = importer.load("accounts", "companies.csv", "hubspot-companies")
    contacts = importer.load("contacts", "contacts.csv", "hubspot-contacts")
    importer.load("fx_rates", "fx_rates.csv")
    lines = importer.load("subscriptions", "line_items.csv", "hubspot-deals")

    assert (accounts["loaded"], contacts["loaded"]) == (4, 3)
    # 3004 belongs to a lost deal, 3005 is a free pilot (the trial): left out
    assert (lines["read"], lines["loaded"], lines["filtered"]) == (7, 5, 2)
    # By hand, USD: 3001 5 x 20 less 10% = 90 (from Jan, open-ended); 3002 2,400 a year
    # = 200 (Feb, 12 months); 3003 2 x 150 EUR a quarter = 100 EUR x 1.10 = 110 (Jan,
    # 6 months: to 1 Jul); 3006 3,600 every two years = 150 (from Mar); 3007 60 less 10
    # off = 50 for 3 months from 15 Feb (to 15 May: Feb-Apr).
    assert importer.mrr("2025-01", "2025-07") == {
        "2025-01": Decimal("200.00"),
        "2025-02": Decimal("450.00"),
        "2025-03": Decimal("600.00"),
        "2025-04": Decimal("600.00"),
        "2025-05": Decimal("550.00"),
        "2025-06": Decimal("550.00"),
        "2025-07": Decimal("440.00"),
    }


def test_salesforce_exports_import_end_to_end_with_mrr_to_the_cent(importer: Importer) -> None:
    _copy(importer, "salesforce")
    accounts = importer.load("accounts", "accounts.csv", "salesforce-accounts")
    contacts = importer.load("contacts", "contacts.csv", "salesforce-contacts")
    importer.load("fx_rates", "fx_rates.csv")
    lines = importer.load("subscriptions", "opportunities.csv", "salesforce-opportunities")
    cases = importer.load("tickets", "cases.csv", "salesforce-cases")

    assert (accounts["loaded"], contacts["loaded"], cases["loaded"]) == (4, 2, 3)
    # Op4 is a trial, Op5 was lost: left out
    assert (lines["read"], lines["loaded"], lines["filtered"]) == (7, 5, 2)
    # By hand, USD: Li1 10 x 1,200 less 10% over 12 months = 900 (Jan-Dec); Li2 36,000
    # over 36 months = 1,000 (from Feb); Li3 2 x 600 EUR over 12 = 100 EUR x 1.10 = 110
    # (from 15 Jan); Li6 3 x 100 over 6 months = 50 (Mar-Aug); Li7 300 over 3 months =
    # 100 (Jan-Mar).
    assert importer.mrr("2025-01", "2025-06") == {
        "2025-01": Decimal("1110.00"),
        "2025-02": Decimal("2110.00"),
        "2025-03": Decimal("2160.00"),
        "2025-04": Decimal("2060.00"),
        "2025-05": Decimal("2060.00"),
        "2025-06": Decimal("2060.00"),
    }


def test_a_survey_tools_nps_export_imports_with_its_preset(importer: Importer) -> None:
    _copy(importer, "salesforce")
    importer.load("accounts", "accounts.csv", "salesforce-accounts")
    shutil.copy(FIXTURES / "survey" / "responses.csv", importer.folder / "responses.csv")

    nps = importer.load("surveys", "responses.csv", "survey-nps")

    assert (nps["read"], nps["loaded"], nps["rejected"]) == (3, 3, 0)
    workspace = open_workspace(Settings(home=importer.home))
    try:
        rows = read_table(workspace, "surveys").sort_by("response_id").to_pylist()
    finally:
        workspace.close()
    assert [(r["response_id"], r["kind"], r["score"]) for r in rows] == [
        ("r_1", "nps", 9), ("r_2", "nps", 4), ("r_3", "nps", 10),
    ]  # fmt: skip
    assert rows[1]["comment"] == "Exports time out,\nevery Monday"
    assert rows[0]["responded_at"].isoformat() == "2025-03-04T15:02:11+00:00"
