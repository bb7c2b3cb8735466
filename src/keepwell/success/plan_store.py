"""Success plans in the store: create from a template, show, update, check in, and the
progress of every active plan (offered to rules and health as a measure)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.contract import service as contract_service
from keepwell.core.audit import changed, record_audit
from keepwell.core.database import transaction
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.workspace import Workspace
from keepwell.success.models import PlanCheckin, PlanMilestone, PlanObjective, SuccessPlan
from keepwell.success.plan_templates import MilestoneStatus, PlanTemplate, attainment, progress

ACTIVE, COMPLETED = "active", "completed"


def create_plan(
    workspace: Workspace, account: dict[str, Any], template: PlanTemplate, as_of: date
) -> int:
    """A new active plan for ``account`` (``account_id``, ``owner``) from ``template``:
    due dates are ``as_of`` + the template's offsets; milestone owners ``csm`` → the
    account owner, a contact role → that contact's email. One active plan per account."""
    account_id = str(account["account_id"])
    contacts = _contacts_by_role(workspace, account_id)
    with transaction(workspace.engine) as session:
        if _active(session, account_id) is not None:
            raise InputError(
                f"account {account_id!r} already has an active success plan",
                hint="see `keepwell plans show ACCOUNT`",
            )
        plan = SuccessPlan(account_id=account_id, template=template.name, title=template.title,
                           status=ACTIVE, created_on=as_of, active_key=account_id)  # fmt: skip
        session.add(plan)
        session.flush()
        for o in template.objectives:
            session.add(PlanObjective(plan_id=plan.id, metric=o.metric, unit=o.unit,
                                      baseline=o.baseline, target=o.target, current=None,
                                      due_on=as_of + timedelta(days=o.due_days)))  # fmt: skip
        for position, m in enumerate(template.milestones, start=1):
            owner = account.get("owner") if m.owner == "csm" else contacts.get(m.owner, m.owner)
            session.add(PlanMilestone(plan_id=plan.id, position=position, title=m.title,
                                      side=m.side.value, owner=owner,
                                      due_on=as_of + timedelta(days=m.due_days),
                                      status=MilestoneStatus.PLANNED.value))  # fmt: skip
        record_audit(
            session, action="plan.create", target=f"plan {plan.id}: {template.title}"[:500],
            account_id=account_id,
            after={"template": template.name, "created_on": as_of.isoformat()},
        )  # fmt: skip
        return int(plan.id)


def _contacts_by_role(workspace: Workspace, account_id: str) -> dict[str, str]:
    rows = contract_service.read_table(workspace, "contacts").to_pylist()
    result: dict[str, str] = {}
    for row in rows:
        active = row.get("is_active") is not False
        if row["account_id"] == account_id and row.get("email") and active:
            result.setdefault(str(row.get("role")), str(row["email"]))
    return result


def _active(session: Session, account_id: str) -> SuccessPlan | None:
    query = sa.select(SuccessPlan).where(SuccessPlan.active_key == account_id)
    return session.execute(query).scalar_one_or_none()


def show_plan(workspace: Workspace, account_id: str, as_of: date) -> dict[str, Any]:
    """The account's active plan with objectives (attainment), milestones (overdue when
    not done and due before ``as_of``), check-ins and progress in percent."""
    with Session(workspace.engine) as session:
        plan = _active(session, account_id)
        if plan is None:
            raise NotFoundError(
                f"account {account_id!r} has no active success plan",
                hint="create one with `keepwell plans create ACCOUNT`",
            )
        return _describe(session, plan, as_of)


def _describe(session: Session, plan: SuccessPlan, as_of: date) -> dict[str, Any]:
    objectives = _children(session, PlanObjective, plan.id, PlanObjective.id)
    milestones = _children(session, PlanMilestone, plan.id, PlanMilestone.position)
    checkins = _children(session, PlanCheckin, plan.id, PlanCheckin.held_on)
    return {
        "plan_id": plan.id, "account_id": plan.account_id, "title": plan.title,
        "template": plan.template, "status": plan.status, "created_on": plan.created_on,
        "progress": _progress(objectives, milestones),
        "objectives": [{"objective_id": o.id, "metric": o.metric, "unit": o.unit,
                        "baseline": o.baseline, "target": o.target, "current": o.current,
                        "due_on": o.due_on,
                        "attainment": attainment(o.baseline, o.target, o.current)}
                       for o in objectives],
        "milestones": [{"milestone_id": m.id, "position": m.position, "title": m.title,
                        "side": m.side, "owner": m.owner, "due_on": m.due_on,
                        "status": m.status, "completed_on": m.completed_on,
                        "overdue": m.status != "done" and m.due_on < as_of}
                       for m in milestones],
        "checkins": [{"held_on": c.held_on, "progress": c.progress, "notes": c.notes}
                     for c in checkins],
    }  # fmt: skip


