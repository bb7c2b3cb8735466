"""Month-to-month books: no renewal dates, open-ended lines, an end date only for a line
that stopped. Prospect fit, the ideal customer profile, the churn model and the health
back-test run on them: on a demo company billed month to month (``keepwell demo
--billing monthly``), and the labels are checked on a hand-made book shaped like a
billing export."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from keepwell.cli import app
from keepwell.contract.service import import_file
from keepwell.core.settings import get_settings
from keepwell.core.workspace import Workspace
from keepwell.demo.catalog import Billing
from keepwell.demo.pipeline import IMPORT_ORDER
from keepwell.demo.service import DemoSummary, generate_demo
from keepwell.risk import outcomes, service
from tests.conftest import make_workspace
from tests.web.helpers import make_app
from tests.web.pages_helpers import add_person, sign_in

END_MONTH = date(2026, 10, 1)
AS_OF = date(2026, 10, 31)


def invoke(ws: Workspace, *args: str) -> tuple[int, str]:
    """``keepwell ARGS`` on ``ws``: exit code and output."""
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, list(args), env={"KEEPWELL_HOME": str(ws.root)})
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def as_json(ws: Workspace, *args: str) -> Any:
    code, output = invoke(ws, *args, "--format", "json")
    assert code == 0, output
    return json.loads(output)


@pytest.fixture(scope="module")
def monthly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, DemoSummary]]:
    """A 100-account demo company over 24 months, every customer month to month."""
    root = tmp_path_factory.mktemp("monthly")
    data = generate_demo(
        root / "data", accounts=100, months=24, seed=3, end_month=END_MONTH, billing=Billing.MONTHLY
    )
    ws = make_workspace(root / "ws")
    for entity in IMPORT_ORDER:
        report = import_file(ws, entity, data.files[entity])
        assert report.rejected == 0, (entity, report)
    yield ws, data
    ws.close()


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_monthly_demo_has_no_renewal_dates(monthly: tuple[Workspace, DemoSummary]) -> None:
    _, data = monthly
    assert data.truth_dir is not None
    contracts = {r["contract"] for r in _rows(data.truth_dir / "accounts.csv")}
    assert contracts == {"monthly"}
    lines = _rows(data.files["subscriptions"])
    # open-ended lines; no end after the data's last day (a renewal date would be one)
    assert sum(not r["ends_on"] for r in lines) > 50
    assert all(not r["ends_on"] or r["ends_on"] <= AS_OF.isoformat() for r in lines)
    churned = {r["account_id"] for r in _rows(data.truth_dir / "churn.csv")}
    assert churned, "the company has churners to learn from"


def test_prospects_are_ranked_with_a_cross_validated_auc(
    monthly: tuple[Workspace, DemoSummary],
) -> None:
    ws, data = monthly
    result = as_json(ws, "prospects", "score", "--as-of", AS_OF.isoformat())
    accounts = _rows(data.files["accounts"])
    prospects = {r["account_id"] for r in accounts if r["is_prospect"] == "true"}
    assert {p["account_id"] for p in result["prospects"]} == prospects
    scores = [p["fit_score"] for p in result["prospects"]]
    assert scores == sorted(scores, reverse=True)
    assert all(p["explanation"] for p in result["prospects"])
    assert 0.0 <= result["cv_roc_auc"] <= 1.0
    # mostly labelled by whether they still paid twelve months on (no renewals to read)
    by = result["labelled_by"]
    assert by["retained"] > 3 * by["renewals"]
    assert result["customers"] == by["retained"] + by["renewals"] >= 50
    assert 0.5 < result["success_rate"] < 1.0
    code, table = invoke(ws, "prospects", "score", "--as-of", AS_OF.isoformat())
    assert code == 0, table
    assert "month to month: still paying 12 months on" in table
    assert "cross-validated ROC AUC" in table


def test_icp_risk_train_forecast_renewals_and_the_backtest_run(
    monthly: tuple[Workspace, DemoSummary],
) -> None:
    ws, _ = monthly
    icp = as_json(ws, "icp", "--as-of", AS_OF.isoformat())
    assert icp["accounts"] > 40
    assert {g["dimension"] for g in icp["groups"]} >= {"size", "industry", "country"}
    card = as_json(ws, "risk", "train", "--as-of", AS_OF.isoformat())
    assert card["rows"]["test"]["positives"] > 0
    assert 0.5 < card["metrics"]["model"]["roc_auc"] <= 1.0
    # a churner's line end is not read before it happens (it led the model when it was)
    top = [f["feature"] for f in card["top_features"][:3]]
    assert "open_ended_share" not in top
    forecast = as_json(ws, "risk", "forecast", "--as-of", AS_OF.isoformat())
    assert forecast["upcoming"]["lines"] == []  # no renewal dates
    buckets = {b["bucket"]: b for b in forecast["month_to_month"]["buckets"]}
    summary = as_json(ws, "metrics", "summary", "--as-of", AS_OF.isoformat())
    assert sum(b["accounts"] for b in buckets.values()) == summary["paying_accounts"]
    assert sum(b["arr"] for b in buckets.values()) == pytest.approx(float(summary["arr"]))
    assert buckets["unscored"]["accounts"] == 0
    assert 0 < sum(b["expected_arr"] for b in buckets.values()) < float(summary["arr"])
    assert float(summary["cmrr"]) == float(summary["mrr"])  # open-ended lines continue
    code, table = invoke(ws, "renewals", "--within", "120", "--as-of", AS_OF.isoformat())
    assert code == 0, table
    assert f"{summary['paying_accounts']} customers (ARR" in table
    assert "are month to month: no renewal date" in table
    backtest = as_json(
        ws, "health", "backtest", "--from", "2025-03", "--to", "2026-03", "--horizon", "180"
    )
    assert backtest["observations"] > 500
    assert backtest["churn_rate"] > 0
    assert 0.5 < backtest["auc_churn"] <= 1.0


def test_the_renewals_page_counts_the_month_to_month_customers(
    monthly: tuple[Workspace, DemoSummary],
) -> None:
    ws, _ = monthly
    add_person(ws, "boss@example.com", "admin")
    page = sign_in(make_app(ws), "boss@example.com").get(f"/renewals?as_of={AS_OF}")
    assert page.status_code == 200, page.text
    summary = as_json(ws, "metrics", "summary", "--as-of", AS_OF.isoformat())
    assert f"{summary['paying_accounts']} customers (" in page.text
    assert "are month to month: no renewal date" in page.text
    assert "No line ends in the next" in page.text


# A billing export of a month-to-month book, as a user would bring it: one open-ended
# line per customer (no end date, no auto_renew column), an end date only for those who
# left. Software customers mostly stay, Retail ones mostly leave.
HEADER = "line_id,account_id,product,mrr,currency,quantity,starts_on,ends_on"


def _start(i: int) -> date:
    months = i % 18  # January 2023 to June 2024
    return date(2023 + months // 12, months % 12 + 1, 5)


def _after(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, day.day)


def _end(i: int) -> date | None:
    if i % 4 == 1:  # Retail: left seven months in
        return _after(_start(i), 7)
    if i % 4 == 3:  # Retail: left fifteen months in, after the twelve-month horizon
        return _after(_start(i), 15)
    if i % 8 == 0:  # Software: left five months in
        return _after(_start(i), 5)
    return None


def _export(folder: Path) -> dict[str, Path]:
    accounts = ["account_id,name,industry,employees,country,is_prospect"]
    lines = [HEADER]
    for i in range(48):
        industry = "Software" if i % 2 == 0 else "Retail"
        country = ("DE", "FR", "US")[i % 3]
        accounts.append(f"C{i:02d},Customer {i},{industry},{20 + 13 * i},{country},")
        end = _end(i)
        lines.append(f"L{i:02d},C{i:02d},Pro,{99 + i}.50,USD,{1 + i % 5},{_start(i)},{end or ''}")
    accounts.append("C48,Customer 48,Software,40,DE,")  # signed on the data's last day
    lines.append("L48,C48,Pro,99.00,USD,1,2025-12-31,")
    for k in range(4):
        accounts.append(f"P{k},Prospect {k},{('Software', 'Retail')[k % 2]},{100 + k},DE,true")
    files = {"accounts": folder / "accounts.csv", "subscriptions": folder / "subscriptions.csv"}
    files["accounts"].write_text("\n".join(accounts) + "\n", encoding="utf-8")
    files["subscriptions"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return files


@pytest.fixture(scope="module")
def export_book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("export")
    ws = make_workspace(root / "ws")
    for entity, path in _export(root).items():
        report = import_file(ws, entity, path)
        assert (report.read, report.rejected) == (report.loaded, 0), report
    yield ws
    ws.close()


def test_labels_of_an_exported_month_to_month_book(export_book: Workspace) -> None:
    labels = service.success_labels(export_book, date(2025, 12, 31))
    assert set(labels.basis.values()) == {outcomes.RETAINED}
    expected = {f"C{i:02d}": not (i % 4 == 1 or i % 8 == 0) for i in range(48)}
    assert labels.success == expected  # C48 is too young to tell
    assert labels.success["C03"]  # left after the horizon: it was retained
    assert sum(labels.success.values()) == 30


def test_prospect_fit_and_icp_on_the_exported_book(export_book: Workspace) -> None:
    """Before month-to-month books were labelled by retention, every customer with a
    line end was a churn and prospect fit refused to run."""
    result = as_json(export_book, "prospects", "score", "--as-of", "2025-12-31")
    assert result["labelled_by"] == {"renewals": 0, "retained": 48}
    assert result["success_rate"] == pytest.approx(30 / 48)
    assert result["cv_roc_auc"] is not None
    ranked = [p["account_id"] for p in result["prospects"]]
    assert set(ranked[:2]) == {"P0", "P2"}  # Software above Retail
    icp = as_json(export_book, "icp", "--as-of", "2025-12-31")
    industry = {g["group"]: g for g in icp["groups"] if g["dimension"] == "industry"}
    assert industry["Software"]["logo_churn"] < industry["Retail"]["logo_churn"]
