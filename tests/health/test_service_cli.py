"""Scoring a real workspace: snapshots, movers, explanations, and the CLI commands."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from keepwell.contract.service import import_file
from keepwell.core.errors import NotFoundError
from keepwell.core.settings import get_settings
from keepwell.core.workspace import Workspace
from keepwell.health import cli as health_cli
from keepwell.health import service
from tests.factories import write_rows

FIRST, SECOND = date(2025, 6, 30), date(2025, 7, 31)


def _events(account: str, users: int, start: date, days: int) -> list[dict[str, str]]:
    rows = []
    for d in range(days):
        day = start + timedelta(days=d)
        for u in range(users):
            rows.append(
                {"timestamp": f"{day.isoformat()}T10:00:00Z", "account_id": account,
                 "user_id": f"{account}-u{u}", "event": "report_created" if u == 0 else "login",
                 "message_id": f"{account}-{d}-{u}"}
            )  # fmt: skip
    return rows


def _load(ws: Workspace, tmp_path: Path) -> None:
    files = {
        "accounts": [
            {"account_id": "A", "name": "Acme"},
            {"account_id": "B", "name": "Beta"},
            {"account_id": "P", "name": "Prospect", "is_prospect": "true"},
        ],
        "subscriptions": [
            {
                "line_id": "a1",
                "account_id": "A",
                "product": "core",
                "mrr": "10000",
                "quantity": "10",
                "starts_on": "2024-01-01",
                "ends_on": "2026-01-01",
            },
            {
                "line_id": "b1",
                "account_id": "B",
                "product": "core",
                "mrr": "500",
                "quantity": "5",
                "starts_on": "2024-06-01",
            },
        ],
        "contacts": [
            {"contact_id": "c1", "account_id": "A", "role": "sponsor"},
        ],
        # A is busy until FIRST then goes quiet; B is steady
        "events": _events("A", 8, date(2025, 5, 1), 61) + _events("B", 2, date(2025, 5, 1), 92),
    }
    for entity, rows in files.items():
        report = import_file(ws, entity, write_rows(tmp_path / f"{entity}.csv", rows))
        assert report.rejected == 0, (entity, report)


def test_compute_scores_stores_snapshots_and_explains(workspace: Workspace, tmp_path: Path) -> None:
    ws = workspace
    _load(ws, tmp_path)
    first = service.compute_scores(ws, FIRST)
    assert first.accounts == 2  # the prospect is not scored
    assert sum(first.bands.values()) == 2
    assert first.previous_as_of is None
    assert (ws.root / "health.yaml").exists()

    second = service.compute_scores(ws, SECOND)
    assert second.previous_as_of == FIRST
    assert second.movers[0]["account_id"] == "A"
    assert second.movers[0]["change"] < 0  # A went quiet

    again = service.compute_scores(ws, SECOND)  # re-scoring the same day replaces it
    assert again.accounts == 2
    assert service.list_snapshots(ws) == [FIRST, SECOND]

    explained = service.explain_account(ws, "A")
    assert explained["as_of"] == SECOND
    assert explained["segment"] == "high-touch"  # ARR 120k
    measures = {m["measure"]: m for m in explained["measures"]}
    assert measures["license_utilization"]["value"] == 0  # nobody active in July
    assert measures["license_utilization"]["band"] == "red"
    assert "nps_180d" in explained["missing"]
    total = sum(m["contribution"] for m in explained["measures"])
    assert total == pytest.approx(explained["score"])
    previous = explained["previous"]
    assert previous["as_of"] == FIRST
    assert previous["change"] == pytest.approx(explained["score"] - previous["score"])
    assert previous["drivers"][0]["contribution_change"] < 0

    with pytest.raises(NotFoundError, match="no health snapshot for account 'Z'"):
        service.explain_account(ws, "Z")
    assert service.explain_account(ws, "A", FIRST)["previous"] is None


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """Test root."""

    health_cli.register(app)
    return app


def test_cli_score_and_show(
    sqlite_workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load(sqlite_workspace, tmp_path)
    monkeypatch.setenv("KEEPWELL_HOME", str(sqlite_workspace.root))
    get_settings.cache_clear()
    runner = CliRunner()
    app = _app()
    try:
        scored = runner.invoke(app, ["score", "--as-of", FIRST.isoformat()])
        assert scored.exit_code == 0, scored.output
        assert "Health as of 2025-06-30: 2 accounts" in scored.output
        scored = runner.invoke(app, ["score", "--as-of", SECOND.isoformat(), "--format", "json"])
        assert json.loads(scored.output)["movers"][0]["account_id"] == "A"

        shown = runner.invoke(app, ["health", "show", "A", "--format", "json"])
        assert shown.exit_code == 0, shown.output
        payload = json.loads(shown.output)
        assert payload["account_id"] == "A"
        assert payload["previous"]["as_of"] == FIRST.isoformat()
        table = runner.invoke(app, ["health", "show", "A"])
        assert "Drivers of the change" in table.output
        bad = runner.invoke(app, ["score", "--as-of", "June"])
        assert bad.exit_code != 0
    finally:
        get_settings.cache_clear()


def test_cli_backtest(
    sqlite_workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load(sqlite_workspace, tmp_path)
    monkeypatch.setenv("KEEPWELL_HOME", str(sqlite_workspace.root))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        args = ["health", "backtest", "--from", "2025-05", "--to", "2025-06", "--horizon", "30"]
        result = runner.invoke(_app(), [*args, "--format", "json"])
        assert result.exit_code == 0, result.output
        payload = json.loads(result.output)
        # the data ends on 2025-07-31 (the last events): both months have a known outcome
        assert payload["months"] == ["2025-05-31", "2025-06-30"]
        assert payload["observations"] == 4
        assert payload["churn_rate"] == 0
        table = runner.invoke(_app(), args)
        assert "ROC AUC of the score for churn: n/a" in table.output
        assert "usage measures only" in table.output
        assert payload["usage_only_auc_churn"] is None  # nobody churned: no AUC
        bad = runner.invoke(_app(), ["health", "backtest", "--from", "2025-13", "--to", "2025-06"])
        assert bad.exit_code != 0
    finally:
        get_settings.cache_clear()


def test_mrr_measures_are_in_the_base_currency(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    _load(ws, tmp_path)
    files = {
        "subscriptions": [
            {"line_id": "b2", "account_id": "B", "product": "addon", "mrr": "100",
             "currency": "EUR", "quantity": "1", "starts_on": "2025-01-15"},
        ],
        "fx_rates": [
            {"currency": "EUR", "month": "2024-12-01", "rate": "1.5"},
            {"currency": "EUR", "month": "2025-01-01", "rate": "1.1"},  # the line's month
        ],
    }  # fmt: skip
    for entity, rows in files.items():
        report = import_file(ws, entity, write_rows(tmp_path / f"{entity}_fx.csv", rows))
        assert report.rejected == 0, (entity, report)
    b = next(h for h in service.assess(ws, FIRST) if h.score.account_id == "B")
    assert float(b.values["mrr"]) == pytest.approx(500 + 110)
    assert float(b.values["arr"]) == pytest.approx(12 * 610)
