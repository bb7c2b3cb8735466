"""CTAs in the store: opening them exactly once, their tasks, their life cycle.

Opening is an ``INSERT .. ON CONFLICT (open_key) DO NOTHING``: the unique index on
``open_key`` (set while the CTA is live, NULL once closed) makes a second live CTA for
the same account and rule key impossible, whatever runs at the same time. The tasks and
notifications of a CTA are written in the same transaction, only by the insert that won.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.core.database import insert_many_once
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
    name = match.rule.cta.playbook if match.rule.cta else None
    books = {name: playbook} if name and playbook else {}
    openings = open_ctas(
        session, [match], assignment=assignment, playbooks=books, as_of=as_of, now=now
    )
    return openings[0]


def open_ctas(
    session: Session,
    matches: Sequence[Match],
    *,
    assignment: Assignment,
    playbooks: Mapping[str, Playbook],
    as_of: date,
    now: datetime,
) -> list[Opening]:
    """:func:`open_cta` for many matches (each with a CTA) in a few statements, in the
    caller's transaction: the same CTAs, tasks and notifications as opening them one
    after the other in order (a later match of a key opened by an earlier one is
    ``already_open``). ``playbooks`` by name. The opening of each match, in order."""
    cooling = _cooling(session, matches, as_of)
    openings: list[Opening | None] = [None] * len(matches)
    rows: list[dict[str, Any]] = []
    candidates: list[int] = []
    for position, match in enumerate(matches):
        if (match.account_id, match.rule.key) in cooling and cooling[
            (match.account_id, match.rule.key)
        ] >= as_of - timedelta(match.rule.cooldown_days):
            openings[position] = Opening("cooling_down")
            continue
        book = playbooks.get(match.rule.cta.playbook or "") if match.rule.cta else None
        rows.append(_cta_row(match, assignment, book, as_of, now))
        candidates.append(position)
    opened = insert_many_once(session, Cta, rows, "open_key", returning="id")
    tasks: list[dict[str, Any]] = []
    messages: list[notify_service.Queued] = []
    queued_by: list[tuple[int, str]] = []
    for position, row in zip(candidates, rows, strict=True):
        cta_id = opened.pop(row["open_key"], None)  # popped: a repeated key opens once
        if cta_id is None:
            openings[position] = Opening("already_open")
            continue
        match = matches[position]
        book = playbooks.get(row["playbook"] or "") if row["playbook"] else None
        if book is not None:
            due_in = match.rule.cta.due_in if match.rule.cta else None
            event = row["due_on"] if due_in is not None else None
            tasks += _task_rows(cta_id, book, row["owner"], assignment, as_of, event)
        for message in _messages(match, cta_id, row):
            messages.append(message)
            queued_by.append((position, message.dedupe_key))
        openings[position] = Opening("opened", cta_id)
    if tasks:
        session.execute(sa.insert(CtaTask), tasks)
    queued = notify_service.enqueue_many(session, messages) if messages else set()
    counts = Counter(position for position, key in queued_by if key in queued)
    return [
        Opening(o.outcome, o.cta_id, counts.get(p, 0)) if o.cta_id is not None else o
        for p, o in enumerate(o for o in openings if o is not None)
    ]


def _cooling(
    session: Session, matches: Sequence[Match], as_of: date
) -> dict[tuple[str, str], date]:
    """The last ``closed_on`` of the CTAs closed within the longest cooldown of
    ``matches``, by (account, key)."""
    if not matches:
        return {}
    since = as_of - timedelta(max(m.rule.cooldown_days for m in matches))
    keys = sorted({m.rule.key for m in matches})
    query = (
        sa.select(Cta.account_id, Cta.key, sa.func.max(Cta.closed_on))
        .where(Cta.closed_on >= since, Cta.key.in_(keys))
        .group_by(Cta.account_id, Cta.key)
    )
    return {(a, k): d for a, k, d in session.execute(query).all() if d is not None}


def _cta_row(
    match: Match,
    assignment: Assignment,
    playbook: Playbook | None,
    as_of: date,
    now: datetime,
) -> dict[str, Any]:
    rule, cta = match.rule, match.rule.cta
    assert cta is not None
    owner = owner_for(match.values, assignment)
    due = _due(match, as_of)
    stake = assess_stake(match.values, cta.priority.value)
    return {
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


def _due(match: Match, as_of: date) -> date | None:
    cta = match.rule.cta
    assert cta is not None
    if cta.due_in is not None:
        value = match.values.get(cta.due_in)
        if isinstance(value, int | float) and value == value:
            return as_of + timedelta(days=max(0, int(value)))
    return as_of + timedelta(days=cta.due_days) if cta.due_days is not None else None


def _task_rows(
    cta_id: int,
    playbook: Playbook,
    owner: str | None,
    assignment: Assignment,
    as_of: date,
    event_on: date | None = None,
) -> list[dict[str, Any]]:
    """The playbook's tasks; for a CTA preparing an event (``due_in``: a renewal) due
    counting backwards from it (:func:`keepwell.success.routing.task_due_dates`)."""
    dues = task_due_dates([t.due_days for t in playbook.tasks], as_of, event_on,
                          [t.before_days for t in playbook.tasks])  # fmt: skip
    rows = []
    for position, (task, due_on) in enumerate(zip(playbook.tasks, dues, strict=True), start=1):
        role_owner = None if task.owner_role == CSM_ROLE else assignment.roles.get(task.owner_role)
        rows.append(
            {"cta_id": cta_id, "position": position, "title": task.title,
             "owner_role": task.owner_role, "owner": role_owner or owner,
             "due_on": due_on, "status": TASK_OPEN}
        )  # fmt: skip
    return rows


def _messages(match: Match, cta_id: int, row: dict[str, Any]) -> list[notify_service.Queued]:
    subject = f"[{row['priority']}] {row['title']}: {match.values.get('name') or row['account_id']}"
    body = f"{row['reason']}\nAccount {row['account_id']}, owner {row['owner'] or 'unassigned'}."
    messages = []
    for channel in match.rule.notify:
        target = row["owner"] if channel is Channel.EMAIL else ""
        if channel is Channel.EMAIL and not target:
            continue
        messages.append(
            notify_service.Queued(
                channel=channel.value, target=target, subject=subject, body=body,
                dedupe_key=f"cta:{cta_id}:{channel.value}", account_id=row["account_id"],
                payload={"cta_id": cta_id, "type": row["type"], "rule": row["rule"],
                         "reason": row["reason"], "values": row["trigger_values"]},
            )
        )  # fmt: skip
    return messages


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
