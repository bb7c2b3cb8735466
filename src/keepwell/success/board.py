"""The CTA board: listing CTAs and tasks, and moving CTAs through their life cycle.

open → in_progress → closed (outcome, reason), or snoozed until a date (open again on
that day). A CTA or task is overdue when it is not done and its due day is before the
day asked about.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.core.audit import changed, record_audit
from keepwell.core.database import transaction
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.workspace import Workspace
from keepwell.success import ctas
from keepwell.success.ctas import LIVE, TASK_DONE, TASK_OPEN, Status
from keepwell.success.models import Cta, CtaTask
from keepwell.success.outcomes import outcomes_for
from keepwell.success.routing import rank


def _row(cta: Cta, as_of: date) -> dict[str, Any]:
    return {
        "cta_id": cta.id, "account_id": cta.account_id, "type": cta.type,
        "priority": cta.priority, "title": cta.title, "reason": cta.reason,
        "owner": cta.owner, "segment": cta.segment, "status": cta.status,
        "opened_on": cta.opened_on, "due_on": cta.due_on,
        "overdue": _overdue(cta, as_of), "snoozed_until": cta.snoozed_until,
        "outcome": cta.outcome, "close_reason": cta.close_reason, "closed_on": cta.closed_on,
        "rule": cta.rule, "playbook": cta.playbook,
        "stake": cta.stake, "priority_why": cta.priority_why,
        "snooze_reason": cta.snooze_reason, "outcomes": outcomes_for(cta.type),
    }  # fmt: skip


#: The statuses of a CTA that can be overdue (its work not started or under way).
_WORKING = (Status.OPEN.value, Status.IN_PROGRESS.value)


def _overdue(cta: Cta, as_of: date) -> bool:
    """Whether ``cta`` is overdue on ``as_of``; :func:`_overdue_clause` is the same test
    in the store."""
    return cta.status in _WORKING and cta.due_on is not None and cta.due_on < as_of


def _overdue_clause(as_of: date) -> sa.ColumnElement[bool]:
    """:func:`_overdue` as a SQL condition on :class:`Cta`."""
    return sa.and_(Cta.status.in_(_WORKING), Cta.due_on.is_not(None), Cta.due_on < as_of)


def _select(
    *,
    as_of: date,
    owner: str | None = None,
    overdue: bool = False,
    status: str | None = None,
    account_id: str | None = None,
    scope: str | None = None,
    cta_type: str | None = None,
    priority: str | None = None,
    owners: Collection[str] | None = None,
) -> sa.Select[Cta]:
    """The CTAs :func:`list_ctas` and :func:`stake_page` read, filtered in the store."""
    query = sa.select(Cta)
    if cta_type:
        query = query.where(Cta.type == cta_type)
    if priority:
        query = query.where(Cta.priority == priority)
    if owners is not None:
        query = query.where(Cta.owner.in_(list(owners)))
    if status is None:
        query = query.where(Cta.status.in_(LIVE))
    elif status != "all":
        query = query.where(Cta.status == _status(status).value)
    for column, value in ((Cta.owner, owner), (Cta.account_id, account_id)):
        if value is not None:
            query = query.where(column == value)
    if scope is not None:
        query = query.where(Cta.account_id.in_(_owned(scope)))
    if overdue:
        query = query.where(_overdue_clause(as_of))
    return query


def list_ctas(
    workspace: Workspace,
    *,
    as_of: date,
    owner: str | None = None,
    overdue: bool = False,
    status: str | None = None,
    account_id: str | None = None,
    scope: str | None = None,
    cta_type: str | None = None,
    priority: str | None = None,
    owners: Collection[str] | None = None,
    by_stake: bool = False,
) -> list[dict[str, Any]]:
    """CTAs (live ones unless ``status`` is given), most urgent first: overdue, then by
    priority and due day (``by_stake``: the most at stake first). ``scope`` limits them
    to the accounts of one owner; ``owners`` to CTAs of these owners (a team)."""
    query = _select(as_of=as_of, owner=owner, overdue=overdue, status=status,
                    account_id=account_id, scope=scope, cta_type=cta_type, priority=priority,
                    owners=owners)  # fmt: skip
    with Session(workspace.engine) as session:
        rows = [_row(c, as_of) for c in session.execute(query.order_by(Cta.id)).scalars()]
    if by_stake:
        rows.sort(key=lambda r: (-(r["stake"] or 0), rank(r["priority"]), r["cta_id"]))
    else:
        rows.sort(key=lambda r: (not r["overdue"], rank(r["priority"]),
                                 r["due_on"] or date.max, r["cta_id"]))  # fmt: skip
    return rows


def work_counts(
    workspace: Workspace, as_of: date, accounts: Collection[str] | None = None
) -> dict[str, tuple[int, int, int, int]]:
    """Per account with live CTAs (of ``accounts`` only, when given): (live CTAs,
    overdue CTAs, open tasks of live CTAs, overdue ones among those tasks) on ``as_of``
    (overdue as in :func:`list_ctas`: open or in progress, or an open task, due before
    ``as_of``). Two aggregate queries (per :data:`CHUNK` accounts), not a row per CTA."""
    if accounts is not None:
        ids = sorted(accounts)
        found: dict[str, tuple[int, int, int, int]] = {}
        for start in range(0, len(ids), CHUNK):
            found.update(_work_counts(workspace, as_of, ids[start : start + CHUNK]))
        return found
    return _work_counts(workspace, as_of, None)


def _work_counts(
    workspace: Workspace, as_of: date, ids: list[str] | None
) -> dict[str, tuple[int, int, int, int]]:
    late = _overdue_clause(as_of)
    live = (
        sa.select(Cta.account_id, sa.func.count(), sa.func.sum(sa.case((late, 1), else_=0)))
        .where(Cta.status.in_(LIVE))
        .group_by(Cta.account_id)
    )
    tasks = (
        sa.select(Cta.account_id, sa.func.count(),
                  sa.func.sum(sa.case((CtaTask.due_on < as_of, 1), else_=0)))
        .join(CtaTask, CtaTask.cta_id == Cta.id)
        .where(Cta.status.in_(LIVE), CtaTask.status == TASK_OPEN)
        .group_by(Cta.account_id)
    )  # fmt: skip
    if ids is not None:
        live, tasks = live.where(Cta.account_id.in_(ids)), tasks.where(Cta.account_id.in_(ids))
    with workspace.engine.connect() as conn:
        ctas_of = {a: (int(n), int(o or 0)) for a, n, o in conn.execute(live).all()}
        tasks_of = {a: (int(n), int(o or 0)) for a, n, o in conn.execute(tasks).all()}
    return {a: (*counts, *tasks_of.get(a, (0, 0))) for a, counts in ctas_of.items()}


def stake_page(
    workspace: Workspace,
    *,
    as_of: date,
    limit: int | None,
    offset: int = 0,
    **filters: Any,
) -> tuple[list[dict[str, Any]], int]:
    """Live CTAs filtered as in :func:`list_ctas`, the most at stake first (ties: the
    oldest CTA first), ``limit`` of them (None: all) from ``offset``, with their open
    tasks (``tasks``); and how many CTAs the filters match. Sorted, counted and cut in
    the store: a page of a queue of 10,000 CTAs reads one page."""
    query = _select(as_of=as_of, **filters)
    total_query = sa.select(sa.func.count()).select_from(query.subquery())
    ordered = query.order_by(sa.func.coalesce(Cta.stake, 0).desc(), Cta.id)
    if limit is not None:
        ordered = ordered.limit(limit).offset(offset)
    with Session(workspace.engine) as session:
        rows = [_row(c, as_of) for c in session.execute(ordered).scalars()]
        total = len(rows) if limit is None else int(session.execute(total_query).scalar_one())
        tasks = _open_tasks(session, [r["cta_id"] for r in rows], as_of)
    for row in rows:
        row["tasks"] = tasks.get(row["cta_id"], [])
    return rows, total


#: CTA ids per query (SQLite allows 32,766 parameters; PostgreSQL 65,535).
CHUNK = 5000


def _open_tasks(
    session: Session, cta_ids: list[int], as_of: date
) -> dict[int, list[dict[str, Any]]]:
    """The open tasks of these CTAs, in their order, by CTA id."""
    found: dict[int, list[dict[str, Any]]] = {}
    for start in range(0, len(cta_ids), CHUNK):
        query = (
            sa.select(CtaTask)
            .where(CtaTask.cta_id.in_(cta_ids[start : start + CHUNK]), CtaTask.status == TASK_OPEN)
            .order_by(CtaTask.cta_id, CtaTask.position)
        )
        for task in session.execute(query).scalars():
            found.setdefault(task.cta_id, []).append(_task(task, as_of))
    return found


def playbook_openings(workspace: Workspace, as_of: date) -> list[dict[str, Any]]:
    """Every CTA (any status) opened from a playbook on or before ``as_of``: its
    ``cta_id``, ``playbook``, ``account_id``, ``opened_on``, ``status`` and ``outcome``,
    oldest first (only these columns are read)."""
    query = (
        sa.select(Cta.id, Cta.playbook, Cta.account_id, Cta.opened_on, Cta.status, Cta.outcome)
        .where(Cta.playbook.is_not(None), Cta.playbook != "", Cta.opened_on <= as_of)
        .order_by(Cta.id)
    )
    keys = ("cta_id", "playbook", "account_id", "opened_on", "status", "outcome")
    with Session(workspace.engine) as session:
        return [dict(zip(keys, row, strict=True)) for row in session.execute(query)]


def playbook_fingerprint(workspace: Workspace, as_of: date) -> tuple[Any, ...]:
    """What changes whenever :func:`playbook_openings` would answer differently: how
    many there are, how many have an outcome and are closed (closing sets both; an
    outcome is never taken back), the newest id and the latest change. One aggregate
    query, so a page can reuse figures computed from the openings while it is equal."""
    query = sa.select(
        sa.func.count(), sa.func.count(Cta.outcome),
        sa.func.count(sa.case((Cta.status == Status.CLOSED.value, 1))),
        sa.func.max(Cta.id), sa.func.max(Cta.updated_at),
    ).where(Cta.playbook.is_not(None), Cta.playbook != "", Cta.opened_on <= as_of)  # fmt: skip
    with Session(workspace.engine) as session:
        return tuple(session.execute(query).one())


def cta_owners(workspace: Workspace, *, scope: str | None = None) -> list[str]:
    """The owners of live CTAs (visible to ``scope``), sorted."""
    query = sa.select(Cta.owner).distinct().where(Cta.status.in_(LIVE), Cta.owner.is_not(None))
    if scope is not None:
        query = query.where(Cta.account_id.in_(_owned(scope)))
    with Session(workspace.engine) as session:
        return sorted(str(o) for o in session.execute(query).scalars())


def _owned(scope: str) -> sa.Select[tuple[str]]:
    accounts = sa.table("accounts", sa.column("account_id"), sa.column("owner"))
    return sa.select(accounts.c.account_id).where(accounts.c.owner == scope)


def _status(value: str) -> Status:
    try:
        return Status(value)
    except ValueError:
        known = ", ".join(s.value for s in Status)
        raise InputError(f"unknown status {value!r}", hint=f"one of {known}, all") from None


def cta_detail(
    workspace: Workspace, cta_id: int, *, as_of: date, scope: str | None = None
) -> dict[str, Any]:
    """One CTA with its triggering values and its tasks (overdue flags as of ``as_of``)."""
    with Session(workspace.engine) as session:
        cta = session.get(Cta, cta_id)
        if cta is None or (scope is not None and not _in_scope(session, cta, scope)):
            raise NotFoundError(f"no CTA {cta_id}", hint="see `keepwell ctas list`")
        tasks = session.execute(
            sa.select(CtaTask).where(CtaTask.cta_id == cta_id).order_by(CtaTask.position)
        ).scalars()
        return {
            **_row(cta, as_of),
            "trigger_values": cta.trigger_values,
            "tasks": [_task(t, as_of) for t in tasks],
        }


def _in_scope(session: Session, cta: Cta, scope: str) -> bool:
    owned = session.execute(_owned(scope).where(sa.column("account_id") == cta.account_id))
    return owned.first() is not None


def _task(task: CtaTask, as_of: date) -> dict[str, Any]:
    return {
        "task_id": task.id, "position": task.position, "title": task.title,
        "owner_role": task.owner_role, "owner": task.owner, "due_on": task.due_on,
        "status": task.status, "completed_on": task.completed_on,
        "overdue": task.status == TASK_OPEN and task.due_on < as_of,
    }  # fmt: skip


def _visible_live(session: Session, cta_id: int, scope: str | None) -> Cta:
    cta = ctas.live_cta(session, cta_id)
    if scope is not None and not _in_scope(session, cta, scope):
        raise NotFoundError(f"no CTA {cta_id}", hint="see `keepwell ctas list`")
    return cta


def start_cta(
    workspace: Workspace, cta_id: int, now: datetime, *, scope: str | None = None
) -> None:
    """Mark a CTA in progress (also wakes a snoozed one); ``scope`` as in :func:`list_ctas`."""
    with transaction(workspace.engine) as session:
        cta = _visible_live(session, cta_id, scope)
        before = _state(cta)
        cta.status, cta.snoozed_until, cta.updated_at = Status.IN_PROGRESS.value, None, now
        _audit(session, cta, "cta.start", before, now)


def snooze_cta(
    workspace: Workspace,
    cta_id: int,
    until: date,
    now: datetime,
    *,
    scope: str | None = None,
    reason: str | None = None,
) -> None:
    """Put a CTA aside until ``until`` for ``reason`` (it stays live: no second CTA
    opens meanwhile)."""
    if until <= now.date():
        raise InputError(f"snooze until {until} is not in the future", hint="pick a later day")
    with transaction(workspace.engine) as session:
        cta = _visible_live(session, cta_id, scope)
        before = _state(cta)
        cta.status, cta.snoozed_until, cta.updated_at = Status.SNOOZED.value, until, now
        cta.snooze_reason = reason or None
        _audit(session, cta, "cta.snooze", before, now)


def reassign_cta(
    workspace: Workspace,
    cta_ids: Collection[int],
    owner: str,
    now: datetime,
    *,
    scope: str | None = None,
) -> int:
    """Give live CTAs (and their open tasks the previous owner held) to ``owner``, in
    one transaction; how many changed. Each change is audited."""
    owner = owner.strip()
    if not owner or "@" not in owner or len(owner) > 255:
        raise InputError(f"{owner!r} is not an email address to assign to")
    changed_count = 0
    with transaction(workspace.engine) as session:
        for cta_id in sorted(set(cta_ids)):
            cta = _visible_live(session, cta_id, scope)
            if cta.owner == owner:
                continue
            before = _state(cta)
            session.execute(
                sa.update(CtaTask)
                .where(CtaTask.cta_id == cta.id, CtaTask.status == TASK_OPEN,
                       sa.or_(CtaTask.owner == cta.owner, CtaTask.owner.is_(None)))
                .values(owner=owner)
            )  # fmt: skip
            cta.owner, cta.updated_at = owner, now
            _audit(session, cta, "cta.reassign", before, now)
            changed_count += 1
    return changed_count


def close_cta(
    workspace: Workspace,
    cta_id: int,
    *,
    outcome: str,
    reason: str | None,
    now: datetime,
    scope: str | None = None,
) -> None:
    """Close a CTA with one of its type's outcomes (:mod:`keepwell.success.outcomes`)
    and a comment; its rule may open a new one after the cooldown."""
    with transaction(workspace.engine) as session:
        cta = _visible_live(session, cta_id, scope)
        before = _state(cta)
        ctas.close(cta, outcome, reason, now.date(), now)
        _audit(session, cta, "cta.close", before, now)


def _state(cta: Cta) -> dict[str, Any]:
    return {"status": cta.status, "snoozed_until": cta.snoozed_until, "outcome": cta.outcome,
            "close_reason": cta.close_reason, "owner": cta.owner,
            "snooze_reason": cta.snooze_reason}  # fmt: skip


def _audit(session: Session, cta: Cta, action: str, before: dict[str, Any], now: datetime) -> None:
    """The audit row of a CTA change: the fields that changed, before and after."""
    old, new = changed(_jsonable(before), _jsonable(_state(cta)))
    record_audit(
        session, action=action, target=f"CTA {cta.id}: {cta.title}"[:500], now=now,
        account_id=cta.account_id, before=old, after=new,
    )  # fmt: skip


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


def complete_task(
    workspace: Workspace, task_id: int, now: datetime, *, scope: str | None = None
) -> dict[str, Any]:
    """Mark a task done; an open CTA whose first task is done moves to in progress.
    Returns the task's CTA id and how many of its tasks remain open."""
    with transaction(workspace.engine) as session:
        task = session.get(CtaTask, task_id)
        if task is None:
            raise NotFoundError(f"no task {task_id}", hint="see `keepwell ctas show ID`")
        cta = _visible_live(session, task.cta_id, scope)
        before = task.status
        task.status, task.completed_on = TASK_DONE, now.date()
        if cta.status == Status.OPEN.value:
            cta.status = Status.IN_PROGRESS.value
        cta.updated_at = now
        record_audit(
            session, action="task.complete", target=f"task {task_id}: {task.title}"[:500],
            now=now, account_id=cta.account_id, before={"status": before},
            after={"status": TASK_DONE}, details={"cta_id": cta.id},
        )  # fmt: skip
        remaining = session.execute(
            sa.select(sa.func.count())
            .select_from(CtaTask)
            .where(CtaTask.cta_id == cta.id, CtaTask.status == TASK_OPEN, CtaTask.id != task_id)
        ).scalar_one()
        return {"task_id": task_id, "cta_id": cta.id, "open_tasks": int(remaining)}


