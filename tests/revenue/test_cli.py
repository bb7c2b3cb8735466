"""The CLI and the Python API give the same figures (one service call behind both)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from keepwell.console import to_jsonable
from keepwell.contract.models import Account, Subscription
from keepwell.core.database import transaction
from keepwell.core.models import FxRate
from keepwell.core.settings import get_settings
from keepwell.core.workspace import Workspace, init_workspace
from keepwell.revenue import cli as revenue_cli
from keepwell.revenue import service
from keepwell.revenue.renewal_cohorts import RenewalPeriod

runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None: ...

    revenue_cli.register(root)
    return root


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    workspace = init_workspace(tmp_path / "ws")
    with transaction(workspace.engine) as session:
        session.add_all(
            [
                Account(
                    account_id="a", name="A", industry="retail", category_budget=Decimal(24000)
                ),
                Account(account_id="b", name="B", industry="media"),
            ]
        )
        session.flush()
        session.add_all(
            [
                Subscription(
                    line_id="1",
                    account_id="a",
                    product="core",
                    mrr=Decimal(1000),
                    starts_on=date(2025, 1, 1),
                    ends_on=date(2026, 1, 1),
                    auto_renew=False,
                ),
                Subscription(
                    line_id="2",
                    account_id="b",
                    product="core",
                    mrr=Decimal(100),
                    currency="EUR",
                    starts_on=date(2025, 3, 15),
                    ends_on=None,
                ),
                Subscription(
                    line_id="3",
                    account_id="a",
                    product="core",
                    mrr=Decimal(1100),
                    starts_on=date(2026, 1, 1),
                    ends_on=date(2027, 1, 1),
                ),
                FxRate(currency="EUR", month=date(2025, 3, 1), rate=Decimal("1.08")),
            ]
        )
    monkeypatch.setenv("KEEPWELL_HOME", str(workspace.root))
    get_settings.cache_clear()
    yield workspace
    get_settings.cache_clear()
    workspace.close()


def run_json(app: typer.Typer, *args: str) -> object:
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_mrr_cli_matches_service(app, ws) -> None:
    cli_rows = run_json(app, "metrics", "mrr", "--from", "2025-01", "--to", "2026-02")
    api_rows = service.mrr_movements(ws, date(2025, 1, 1), date(2026, 2, 28))
    # the data's last day is 2026-01-01 (the last line start): January is partial
    api_rows = service.mark_partial_months(api_rows, date(2026, 1, 1))
    assert cli_rows == to_jsonable(api_rows)
    assert [r["month"] for r in cli_rows if r["partial"]] == ["2026-01", "2026-02"]
    by_month = {r["month"]: r for r in cli_rows}
    assert by_month["2025-03"]["new"] == 108  # EUR at the March rate
    assert by_month["2026-01"]["expansion"] == 100  # renewal at a higher price


def test_summary_cli_matches_service(app, ws) -> None:
    payload = run_json(app, "metrics", "summary", "--as-of", "2026-01-31", "--cac", "5000")
    api = service.portfolio_summary(ws, date(2026, 1, 31), cac=Decimal(5000))
    assert payload == to_jsonable(api.as_dict())
    assert payload["mrr"] == 1208
    assert payload["share_of_wallet"] == pytest.approx(1100 * 12 / 24000)


def test_other_commands_run(app, ws) -> None:
    cohorts = run_json(app, "metrics", "cohorts", "--as-of", "2026-01-31", "--by", "industry")
    assert cohorts == to_jsonable(service.cohort_retention(ws, date(2026, 1, 31), "industry"))
    curves = run_json(app, "metrics", "survival", "--as-of", "2026-01-31")
    assert curves["all"][0]["survival"] == 1.0
    upcoming = run_json(app, "renewals", "--within", "400", "--as-of", "2025-12-01")
    assert [r["line_id"] for r in upcoming] == ["1", "3"]
    assert upcoming[0]["has_successor"] is True
    fit = run_json(
        app,
        "retention",
        "fit",
        "--survivors",
        "1000,869,743,653,593,551,517,491",
        "--project",
        "12",
    )
    assert fit["alpha"] == pytest.approx(0.668, abs=0.001)
    assert len(fit["periods"]) == 13
    sim = run_json(app, "simulate", "--retention", "0.95", "--vs-retention", "0.80")
    assert sim["difference"]["valuation"] > 0
    assert sim["difference"]["valuation_dcf"] > 0
    table = runner.invoke(app, ["simulate"])
    assert "value, DCF of customers" in table.stdout
    assert "+22.6%" in table.stdout  # A's DCF value with 2 more points of retention
    table = runner.invoke(app, ["metrics", "mrr", "--from", "2025-01", "--to", "2025-03"])
    assert table.exit_code == 0
    csv_out = runner.invoke(
        app, ["metrics", "mrr", "--from", "2025-01", "--to", "2025-03", "--format", "csv"]
    )
    assert csv_out.stdout.splitlines()[0].startswith("group,month,starting_mrr,new,")
    assert len(csv_out.stdout.splitlines()) == 4


def test_bad_attribute_is_an_input_error(app, ws) -> None:
    result = runner.invoke(app, ["metrics", "mrr", "--by", "colour"])
    assert result.exit_code != 0
    assert "no column colour" in str(result.exception)


def test_the_default_day_is_the_data_s_now(app, ws) -> None:
    """Today is past the data (its last day is the 2026-01-01 line start): commands
    default to that day and say so on standard error, JSON stays clean."""
    result = runner.invoke(app, ["metrics", "summary", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["as_of"] == "2026-01-01"
    assert "the last day of the data" in result.stderr
    table = runner.invoke(app, ["metrics", "mrr", "--from", "2025-11"])
    assert "2026-01*" in table.stdout
    assert "partial month" in table.stdout


def test_a_day_after_the_data_and_today_is_refused(app, ws) -> None:
    for args in (["metrics", "summary"], ["renewals"], ["metrics", "cohorts"]):
        result = runner.invoke(app, [*args, "--as-of", "2031-01-01"])
        assert result.exit_code != 0
        assert "--as-of 2031-01-01 is in the future" in str(result.exception)


def test_retention_fit_from_the_workspace(app, ws) -> None:
    args = ["retention", "fit", "--from-workspace", "--as-of", "2026-01-31"]
    annual = run_json(app, *args, "--period", "annual", "--cohort", "2025-01")
    api = service.fit_workspace_retention(
        ws, date(2026, 1, 31), RenewalPeriod.ANNUAL, cohort="2025-01"
    )
    assert annual["counts"] == [1, 1]  # account a renewed its annual contract
    assert annual["alpha"] == pytest.approx(api["alpha"])
    monthly = run_json(app, *args, "--period", "monthly", "--by-cohort")
    # account b (open-ended from March 2025) is the only monthly one: March..January
    assert [(f["cohort"], f["counts"]) for f in monthly["cohorts"]] == [("2025-03", [1] * 11)]
    table = runner.invoke(app, [*args, "--period", "monthly"])
    assert table.exit_code == 0, table.output
    neither = runner.invoke(app, ["retention", "fit"])
    assert neither.exit_code != 0
    assert "--survivors or --from-workspace" in str(neither.exception)


def test_by_health_segment_and_tier(app, ws) -> None:
    """``--by segment`` groups by the health segment each account had on the day (its
    latest snapshot on or before it); ``--by tier`` by the plan tier. Before, both
    answered "accounts has no column segment"."""
    from keepwell.health.models import HealthScore

    with transaction(ws.engine) as session:
        for as_of, segment in ((date(2025, 6, 30), "smb"), (date(2026, 1, 31), "enterprise")):
            session.add(
                HealthScore(
                    as_of=as_of, account_id="a", segment=segment, scorecard="default",
                    stage="adoption", score=70.0, band="green", details={},
                )
            )  # fmt: skip
    curves = run_json(app, "metrics", "survival", "--as-of", "2025-12-31", "--by", "segment")
    assert set(curves) == {"smb", "(none)"}  # b has no snapshot
    later = run_json(app, "metrics", "cohorts", "--as-of", "2026-01-31", "--by", "segment")
    assert {r["group"] for r in later} == {"enterprise", "(none)"}
    mrr = run_json(app, "metrics", "mrr", "--from", "2025-07", "--to", "2025-07", "--by", "band")
    assert {(r["group"], r["ending_mrr"]) for r in mrr} == {("green", 1000), ("(none)", 108)}
    bad = runner.invoke(app, ["metrics", "survival", "--by", "colour"])
    assert "--by can be:" in bad.exception.hint  # type: ignore[union-attr]
