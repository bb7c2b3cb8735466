"""The outbox in the operational store: insert once, claim atomically, record outcomes.

Exactly once under concurrency rests on the database, not on timing:
- ``dedupe_key`` is unique and inserts are ``ON CONFLICT DO NOTHING``;
- a worker claims due rows with a conditional ``UPDATE`` (status pending -> sending, a
  fresh ``claim_token``) that re-checks the due condition; on PostgreSQL the candidate
  rows are first locked with ``SELECT .. FOR UPDATE SKIP LOCKED``, so two workers never
  claim the same row; SQLite runs the one statement under its single-writer lock;
- outcomes are written only where the row still carries the worker's claim token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.core.database import insert_once
from keepwell.notify.models import Notification, Status
from keepwell.notify.retry import RetryPolicy

N = Notification


@dataclass(frozen=True)
class Message:
    """A claimed notification, detached from the session, as the channels send it."""

    notification_id: int
    dedupe_key: str
    channel: str
    target: str
    subject: str
    body: str
    payload: dict[str, Any]
    account_id: str | None
    attempts: int
    claim_token: str


def insert(session: Session, values: Mapping[str, Any]) -> bool:
    """Insert one notification unless its ``dedupe_key`` exists; True when inserted."""
    row = {"status": Status.PENDING.value, "attempts": 0, **values}
    return insert_once(session, N, row, "dedupe_key") is not None


def _due(now: datetime, lease: timedelta) -> sa.ColumnElement[bool]:
    waiting = sa.and_(
        N.status == Status.PENDING.value,
        sa.or_(N.next_attempt_at.is_(None), N.next_attempt_at <= now),
    )
    abandoned = sa.and_(N.status == Status.SENDING.value, N.claimed_at <= now - lease)
    return sa.or_(waiting, abandoned)


def claim(
    session: Session, *, token: str, now: datetime, lease: timedelta, limit: int
) -> list[Message]:
    """Claim at most ``limit`` due notifications for ``token``, oldest first.

    Due: pending with ``next_attempt_at`` NULL or <= ``now``, or sending with a claim
    older than ``lease`` (its worker died). Commit the session before sending.
    """
    candidates = sa.select(N.notification_id).where(_due(now, lease))
    candidates = candidates.order_by(N.notification_id).limit(limit)
    picked: Any = candidates.scalar_subquery()
    if session.get_bind().dialect.name == "postgresql":
        # Lock the candidates first, in their own statement: as a subquery of the UPDATE,
        # PostgreSQL may re-run it and claim more than ``limit`` rows.
        locked = candidates.with_for_update(skip_locked=True)
        picked = list(session.execute(locked).scalars())
        if not picked:
            return []
    session.execute(
        sa.update(N)
        .where(N.notification_id.in_(picked), _due(now, lease))
        .values(status=Status.SENDING.value, claim_token=token, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(
        sa.select(N).where(N.claim_token == token, N.status == Status.SENDING.value)
    ).scalars()
    return [
        Message(r.notification_id, r.dedupe_key, r.channel, r.target, r.subject, r.body,
                dict(r.payload or {}), r.account_id, r.attempts, token)
        for r in sorted(rows, key=lambda r: r.notification_id)
    ]  # fmt: skip


def _claimed(message: Message) -> sa.ColumnElement[bool]:
    return sa.and_(
        N.notification_id == message.notification_id,
        N.claim_token == message.claim_token,
        N.status == Status.SENDING.value,
    )


def record_sent(session: Session, message: Message, now: datetime) -> bool:
    """Mark ``message`` sent at ``now``; False if its claim was lost meanwhile."""
    result = session.execute(
        sa.update(N)
        .where(_claimed(message))
        .values(
            status=Status.SENT.value,
            sent_at=now,
            attempts=message.attempts + 1,
            claim_token=None,
            last_error=None,
            next_attempt_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def record_failure(
    session: Session, message: Message, now: datetime, error: str, policy: RetryPolicy
) -> Status:
    """Record a failed attempt: pending again after the backoff, or failed after the last
    attempt. Returns the new status."""
    attempts = message.attempts + 1
    retry_at = policy.next_attempt(attempts, now)
    status = Status.FAILED if retry_at is None else Status.PENDING
    session.execute(
        sa.update(N)
        .where(_claimed(message))
        .values(
            status=status.value,
            attempts=attempts,
            next_attempt_at=retry_at,
            claim_token=None,
            last_error=error[:2000],
        )
        .execution_options(synchronize_session=False)
    )
    return status


def count_by_status(session: Session) -> dict[str, int]:
    """How many notifications are in each status."""
    rows = session.execute(sa.select(N.status, sa.func.count()).group_by(N.status)).all()
    return {str(status): int(count) for status, count in rows}


def list_rows(session: Session, *, status: str | None, limit: int) -> Sequence[Notification]:
    """Notifications (of ``status`` when given), newest first."""
    query = sa.select(N).order_by(N.notification_id.desc()).limit(limit)
    if status is not None:
        query = query.where(N.status == status)
    return session.execute(query).scalars().all()


def requeue(session: Session, notification_id: int) -> Notification | None:
    """Make a failed (or pending) notification due now with fresh attempts; None if
    there is no such notification. A sent one is left alone (see the caller)."""
    row = session.get(N, notification_id)
    if row is None or row.status in (Status.SENT.value, Status.SENDING.value):
        return row
    row.status, row.attempts, row.next_attempt_at = Status.PENDING.value, 0, None
    row.claim_token = None
    return row


def recently_touched(session: Session, email: str, category: str, since: Any) -> bool:
    """Whether ``email`` (lower case, as stored) got a ``category`` notification with
    ``as_of`` >= ``since``."""
    query = sa.select(N.notification_id).where(
        N.category == category, N.target == email, N.as_of >= since
    )
    return session.execute(query.limit(1)).first() is not None