def _task_of(session: Session, task_id: int, scope: str | None) -> tuple[CtaTask, Cta]:
    task = session.get(CtaTask, task_id)
    if task is None:
        raise NotFoundError(f"no task {task_id}", hint="see `keepwell ctas show ID`")
    return task, _visible_live(session, task.cta_id, scope)


def redate_task(
    workspace: Workspace, task_id: int, due_on: date, now: datetime, *, scope: str | None = None
) -> None:
    """Move an open task's due day (not before the CTA opened)."""
    with transaction(workspace.engine) as session:
        task, cta = _task_of(session, task_id, scope)
        if due_on < cta.opened_on:
            raise InputError(f"due {due_on} is before the CTA opened ({cta.opened_on})")
        before = task.due_on.isoformat()
        task.due_on, cta.updated_at = due_on, now
        record_audit(
            session, action="task.redate", target=f"task {task_id}: {task.title}"[:500],
            now=now, account_id=cta.account_id, before={"due_on": before},
            after={"due_on": due_on.isoformat()}, details={"cta_id": cta.id},
        )  # fmt: skip


def add_task(
    workspace: Workspace,
    cta_id: int,
    title: str,
    due_on: date,
    now: datetime,
    *,
    owner: str | None = None,
    scope: str | None = None,
) -> int:
    """Add a task at the end of a live CTA's tasks (owner: the CTA's); its id."""
    title = title.strip()
    if not title:
        raise InputError("a task needs a title")
    with transaction(workspace.engine) as session:
        cta = _visible_live(session, cta_id, scope)
        if due_on < cta.opened_on:
            raise InputError(f"due {due_on} is before the CTA opened ({cta.opened_on})")
        last = session.execute(
            sa.select(sa.func.max(CtaTask.position)).where(CtaTask.cta_id == cta_id)
        ).scalar_one()
        task = CtaTask(cta_id=cta_id, position=int(last or 0) + 1, title=title[:255],
                       owner_role="csm", owner=owner or cta.owner, due_on=due_on,
                       status=TASK_OPEN)  # fmt: skip
        session.add(task)
        session.flush()
        cta.updated_at = now
        record_audit(
            session, action="task.add", target=f"task {task.id}: {task.title}"[:500], now=now,
            account_id=cta.account_id, after={"title": task.title, "due_on": due_on.isoformat()},
            details={"cta_id": cta.id},
        )  # fmt: skip
        return int(task.id)
