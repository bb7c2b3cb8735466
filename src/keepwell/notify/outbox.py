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

from keepwell.core.database import insert_many_once, insert_once
from keepwell.notify.models import Notification, SendQuota, Status
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


def insert_many(session: Session, rows: Sequence[Mapping[str, Any]]) -> set[str]:
    """:func:`insert` for many notifications (all with the same columns) in a few
    statements; the ``dedupe_key`` of those inserted."""
    full = [{"status": Status.PENDING.value, "attempts": 0, **values} for values in rows]
    return set(insert_many_once(session, N, full, "dedupe_key"))


def waiting(now: datetime) -> sa.ColumnElement[bool]:
    """Pending and due at ``now`` (``next_attempt_at`` NULL or past)."""
    return sa.and_(
        N.status == Status.PENDING.value,
        sa.or_(N.next_attempt_at.is_(None), N.next_attempt_at <= now),
    )


def _abandoned(now: datetime, lease: timedelta) -> sa.ColumnElement[bool]:
    return sa.and_(N.status == Status.SENDING.value, N.claimed_at <= now - lease)


_COLUMNS = (N.notification_id, N.dedupe_key, N.channel, N.target, N.subject, N.body,
            N.payload, N.account_id, N.attempts)  # fmt: skip


def claim(
    session: Session, *, token: str, now: datetime, lease: timedelta, limit: int
) -> list[Message]:
    """Claim at most ``limit`` due notifications for ``token`` (see :func:`claim_batch`,
    here from the first key). Commit the session before sending."""
    return claim_batch(session, token=token, now=now, lease=lease, limit=limit, after=0)[0]


def claim_batch(
    session: Session,
    *,
    token: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    after: int,
) -> tuple[list[Message], int]:
    """Claim at most ``limit`` due notifications for ``token``, in key order, and the
    cursor to pass as ``after`` to the next claim of the same run.

    Due: sending with a claim older than ``lease`` (its worker died), taken first; then
    pending with ``next_attempt_at`` NULL or <= ``now`` and a key above ``after`` (the
    cursor: a run never reads again the rows it has passed). Each query walks the
    ``(status, notification_id)`` index from the cursor and stops after ``limit`` rows,
    so a claim costs the same whatever the backlog. Commit the session before sending.
    """
    taken = _claim_where(session, _abandoned(now, lease), token, now, limit)
    cursor = after
    if len(taken) < limit:
        due = _claim_where(
            session, waiting(now), token, now, limit - len(taken), N.notification_id > after
        )
        if due:
            cursor = due[-1].notification_id
        taken += due
    return taken, cursor


def select_candidates(
    due: sa.ColumnElement[bool], limit: int, *more: sa.ColumnElement[bool]
) -> sa.Select[Any]:
    """The keys of at most ``limit`` notifications that are ``due`` (and ``more``), in
    key order: the first statement of a claim."""
    return sa.select(N.notification_id).where(due, *more).order_by(N.notification_id).limit(limit)


def _claim_where(
    session: Session,
    due: sa.ColumnElement[bool],
    token: str,
    now: datetime,
    limit: int,
    *more: sa.ColumnElement[bool],
) -> list[Message]:
    candidates = select_candidates(due, limit, *more)
    picked: Any = candidates.scalar_subquery()
    if session.get_bind().dialect.name == "postgresql":
        # Lock the candidates first, in their own statement: as a subquery of the UPDATE,
        # PostgreSQL may re-run it and claim more than ``limit`` rows. Rows another
        # worker is claiming are skipped, not waited for.
        picked = list(session.execute(candidates.with_for_update(skip_locked=True)).scalars())
        if not picked:
            return []
    # SQLite: one statement under its single-writer lock (a separate SELECT first
    # could not upgrade to a write when another process wrote meanwhile)
    rows = session.execute(
        sa.update(N)
        .where(N.notification_id.in_(picked), due)
        .values(status=Status.SENDING.value, claim_token=token, claimed_at=now)
        .returning(*_COLUMNS)
        .execution_options(synchronize_session=False)
    ).all()
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


