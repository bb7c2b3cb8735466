"""A cycle on a real workspace (SQLite and PostgreSQL): CTAs with reasons and values,
playbook tasks with due dates and owners, exactly once on re-runs, the CTA life cycle,
snoozing and cooldown, bad rules reported while the good ones run, the worker's lease."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.workspace import Workspace
from keepwell.notify import service as notify_service
from keepwell.success import service
from keepwell.success.cycle import acquire_lease, release_lease
from tests.success.company import AS_OF, OWNER_A, OWNER_B, Clock, load_company


def _by_rule(ws: Workspace, **filters: object) -> dict[str, dict[str, object]]:
    rows = service.list_ctas(ws, as_of=AS_OF, **filters)  # type: ignore[arg-type]
    return {f"{r['rule']}:{r['account_id']}": r for r in rows}


def test_cycle_opens_each_cta_once_with_reasons_tasks_and_owners(
    workspace: Workspace, tmp_path: Path
) -> None:
    ws = workspace
    load_company(ws, tmp_path)
    clock = Clock()
    first = service.run_cycle(ws, AS_OF, clock=clock, deliver=False)
    assert first.accounts == 2
    (problem,) = first.problems  # the broken rule is reported, the others ran
    assert "rules.yaml line" in problem
    assert "(rule broken)" in problem
    assert first.opened == 3
    assert first.tech_touch_emails == 2  # both admins of B
    ctas = _by_rule(ws)
    assert set(ctas) == {"sponsor-left:A", "renewal-due:A", "late-invoice:B"}

    sponsor = service.cta_detail(ws, int(ctas["sponsor-left:A"]["cta_id"]), as_of=AS_OF)
    assert sponsor["owner"] == OWNER_A
    assert sponsor["type"] == "risk"
    assert sponsor["reason"] == "sponsor present now: 0 [key_contact_left_90d=1]"
    assert sponsor["trigger_values"]["key_contact_left_90d"] == 1
    assert [(t["title"], t["due_on"]) for t in sponsor["tasks"]] == [
        ("Meet the new sponsor", AS_OF + timedelta(days=5)),
        ("Re-train the team", AS_OF + timedelta(days=14)),
    ]
    assert sponsor["due_on"] == AS_OF + timedelta(days=14)  # the playbook's last task

    late = service.cta_detail(ws, int(ctas["late-invoice:B"]["cta_id"]), as_of=AS_OF)
    assert late["owner"] == OWNER_B  # an owned account: its owner, never the pool
    assert late["priority"] == "urgent"
    assert "max_days_past_due=45" in late["reason"]
    assert [t["owner"] for t in late["tasks"]] == ["finance@example.com", OWNER_B]
    renewal = ctas["renewal-due:A"]
    assert renewal["due_on"] == date(2025, 10, 1)  # due_in: days_to_renewal

    second = service.run_cycle(ws, AS_OF, clock=clock, deliver=False)
    assert (second.opened, second.already_open, second.tech_touch_emails) == (0, 2, 0)
    assert len(service.list_ctas(ws, as_of=AS_OF, status="all")) == 3
    emails = notify_service.list_notifications(ws, limit=100)
    cta_emails = [n for n in emails if n["channel"] == "email" and "Sponsor" in n["subject"]]
    assert len(cta_emails) == 1
    assert cta_emails[0]["target"] == OWNER_A


def test_cta_life_cycle_snooze_close_and_cooldown(workspace: Workspace, tmp_path: Path) -> None:
    ws = workspace
    load_company(ws, tmp_path)
    clock = Clock()
    service.run_cycle(ws, AS_OF, clock=clock, deliver=False)
    cta_id = int(_by_rule(ws)["sponsor-left:A"]["cta_id"])
    detail = service.cta_detail(ws, cta_id, as_of=AS_OF)

    done = service.complete_task(ws, detail["tasks"][0]["task_id"], clock())
    assert done == {"task_id": detail["tasks"][0]["task_id"], "cta_id": cta_id, "open_tasks": 1}
    assert service.cta_detail(ws, cta_id, as_of=AS_OF)["status"] == "in_progress"

    later = AS_OF + timedelta(days=20)
    overdue = service.list_ctas(ws, as_of=later, overdue=True)
    assert cta_id in [r["cta_id"] for r in overdue]  # due after 14 days, not done
    assert service.cta_detail(ws, cta_id, as_of=later)["tasks"][1]["overdue"] is True

    service.snooze_cta(ws, cta_id, date(2025, 8, 10), clock())
    assert service.cta_detail(ws, cta_id, as_of=AS_OF)["status"] == "snoozed"
    again = service.run_cycle(ws, AS_OF, clock=clock, deliver=False)
    assert again.opened == 0  # a snoozed CTA still holds its key
    woke = service.run_cycle(ws, date(2025, 8, 10), clock=clock, deliver=False)
    assert woke.woke == 1
    assert service.cta_detail(ws, cta_id, as_of=AS_OF)["status"] == "open"

    with pytest.raises(InputError, match="'meh' is not an outcome of a risk CTA"):
        service.close_cta(ws, cta_id, outcome="meh", reason=None, now=clock())
    service.close_cta(ws, cta_id, outcome="saved", reason="new sponsor met", now=clock())
    closed = service.cta_detail(ws, cta_id, as_of=AS_OF)
    assert (closed["status"], closed["outcome"]) == ("closed", "saved")
    with pytest.raises(InputError, match="already closed"):
        service.start_cta(ws, cta_id, clock())
    cooling = service.run_cycle(ws, AS_OF + timedelta(days=10), clock=clock, deliver=False)
    assert cooling.cooling_down == 1
    assert cooling.opened == 0
    service.run_cycle(ws, AS_OF + timedelta(days=40), clock=clock, deliver=False)
    live = _by_rule(ws)["sponsor-left:A"]  # still true (left 56 days ago), cooldown over
    assert live["cta_id"] != cta_id
    assert live["status"] == "open"
    assert _by_rule(ws, status="closed")["sponsor-left:A"]["cta_id"] == cta_id
    with pytest.raises(NotFoundError):
        service.cta_detail(ws, 9999, as_of=AS_OF)


def test_worker_lease_and_interval(workspace: Workspace, tmp_path: Path) -> None:
    ws = workspace
    load_company(ws, tmp_path)
    clock = Clock()
    assert acquire_lease(ws, "other", clock())
    tick = service.worker_tick
    assert tick(ws, as_of=AS_OF, clock=clock, interval_seconds=60, holder="w1") is None
    clock.advance(minutes=31)  # the other holder died: its lease expired
    report = service.worker_tick(ws, as_of=AS_OF, clock=clock, interval_seconds=60, holder="w1")
    assert report is not None
    assert report.opened == 3
    clock.advance(seconds=30)
    assert tick(ws, as_of=AS_OF, clock=clock, interval_seconds=60, holder="w2") is None
    clock.advance(seconds=31)  # state is in the store: a new worker knows the last run
    report = service.worker_tick(ws, as_of=AS_OF, clock=clock, interval_seconds=60, holder="w2")
    assert report is not None
    assert report.opened == 0
    release_lease(ws, "w2")


def test_default_rules_on_the_small_company(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    load_company(ws, tmp_path, custom_rules=False)
    report = service.run_cycle(ws, AS_OF, clock=Clock(), deliver=False)
    assert report.problems == []
    assert (ws.root / "rules.yaml").exists()
    assert (ws.root / "playbooks.yaml").exists()
    rules = {r["rule"] for r in service.list_ctas(ws, as_of=AS_OF)}
    assert {"sponsor-left", "renewal-due", "invoice-past-due"} <= rules
    assert service.check_rules(ws)["problems"] == []


def test_a_deeply_nested_rule_is_reported_and_skipped_the_others_run(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    """Before: the RecursionError of one rule stopped the whole cycle."""
    ws = sqlite_workspace
    load_company(ws, tmp_path)
    rules = (ws.root / "rules.yaml").read_text(encoding="utf-8")
    nested = "(" * 400 + "arr > 0" + ")" * 400
    rules += f"  - name: nested\n    when: '{nested}'\n    cta: {{type: risk, title: Deep}}\n"
    (ws.root / "rules.yaml").write_text(rules, encoding="utf-8")
    report = service.run_cycle(ws, AS_OF, clock=Clock(), deliver=False)
    assert report.opened == 3
    assert any("nested too deeply" in p and "(rule nested)" in p for p in report.problems), (
        report.problems
    )


def test_the_cycle_acts_set_wise_not_per_match(workspace: Workspace, tmp_path: Path) -> None:
    """The CTAs of a cycle are inserted in one statement, their tasks in one, and the
    tech-touch contacts and addresses read once for all matches (the cycle made a
    transaction and several queries per match: 92 s of CPU at 50,000 accounts)."""
    load_company(workspace, tmp_path)
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(" ".join(statement.split()).lower())

    sa.event.listen(workspace.engine, "before_cursor_execute", seen)
    try:
        report = service.run_cycle(workspace, AS_OF, clock=Clock(), deliver=False)
    finally:
        sa.event.remove(workspace.engine, "before_cursor_execute", seen)
    assert report.opened == 3
    assert report.tech_touch_emails == 2

    def count(prefix: str, having: str = "") -> int:
        return sum(s.startswith(prefix) and having in s for s in statements)

    assert count("insert into success_ctas") == 1
    assert count("insert into success_cta_tasks") == 1
    assert count("insert into notifications") == 2  # the CTAs' and the tech-touch emails
    assert count("select contacts.", " join accounts ") == 1  # the tech-touch contacts
    assert count("select notify_unsubscribes.email") == 1


def test_ctas_the_cycle_opens_are_in_the_audit_trail(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    from keepwell.core.audit import AuditEntry

    ws = sqlite_workspace
    load_company(ws, tmp_path)
    clock = Clock()
    first = service.run_cycle(ws, AS_OF, clock=clock, deliver=False)
    query = sa.select(AuditEntry).where(AuditEntry.action == "cta.open")
    with ws.engine.connect() as conn:
        rows = conn.execute(query).all()
    assert sorted(int(r.target) for r in rows) == sorted(first.opened_ids)
    assert len(rows) == first.opened == 3
    assert all(r.kind == "cta" and r.details["by"].startswith("cycle:") for r in rows)
    sponsor = next(r for r in rows if r.details["after"]["rule"] == "sponsor-left")
    assert sponsor.account_id == "A"
    assert sponsor.details["after"]["owner"] == OWNER_A
    service.run_cycle(ws, AS_OF, clock=clock, deliver=False)  # nothing opened: no row
    with ws.engine.connect() as conn:
        assert len(conn.execute(query).all()) == 3
