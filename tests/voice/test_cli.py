"""The voice commands: surveys define/run/list/sends, measures add/reading/list/push,
and plans share/shares/unshare/agenda; bad input is a clear message, not a traceback."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from keepwell.core.workspace import Workspace
from keepwell.success import service as success_service
from tests.cli_runner import run_cli
from tests.voice.conftest import load_company


def test_voice_commands(
    sqlite_workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = sqlite_workspace  # the CLI opens the workspace's own database file
    load_company(ws)
    today = datetime.now(UTC).date()

    def cli(*args: str) -> str:
        result = run_cli(list(args), ws.root, capsys, monkeypatch)
        assert result.code == 0, result.err
        return result.out

    cli("surveys", "define", "q1", "--question", "Recommend us?", "--role", "admin")
    assert "queued 3" in cli("surveys", "run")
    (campaign,) = json.loads(cli("surveys", "list", "--format", "json"))
    assert (campaign["name"], campaign["sends"], campaign["answers"]) == ("q1", 3, 0)
    assert len(json.loads(cli("surveys", "sends", "q1", "--format", "json"))) == 3

    start = str(today - timedelta(days=30))
    by = str(today + timedelta(days=60))
    added = cli("measures", "add", "A", "--name", "Hours saved", "--unit", "hours",
                "--baseline", "0", "--target", "40", "--by", by, "--starts", start)  # fmt: skip
    assert "measure 1 for A" in added
    cli("measures", "reading", "1", "10", "--on", str(today))
    (measure,) = json.loads(cli("measures", "list", "A", "--format", "json"))
    assert (measure["latest"], measure["progress"]) == (10, 0.25)
    pushed = cli("measures", "push")
    assert "measure_progress: 1 account(s)" in pushed
    assert "plan_overdue_ours: 0 account(s)" in pushed  # no plan yet

    success_service.create_plan(ws, "A", as_of=today - timedelta(days=40), template="mid-touch")
    shown = cli("plans", "share", "A", "--with", "Dana", "--format", "json")
    assert json.loads(shown)["url"].split("/p/")[1]
    assert json.loads(cli("plans", "shares", "A", "--format", "json"))[0]["state"] == "active"
    assert "share 1 revoked" in cli("plans", "unshare", "A", "1")
    assert json.loads(cli("plans", "shares", "A", "--format", "json"))[0]["state"] == "revoked"
    agenda = cli("plans", "agenda", "A")
    assert "Our side, overdue since" in agenda
    assert "Hours saved: now 10 hours" in agenda

    bad = run_cli(["measures", "add", "A", "--name", "x", "--unit", "u", "--baseline", "1",
                   "--target", "1", "--by", str(today)], ws.root, capsys, monkeypatch)  # fmt: skip
    assert bad.code == 2
    assert "target equals the baseline" in bad.err
    assert "Traceback" not in bad.err
    missing = run_cli(["plans", "share", "B", "--with", "X"], ws.root, capsys, monkeypatch)
    assert missing.code == 2
    assert "no active success plan" in missing.err
