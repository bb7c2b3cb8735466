"""Success plans: created from the segment's template, objectives in the customer's own
measure, milestones on both sides, progress, monthly check-ins, progress as a rule column."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from keepwell.core.errors import ConfigurationError, InputError, NotFoundError
from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from keepwell.success import service
from keepwell.success.rule_table import rule_rows
from tests.cli_runner import run_cli
from tests.success.company import AS_OF, OWNER_A, load_company


def test_plan_from_segment_template_progress_and_checkins(
    workspace: Workspace, tmp_path: Path
) -> None:
    ws = workspace
    load_company(ws, tmp_path)
    health_service.compute_scores(ws, AS_OF)  # A is high-touch (ARR 120k)
    plan = service.create_plan(ws, "A", as_of=AS_OF)
    assert plan["template"] == "high-touch"
    assert plan["progress"] == 0.0
    first = plan["milestones"][0]
    assert (first["side"], first["owner"]) == ("us", OWNER_A)  # csm -> the account owner
    admin = next(m for m in plan["milestones"] if m["owner"] == "ad@acme.example")
    assert admin["side"] == "customer"  # owner: admin -> that contact's email
    assert first["due_on"] == AS_OF + timedelta(days=14)
    with pytest.raises(InputError, match="already has an active success plan"):
        service.create_plan(ws, "A", as_of=AS_OF)

    objective = plan["objectives"][0]  # share of teams live: 0 -> 80 %
    service.update_objective(ws, objective["objective_id"], current=40)
    for milestone in plan["milestones"][:2]:
        service.update_milestone(ws, milestone["milestone_id"], "done", AS_OF)
    shown = service.show_plan(ws, "A", AS_OF + timedelta(days=50))
    objectives = (0.5 + 0.0) / 2  # the second objective has no current value yet
    milestones = 2 / 5
    assert shown["progress"] == pytest.approx(100 * (objectives + milestones) / 2)
    assert [m["overdue"] for m in shown["milestones"]][:3] == [False, False, True]

    value = service.record_checkin(ws, "A", AS_OF + timedelta(days=30), "monthly review")
    assert value == pytest.approx(shown["progress"])
    assert service.show_plan(ws, "A", AS_OF)["checkins"][0]["notes"] == "monthly review"
    assert service.plan_progress(ws, AS_OF) == {"A": pytest.approx(shown["progress"])}
    row = next(r for r in rule_rows(ws, AS_OF) if r["account_id"] == "A")
    assert row["plan_progress"] == pytest.approx(shown["progress"])

    with pytest.raises(InputError, match="unknown milestone status 'finished'"):
        service.update_milestone(ws, first["milestone_id"], "finished", AS_OF)
    with pytest.raises(NotFoundError, match="has no active success plan"):
        service.show_plan(ws, "B", AS_OF)


def test_bad_plan_template_file_names_file_and_line(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    ws = sqlite_workspace
    load_company(ws, tmp_path)
    bad = "templates:\n  t:\n    title: T\n    milestones:\n"
    (ws.root / "plans.yaml").write_text(bad + "      - {title: x, side: them, due_days: 3}\n")
    with pytest.raises(ConfigurationError, match=r"plans.yaml line 5: side: expected one of us"):
        service.create_plan(ws, "A", as_of=AS_OF, template="t")


def test_plans_cli(
    sqlite_workspace: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = sqlite_workspace
    load_company(ws, tmp_path)
    home = ws.root
    args = ["plans", "create", "B", "--template", "tech-touch", "--as-of", AS_OF.isoformat()]
    created = run_cli([*args, "--format", "json"], home, capsys, monkeypatch)
    assert created.code == 0, created.err
    plan = json.loads(created.out)
    milestone = plan["milestones"][0]["milestone_id"]
    done = run_cli(["plans", "milestone", str(milestone), "--status", "done"],
                   home, capsys, monkeypatch)  # fmt: skip
    assert done.code == 0, done.err
    shown = run_cli(["plans", "show", "B", "--format", "json"], home, capsys, monkeypatch)
    assert json.loads(shown.out)["progress"] == pytest.approx(100 * (0 + 0.5) / 2)
    missing = run_cli(["plans", "create", "B", "--template", "nope"], home, capsys, monkeypatch)
    assert missing.code == 2
    assert "no plan template 'nope'" in missing.err
