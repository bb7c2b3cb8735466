"""CTAs in the store: opening them exactly once, their tasks, their life cycle.

Opening is an ``INSERT .. ON CONFLICT (open_key) DO NOTHING``: the unique index on
``open_key`` (set while the CTA is live, NULL once closed) makes a second live CTA for
the same account and rule key impossible, whatever runs at the same time. The tasks and
notifications of a CTA are written in the same transaction, only by the insert that won.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.core.database import insert_once
from keepwell.core.errors import InputError, NotFoundError
from keepwell.notify import service as notify_service
from keepwell.success.matching import Match
from keepwell.success.models import Cta, CtaTask
from keepwell.success.outcomes import check_outcome
from keepwell.success.playbooks import CSM_ROLE, Playbook
from keepwell.success.routing import assess_stake, route_owner, task_due_dates
from keepwell.success.rules import Assignment, Channel, render_reason


class Status(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    SNOOZED = "snoozed"
    CLOSED = "closed"


LIVE = (Status.OPEN.value, Status.IN_PROGRESS.value, Status.SNOOZED.value)
TASK_OPEN, TASK_DONE = "open", "done"


def open_key(account_id: str, key: str) -> str:
    """The uniqueness key of a live CTA: one per account and rule key."""
    return f"{account_id}|{key}"


def live_keys(session: Session) -> set[str]:
    """The ``open_key`` of every live CTA (one query)."""
    query = sa.select(Cta.open_key).where(Cta.open_key.is_not(None))
    return {key for key in session.execute(query).scalars() if key is not None}


@dataclass(frozen=True)
class Opening:
    """What opening one matched rule did: ``opened``, ``already_open`` (a live CTA has
    the key) or ``cooling_down``; the new CTA's id and the notifications it queued."""

    outcome: str
    cta_id: int | None = None
    notifications: int = 0


def owner_for(values: dict[str, Any], assignment: Assignment) -> str | None:
    """The CTA's owner (:func:`keepwell.success.routing.route_owner`): the account's
    owner, the segment's pool only for an account without one."""
    return route_owner(values.get("owner"), values.get("segment"), assignment.pools)


def cooling_down(session: Session, account_id: str, key: str, since: date) -> bool:
    """Whether a CTA with this key was closed on or after ``since``."""
    query = sa.select(Cta.id).where(
        Cta.account_id == account_id, Cta.key == key, Cta.closed_on >= since
    )
    return session.execute(query.limit(1)).first() is not None


def open_cta(
    session: Session,
    match: Match,
    *,
    assignment: Assignment,
    playbook: Playbook | None,
    as_of: date,
    now: datetime,
) -> Opening:
    """Open the CTA of ``match`` unless one is live for its key or one was closed within
    the rule's cooldown; add the playbook's tasks and queue the rule's notifications."""
    rule, cta = match.rule, match.rule.cta
    assert cta is not None
    if cooling_down(session, match.account_id, rule.key, as_of - timedelta(rule.cooldown_days)):
        return Opening("cooling_down")
    owner = owner_for(match.values, assignment)
    due = _due(match, as_of)
    stake = assess_stake(match.values, cta.priority.value)
    row = {
        "account_id": match.account_id, "rule": rule.name, "key": rule.key,
        "open_key": open_key(match.account_id, rule.key), "type": cta.type.value,
        "priority": stake.priority, "title": cta.title,
        "stake": stake.value, "priority_why": stake.why,
        "reason": render_reason(rule, match.values), "trigger_values": _plain(match.values),
        "playbook": cta.playbook, "segment": match.values.get("segment"), "owner": owner,
        "status": Status.OPEN.value, "opened_on": as_of,
        "due_on": due or (playbook.due_on(as_of) if playbook else None),
        "created_at": now, "updated_at": now,
    }  # fmt: skip
    cta_id = insert_once(session, Cta, row, "open_key", returning="id")
    if cta_id is None:
        return Opening("already_open")
    if playbook is not None:
        event = due if cta.due_in is not None else None
        _add_tasks(session, cta_id, playbook, owner, assignment, as_of, event)
    return Opening("opened", cta_id, _notify(session, match, cta_id, row))