def _children(session: Session, model: Any, plan_id: int, order: Any) -> list[Any]:
    query = sa.select(model).where(model.plan_id == plan_id).order_by(order)
    return list(session.execute(query).scalars())


def _progress(objectives: list[PlanObjective], milestones: list[PlanMilestone]) -> float | None:
    done = sum(m.status == MilestoneStatus.DONE.value for m in milestones)
    scores = [attainment(o.baseline, o.target, o.current) for o in objectives]
    return progress(scores, done, len(milestones))


def _check_scope(session: Session, plan_id: int, scope: str | None, what: str) -> None:
    if scope is None:
        return
    accounts = sa.table("accounts", sa.column("account_id"), sa.column("owner"))
    owner = session.execute(
        sa.select(accounts.c.owner)
        .join(SuccessPlan, SuccessPlan.account_id == accounts.c.account_id)
        .where(SuccessPlan.id == plan_id)
    ).scalar_one_or_none()
    if owner != scope:
        raise NotFoundError(f"no {what}")


def update_milestone(
    workspace: Workspace,
    milestone_id: int,
    status: str,
    on: date,
    *,
    scope: str | None = None,
    due_on: date | None = None,
    owner: str | None = None,
) -> None:
    """Set a milestone's status (``done`` records ``on`` as its completion day), and its
    due day and owner when given; with ``scope``, only on plans of accounts owned by
    that owner."""
    try:
        value = MilestoneStatus(status)
    except ValueError:
        known = ", ".join(s.value for s in MilestoneStatus)
        raise InputError(f"unknown milestone status {status!r}", hint=f"one of {known}") from None
    with transaction(workspace.engine) as session:
        milestone = session.get(PlanMilestone, milestone_id)
        if milestone is None:
            raise NotFoundError(f"no milestone {milestone_id}")
        _check_scope(session, milestone.plan_id, scope, f"milestone {milestone_id}")
        before = _milestone_state(milestone)
        if value is not MilestoneStatus(milestone.status):
            milestone.completed_on = on if value is MilestoneStatus.DONE else None
        milestone.status = value.value
        milestone.due_on = due_on or milestone.due_on
        milestone.owner = (owner.strip() or None) if owner is not None else milestone.owner
        old, new = changed(before, _milestone_state(milestone))
        record_audit(
            session, action="plan.milestone", target=f"milestone {milestone_id}: {milestone.title}",
            account_id=_plan_account(session, milestone.plan_id), before=old, after=new,
        )  # fmt: skip


def _milestone_state(milestone: PlanMilestone) -> dict[str, Any]:
    return {"status": milestone.status, "due_on": milestone.due_on.isoformat(),
            "owner": milestone.owner}  # fmt: skip


def due_milestones(
    workspace: Workspace, as_of: date, until: date, *, owner: str
) -> list[dict[str, Any]]:
    """Open milestones of active plans that ``owner`` holds (or, on our side with no
    owner, on the accounts ``owner`` owns), due by ``until``; overdue first."""
    accounts = sa.table("accounts", sa.column("account_id"), sa.column("owner"))
    query = (
        sa.select(PlanMilestone, SuccessPlan.account_id, SuccessPlan.title)
        .join(SuccessPlan, SuccessPlan.id == PlanMilestone.plan_id)
        .join(accounts, accounts.c.account_id == SuccessPlan.account_id)
        .where(SuccessPlan.status == ACTIVE, PlanMilestone.status != MilestoneStatus.DONE.value,
               PlanMilestone.due_on <= until,
               sa.or_(PlanMilestone.owner == owner,
                      sa.and_(PlanMilestone.owner.is_(None), accounts.c.owner == owner)))
        .order_by(PlanMilestone.due_on, PlanMilestone.id)
    )  # fmt: skip
    with Session(workspace.engine) as session:
        return [
            {"milestone_id": m.id, "account_id": account_id, "plan": title, "title": m.title,
             "side": m.side, "due_on": m.due_on, "status": m.status, "overdue": m.due_on < as_of}
            for m, account_id, title in session.execute(query).all()
        ]  # fmt: skip


