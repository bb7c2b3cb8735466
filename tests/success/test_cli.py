"""The CLI of CTAs as a user runs it: run, ctas list/show/start/snooze/close, tasks
complete, rules check."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from keepwell.core.workspace import Workspace
from tests.cli_runner import run_cli
from tests.success.company import AS_OF, OWNER_A, load_company


def test_ctas_cli_life_cycle(
    sqlite_workspace: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = sqlite_workspace
    load_company(ws, tmp_path)
    home = ws.root

    def cli(*args: str) -> tuple[int, str, str]:
        result = run_cli(list(args), home, capsys, monkeypatch)
        return result.code, result.out, result.err

    code, out, err = cli("run", "--as-of", AS_OF.isoformat(), "--format", "json")
    assert code == 0, err
    assert json.loads(out)["opened"] == 3
    assert "warning:" in err
    assert "(rule broken)" in err  # the bad rule is reported, not fatal

    code, out, _ = cli("ctas", "list", "--owner", OWNER_A, "--as-of", "2025-08-01",
                       "--format", "json")  # fmt: skip
    mine = json.loads(out)
    assert [c["title"] for c in mine] == ["Sponsor left", "Renewal soon"]  # high first
    sponsor = mine[0]["cta_id"]
    code, out, _ = cli("ctas", "list", "--overdue", "--as-of", "2025-09-01", "--format", "csv")
    overdue = list(csv.DictReader(io.StringIO(out)))
    assert {r["title"] for r in overdue} == {"Sponsor left", "Invoice late"}

    code, out, _ = cli("ctas", "show", str(sponsor), "--format", "json")
    tasks = json.loads(out)["tasks"]
    assert cli("tasks", "complete", str(tasks[0]["task_id"]))[0] == 0
    assert cli("ctas", "start", str(sponsor))[0] == 0
    assert cli("ctas", "snooze", str(sponsor), "--until", "2030-01-01")[0] == 0
    code, out, _ = cli("ctas", "show", str(sponsor), "--format", "json")
    assert json.loads(out)["status"] == "snoozed"
    code, _, err = cli("ctas", "close", str(sponsor), "--outcome", "maybe")
    assert code == 2
    assert "'maybe' is not an outcome of a risk CTA" in err
    code, _, _ = cli("ctas", "close", str(sponsor), "--outcome", "saved", "--reason", "met")
    assert code == 0
    code, out, _ = cli("ctas", "list", "--status", "closed", "--format", "json")
    (closed,) = json.loads(out)
    assert (closed["outcome"], closed["close_reason"]) == ("saved", "met")
    code, _, err = cli("ctas", "start", "999")
    assert code == 2
    assert "no CTA 999" in err


def test_rules_check_reports_file_line_and_reason(
    sqlite_workspace: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = sqlite_workspace
    load_company(ws, tmp_path)
    result = run_cli(["rules", "check"], ws.root, capsys, monkeypatch)
    assert result.code == 2
    assert "4 rules, 3 playbooks usable" in result.out
    assert f"{ws.root / 'rules.yaml'} line 26 (rule broken): cannot parse" in result.err
    (ws.root / "playbooks.yaml").write_text("playbooks:\n  x:\n    tasks: []\n")
    result = run_cli(["rules", "check", "--format", "json"], ws.root, capsys, monkeypatch)
    problems = json.loads(result.out)["problems"]
    assert problems[0] == f"{ws.root / 'playbooks.yaml'} line 3: playbook 'x' has no tasks"
    assert len(problems) == 1 + 1 + 3  # the bad playbook, the bad rule, 3 rules using it


def test_worker_once_runs_a_cycle_then_waits_for_the_interval(
    sqlite_workspace: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = sqlite_workspace
    load_company(ws, tmp_path)
    args = ["worker", "--once", "--as-of", AS_OF.isoformat(), "--interval", "3600"]
    first = run_cli(args, ws.root, capsys, monkeypatch)
    assert first.code == 0, first.err
    assert "Cycle as of 2025-07-31" in first.out
    second = run_cli(args, ws.root, capsys, monkeypatch)  # a new process, state in the store
    assert second.code == 0, second.err
    assert "no cycle due" in second.out
    listed = run_cli(["ctas", "list", "--format", "json"], ws.root, capsys, monkeypatch)
    assert len(json.loads(listed.out)) == 3