def _due(match: Match, as_of: date) -> date | None:
    cta = match.rule.cta
    assert cta is not None
    if cta.due_in is not None:
        value = match.values.get(cta.due_in)
        if isinstance(value, int | float) and value == value:
            return as_of + timedelta(days=max(0, int(value)))
    return as_of + timedelta(days=cta.due_days) if cta.due_days is not None else None


def _add_tasks(
    session: Session,
    cta_id: int,
    playbook: Playbook,
    owner: str | None,
    assignment: Assignment,
    as_of: date,
    event_on: date | None,
) -> None:
    """The playbook's tasks; for a CTA preparing an event (``due_in``: a renewal) due
    counting backwards from it (:func:`keepwell.success.routing.task_due_dates`)."""
    offsets = [t.due_days for t in playbook.tasks]
    befores = [t.before_days for t in playbook.tasks]
    dues = task_due_dates(offsets, as_of, event_on, befores)
    for position, (task, due_on) in enumerate(zip(playbook.tasks, dues, strict=True), start=1):
        role_owner = None if task.owner_role == CSM_ROLE else assignment.roles.get(task.owner_role)
        session.add(
            CtaTask(
                cta_id=cta_id,
                position=position,
                title=task.title,
                owner_role=task.owner_role,
                owner=role_owner or owner,
                due_on=due_on,
                status=TASK_OPEN,
            )
        )


def _notify(session: Session, match: Match, cta_id: int, row: dict[str, Any]) -> int:
    subject = f"[{row['priority']}] {row['title']}: {match.values.get('name') or row['account_id']}"
    body = f"{row['reason']}\nAccount {row['account_id']}, owner {row['owner'] or 'unassigned'}."
    queued = 0
    for channel in match.rule.notify:
        target = row["owner"] if channel is Channel.EMAIL else ""
        if channel is Channel.EMAIL and not target:
            continue
        queued += notify_service.enqueue(
            session,
            channel=channel.value,
            target=target,
            subject=subject,
            body=body,
            dedupe_key=f"cta:{cta_id}:{channel.value}",
            account_id=row["account_id"],
            payload={"cta_id": cta_id, "type": row["type"], "rule": row["rule"],
                     "reason": row["reason"], "values": row["trigger_values"]},
        )  # fmt: skip
    return queued


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, float) and value != value:
            value = None
        elif isinstance(value, date | datetime):
            value = value.isoformat()
        elif value is not None and not isinstance(value, bool | int | float | str):
            value = str(value)
        result[key] = value
    return result


def wake_snoozed(session: Session, as_of: date, now: datetime) -> int:
    """Snoozed CTAs whose date has come are open again; how many woke."""
    result = session.execute(
        sa.update(Cta)
        .where(Cta.status == Status.SNOOZED.value, Cta.snoozed_until <= as_of)
        .values(status=Status.OPEN.value, snoozed_until=None, updated_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def live_cta(session: Session, cta_id: int) -> Cta:
    """The CTA ``cta_id`` locked for update; :class:`NotFoundError` if missing,
    :class:`InputError` if already closed."""
    cta = session.execute(
        sa.select(Cta).where(Cta.id == cta_id).with_for_update()
    ).scalar_one_or_none()
    if cta is None:
        raise NotFoundError(f"no CTA {cta_id}", hint="see `keepwell ctas list`")
    if cta.status == Status.CLOSED.value:
        raise InputError(f"CTA {cta_id} is already closed ({cta.outcome})")
    return cta


def close(cta: Cta, outcome: str, reason: str | None, on: date, now: datetime) -> None:
    """Close ``cta`` with one of its type's outcomes (:mod:`keepwell.success.outcomes`):
    its key is free again for a new CTA."""
    value = check_outcome(cta.type, outcome)
    cta.status, cta.outcome, cta.close_reason = Status.CLOSED.value, value, reason
    cta.closed_on, cta.open_key, cta.updated_at = on, None, now