def commit_without_waiting(session: Session) -> None:
    """On PostgreSQL, let this transaction's commit return before its WAL is flushed to
    disk (``synchronous_commit = off``, this transaction only). For the record of one
    delivery that is the right trade: the commit stays atomic and is durable within a
    fraction of a second; only a crash of the database server itself in that instant
    could forget it, and the message would then be sent again (with the same
    ``Message-ID``). Waiting for the flush costs one disk sync per message."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SET LOCAL synchronous_commit = off"))


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


def record_sent_many(session: Session, messages: Sequence[Message], now: datetime) -> set[int]:
    """:func:`record_sent` for many messages in a statement per claim token; the ids
    recorded (a message whose claim was lost meanwhile is left out)."""
    recorded: set[int] = set()
    tokens: dict[str, list[int]] = {}
    for message in messages:
        tokens.setdefault(message.claim_token, []).append(message.notification_id)
    for token, ids in tokens.items():
        result = session.execute(
            sa.update(N)
            .where(
                N.notification_id.in_(ids),
                N.claim_token == token,
                N.status == Status.SENDING.value,
            )
            .values(
                status=Status.SENT.value,
                sent_at=now,
                attempts=N.attempts + 1,  # the row is ours (claimed): as claimed + 1
                claim_token=None,
                last_error=None,
                next_attempt_at=None,
            )
            .returning(N.notification_id)
            .execution_options(synchronize_session=False)
        )
        recorded.update(result.scalars())
    return recorded


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


def defer(session: Session, message: Message, until: datetime) -> None:
    """Put a claimed ``message`` back, pending until ``until``, without counting an
    attempt (a sending limit held it back; nothing failed)."""
    session.execute(
        sa.update(N)
        .where(_claimed(message))
        .values(status=Status.PENDING.value, next_attempt_at=until, claim_token=None)
        .execution_options(synchronize_session=False)
    )


def reserve(session: Session, name: str, window_start: datetime, limit: int, wanted: int) -> int:
    """Take up to ``wanted`` sends from the quota ``name`` of the window starting at
    ``window_start`` (``limit`` per window); how many were granted. Concurrent workers
    are serialised on the quota's row (locked on PostgreSQL; SQLite has one writer)."""
    if wanted <= 0:
        return 0
    key = _quota_key(name, window_start)
    insert_once(session, SendQuota, {"key": key, "window_start": window_start, "used": 0}, "key")
    query = sa.select(SendQuota.used).where(SendQuota.key == key)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    used = int(session.execute(query).scalar_one())
    granted = max(0, min(wanted, limit - used))
    if granted:
        session.execute(
            sa.update(SendQuota).where(SendQuota.key == key).values(used=SendQuota.used + granted)
        )
    return granted


def _quota_key(name: str, window_start: datetime) -> str:
    return f"{name}@{window_start.isoformat()}"


def release(session: Session, name: str, window_start: datetime, count: int) -> None:
    """Give back ``count`` sends reserved from a quota and not used."""
    if count > 0:
        session.execute(
            sa.update(SendQuota)
            .where(SendQuota.key == _quota_key(name, window_start))
            .values(used=SendQuota.used - count)
        )


def forget_quotas(session: Session, before: datetime) -> None:
    """Delete the quota windows that started before ``before`` (spent)."""
    session.execute(sa.delete(SendQuota).where(SendQuota.window_start < before))


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


def touched_since(session: Session, emails: Sequence[str], category: str, since: Any) -> set[str]:
    """Which of ``emails`` (lower case, as stored) got a ``category`` notification with
    ``as_of`` >= ``since`` (:func:`recently_touched` for many addresses)."""
    query = sa.select(N.target).where(
        N.category == category, N.target.in_(emails), N.as_of >= since
    )
    return set(session.execute(query.distinct()).scalars())
