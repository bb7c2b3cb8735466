"""CSV outputs of ``renewals`` and ``feedback top`` escape cells a spreadsheet would
run as formulas, as the web export does (one writer for all: ``core.csvtext``). Before,
``=HYPERLINK(...)``, ``+cmd`` and ``-2+3`` went through as they were."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from keepwell.contract.models import Account, Subscription
from keepwell.core.database import transaction
from keepwell.core.workspace import Workspace
from tests.cli_runner import run_cli

EVIL = '=HYPERLINK("http://evil.example","click")'


def test_renewals_and_feedback_csv_escape_formulas(
    sqlite_workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with transaction(sqlite_workspace.engine) as session:
        session.add(Account(account_id="+cmd", name="-2+3"))
        session.flush()
        session.add(
            Subscription(
                line_id="l1",
                account_id="+cmd",
                product=EVIL,
                mrr=Decimal(100),
                starts_on=date(2025, 1, 1),
                ends_on=date(2026, 1, 1),
            )
        )
    home = sqlite_workspace.root
    renewals = run_cli(
        ["renewals", "--as-of", "2025-12-01", "--within", "60", "--format", "csv"],
        home,
        capsys,
        monkeypatch,
    )
    assert renewals.code == 0, renewals.err
    row = next(csv.DictReader(io.StringIO(renewals.out)))
    assert (row["account_id"], row["product"]) == ("'+cmd", "'" + EVIL)
    assert row["arr"] == "1200"
    added = run_cli(
        ["feedback", "add", "+cmd", "--request", "-2+3", "--at", "2025-12-01T08:00:00Z"],
        home,
        capsys,
        monkeypatch,
    )
    assert added.code == 0, added.err
    top = run_cli(
        ["feedback", "top", "--as-of", "2025-12-31", "--format", "csv"], home, capsys, monkeypatch
    )
    assert top.code == 0, top.err
    assert next(csv.DictReader(io.StringIO(top.out)))["request"] == "'-2+3"