def plans_behind(
    workspace: Workspace, as_of: date, accounts: Collection[str] | None = None
) -> dict[str, int]:
    """Per account (of ``accounts`` only, when given), its active plans behind schedule
    on ``as_of``: those with a milestone (either side's) not done and due before
    ``as_of``. One aggregate query (per 5,000 accounts)."""
    if accounts is not None:
        ids, found = sorted(accounts), {}
        for start in range(0, len(ids), 5000):
            found.update(_plans_behind(workspace, as_of, ids[start : start + 5000]))
        return found
    return _plans_behind(workspace, as_of, None)


def _plans_behind(workspace: Workspace, as_of: date, ids: list[str] | None) -> dict[str, int]:
    late = (
        sa.select(PlanMilestone.plan_id)
        .where(PlanMilestone.status != MilestoneStatus.DONE.value, PlanMilestone.due_on < as_of)
        .distinct()
        .subquery()
    )
    query = (
        sa.select(SuccessPlan.account_id, sa.func.count())
        .join(late, late.c.plan_id == SuccessPlan.id)
        .where(SuccessPlan.status == ACTIVE)
        .group_by(SuccessPlan.account_id)
    )
    if ids is not None:
        query = query.where(SuccessPlan.account_id.in_(ids))
    with workspace.engine.connect() as conn:
        return {str(a): int(n) for a, n in conn.execute(query)}


def update_objective(
    workspace: Workspace,
    objective_id: int,
    *,
    current: float | None = None,
    baseline: float | None = None,
    target: float | None = None,
    scope: str | None = None,
) -> None:
    """Record the customer's measure now (``current``) or restate baseline and target."""
    with transaction(workspace.engine) as session:
        objective = session.get(PlanObjective, objective_id)
        if objective is None:
            raise NotFoundError(f"no objective {objective_id}")
        _check_scope(session, objective.plan_id, scope, f"objective {objective_id}")
        before = {"current": objective.current, "baseline": objective.baseline,
                  "target": objective.target}  # fmt: skip
        objective.current = current if current is not None else objective.current
        objective.baseline = baseline if baseline is not None else objective.baseline
        objective.target = target if target is not None else objective.target
        if objective.target == objective.baseline:
            raise InputError(f"objective {objective_id}: target equals baseline")
        after = {"current": objective.current, "baseline": objective.baseline,
                 "target": objective.target}  # fmt: skip
        old, new = changed(before, after)
        record_audit(
            session, action="plan.objective", target=f"objective {objective_id}",
            account_id=_plan_account(session, objective.plan_id), before=old, after=new,
        )  # fmt: skip


def _plan_account(session: Session, plan_id: int) -> str | None:
    plan = session.get(SuccessPlan, plan_id)
    return plan.account_id if plan is not None else None


def record_checkin(
    workspace: Workspace,
    account_id: str,
    held_on: date,
    notes: str | None,
    *,
    scope: str | None = None,
) -> float:
    """Record a (monthly) check-in on the account's active plan; its progress then.
    With ``scope``, only on accounts that owner owns."""
    if scope is not None:
        contract_service.visible_account(workspace, account_id, scope=scope)
    with transaction(workspace.engine) as session:
        plan = _active(session, account_id)
        if plan is None:
            raise NotFoundError(f"account {account_id!r} has no active success plan")
        objectives = _children(session, PlanObjective, plan.id, PlanObjective.id)
        milestones = _children(session, PlanMilestone, plan.id, PlanMilestone.position)
        value = _progress(objectives, milestones) or 0.0
        session.add(PlanCheckin(plan_id=plan.id, held_on=held_on, progress=value, notes=notes))
        record_audit(
            session, action="plan.checkin", target=f"plan {plan.id}", account_id=account_id,
            after={"held_on": held_on.isoformat(), "progress": value, "notes": notes},
        )  # fmt: skip
        return value


def plan_progress(workspace: Workspace, as_of: date) -> dict[str, float]:
    """Progress (0–100) of every plan active and created on or before ``as_of``, by account."""
    result: dict[str, float] = {}
    with Session(workspace.engine) as session:
        plans = session.execute(
            sa.select(SuccessPlan).where(
                SuccessPlan.status == ACTIVE, SuccessPlan.created_on <= as_of
            )
        ).scalars()
        for plan in plans:
            objectives = _children(session, PlanObjective, plan.id, PlanObjective.id)
            milestones = _children(session, PlanMilestone, plan.id, PlanMilestone.position)
            value = _progress(objectives, milestones)
            if value is not None:
                result[plan.account_id] = value
    return result
