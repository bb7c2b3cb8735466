"""Journey stages count the days IN the stage, from the stage history (issue 23, item 3).

Hand-made accounts, one stage rule on active users: ``adoption`` (fewer than 3 active
users in 30 days, expected 30 days) else ``value``. L has been a customer for 3 years
and dropped into adoption 10 days ago: not overdue, whatever its tenure. S has been in
adoption since its first snapshot 40 days ago: overdue.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from keepwell.contract.service import import_file
from keepwell.core.settings import get_settings
from keepwell.core.workspace import Workspace
from keepwell.health import cli as health_cli
from keepwell.health import service
from keepwell.health.config import default_config_text
from tests.factories import write_rows

DAY = date(2026, 3, 31)
STAGES = """stages:
  - name: adoption
    rule: coalesce(active_users_30d, 0) < 3
    expected_days: 30
    elapsed: tenure_days
    kpis: [active_users_30d]
    outcome: coalesce(active_users_30d, 0) >= 2
  - name: value
    rule: "true"

"""


def _events(account: str, users: int, first: date, last: date) -> list[dict[str, str]]:
    rows, day = [], first
    while day <= last:
        for u in range(users):
            rows.append({"timestamp": f"{day.isoformat()}T10:00:00Z", "account_id": account,
                         "user_id": f"{account}-u{u}", "event": "login",
                         "message_id": f"{account}-{day}-{u}"})  # fmt: skip
        day += timedelta(days=1)
    return rows


def _setup(ws: Workspace, tmp_path: Path) -> None:
    text = default_config_text()
    start, end = text.index("\nstages:") + 1, text.index("# Scorecards")
    (ws.root / "health.yaml").write_text(text[:start] + STAGES + text[end:], encoding="utf-8")
    three_years = (DAY - timedelta(days=3 * 365)).isoformat()
    files = {
        "accounts": [{"account_id": "L", "name": "Longtime"}, {"account_id": "S", "name": "Stuck"}],
        "subscriptions": [
            {"line_id": f"{a}1", "account_id": a, "product": "core", "mrr": "1000",
             "quantity": "10", "starts_on": three_years}
            for a in ("L", "S")
        ],
        # L: five users until 41 days ago, then one (below 3 active users from DAY-10 on)
        "events": _events("L", 5, DAY - timedelta(days=120), DAY - timedelta(days=41))
        + _events("L", 1, DAY - timedelta(days=40), DAY)
        + _events("S", 1, DAY - timedelta(days=120), DAY),
    }  # fmt: skip
    for entity, rows in files.items():
        report = import_file(ws, entity, write_rows(tmp_path / f"{entity}.csv", rows))
        assert report.rejected == 0, (entity, report)


def _by_account(ws: Workspace, day: date) -> dict[str, service.AccountHealth]:
    return {h.score.account_id: h for h in service.assess(ws, day)}


def test_overdue_counts_days_since_the_account_entered_its_stage(
    workspace: Workspace, tmp_path: Path
) -> None:
    ws = workspace
    _setup(ws, tmp_path)
    service.compute_scores(ws, DAY - timedelta(days=40))
    service.compute_scores(ws, DAY - timedelta(days=10))
    service.compute_scores(ws, DAY)

    now = _by_account(ws, DAY)
    longtime, stuck = now["L"], now["S"]
    assert longtime.stage == stuck.stage == "adoption"
    assert longtime.stage_entered_on == DAY - timedelta(days=10)
    assert longtime.days_in_stage == 10
    assert longtime.stage_overdue is False  # 3 years a customer, 10 days in adoption
    # S had no history at its first snapshot: entered on the estimate (tenure_days)
    assert stuck.stage_overdue is True
    explained = service.explain_account(ws, "L")
    assert explained["days_in_stage"] == 10
    assert explained["stage_overdue"] is False
    assert explained["stage_entered_on"] == DAY - timedelta(days=10)

    history = [(e.stage, e.entered_on) for e in service.stage_history(ws, "L")]
    assert history == [("value", DAY - timedelta(days=40)), ("adoption", DAY - timedelta(days=10))]
    service.compute_scores(ws, DAY)  # re-scoring a day replaces its transitions
    assert len(service.stage_history(ws, "L")) == 2

    report = {r["stage"]: r for r in service.stage_report(ws, DAY)}
    adoption = report["adoption"]
    assert adoption["accounts"] == 2
    assert adoption["overdue"] == 1
    assert adoption["on_track_share"] == pytest.approx(0.5)
    assert adoption["median_days_in_stage"] is not None
    assert adoption["kpis"] == {"active_users_30d": 1.0}
    assert adoption["outcome_met_share"] == 0.0  # nobody has 2 active users
    assert report["value"]["accounts"] == 0
    assert report["value"]["finished"] == 1  # L left value after 30 days
    assert report["value"]["median_days_to_finish"] == 30


def test_rebuilt_history_replays_month_ends(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    _setup(ws, tmp_path)
    written = service.rebuild_stage_history(ws, DAY, months=3)
    assert written >= 3  # L: value, then adoption; S: adoption
    longtime = _by_account(ws, DAY + timedelta(days=1))["L"]
    # seen in value at the end of February, in adoption on DAY: entered on DAY
    assert longtime.stage_entered_on == DAY
    assert longtime.stage_overdue is False


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """Test root."""

    health_cli.register(app)
    return app


def test_cli_stages(
    sqlite_workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setup(sqlite_workspace, tmp_path)
    monkeypatch.setenv("KEEPWELL_HOME", str(sqlite_workspace.root))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        args = ["health", "stages", "--as-of", DAY.isoformat(), "--rebuild", "--months", "3"]
        table = runner.invoke(_app(), args)
        assert table.exit_code == 0, table.output
        assert "Journey stages as of 2026-03-31" in table.output
        assert "adoption" in table.output
        assert "50%" in table.output
        result = runner.invoke(_app(), [*args, "--format", "json"])
        rows = {r["stage"]: r for r in json.loads(result.output)}
        assert rows["adoption"]["accounts"] == 2
        assert rows["adoption"]["overdue"] == 1  # S; L entered adoption on DAY
    finally:
        get_settings.cache_clear()


def test_api_and_pages_show_time_in_stage(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    from tests.web.helpers import add_user, client, make_app
    from tests.web.pages_helpers import add_person, sign_in

    ws = sqlite_workspace
    _setup(ws, tmp_path)
    for days in (40, 10, 0):
        service.compute_scores(ws, DAY - timedelta(days=days))
    app = make_app(ws, restrict_csm=False)
    api = client(app, add_user(ws, "viewer@x.example", "viewer"))
    answer = api.get("/api/v1/health/stages", params={"as_of": DAY.isoformat()})
    assert answer.status_code == 200, answer.text
    rows = {r["stage"]: r for r in answer.json()}
    assert (rows["adoption"]["accounts"], rows["adoption"]["overdue"]) == (2, 1)
    assert rows["adoption"]["on_track_share"] == 0.5
    explained = api.get("/api/v1/accounts/L/health").json()
    assert (explained["days_in_stage"], explained["stage_overdue"]) == (10, False)
    assert api.get("/api/v1/health/stages", params={"as_of": "2999-01-01"}).status_code == 400

    add_person(ws, "lead@x.example", "manager")
    http = sign_in(app, "lead@x.example")
    account = http.get("/accounts/L").text
    assert "adoption · 10 days in stage" in account
    assert "overdue" not in account.split('id="stage"')[1].split("</div>")[0]
    stuck = http.get("/accounts/S").text.split('id="stage"')[1].split("</div>")[0]
    assert "<strong>overdue</strong>" in stuck
    directory = http.get("/accounts").text
    assert "10 days" in directory
