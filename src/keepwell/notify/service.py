"""Use cases of notifications: the public surface of ``notify``.

Other slices queue messages with :func:`enqueue` and :func:`send_tech_touch` inside
their own transaction (the message exists exactly when their change commits); workers
deliver them with :func:`deliver_pending`. Nothing here reads the clock: ``now`` and
``as_of`` are given.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.core.database import insert_once, transaction
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace
from keepwell.notify import outbox
from keepwell.notify.email import one_line, send_email
from keepwell.notify.errors import DeliveryError
from keepwell.notify.limits import DAY, MINUTE, SendLimits, by_domain, day_start, minute_start
from keepwell.notify.mailer import Mailer
from keepwell.notify.models import Channel, Notification, Status, Unsubscribe
from keepwell.notify.outbox import Message
from keepwell.notify.retry import RetryPolicy
from keepwell.notify.slack import send_slack
from keepwell.notify.techtouch import (
    TechTouch,
    is_unsubscribed,
    send_tech_touch,
    send_tech_touch_many,
)
from keepwell.notify.tokens import read_unsubscribe_token
from keepwell.notify.webhooks import send_webhook

__all__ = [
    "DeliveryReport",
    "Queued",
    "TechTouch",
    "deliver_pending",
    "enqueue",
    "enqueue_many",
    "is_unsubscribed",
    "list_notifications",
    "queue_counts",
    "retry_notification",
    "send_limits",
    "send_tech_touch",
    "send_tech_touch_many",
    "unsubscribe",
]

Sender = Callable[[Message, Settings, datetime], None]
SENDERS: dict[str, Sender] = {
    Channel.EMAIL.value: send_email,
    Channel.SLACK.value: send_slack,
    Channel.WEBHOOK.value: send_webhook,
}
#: How many notifications a worker claims at a time.
CLAIM_BATCH = 200


def enqueue(
    session: Session,
    *,
    channel: str,
    target: str,
    subject: str,
    body: str,
    dedupe_key: str,
    account_id: str | None = None,
    payload: dict[str, Any] | None = None,
) -> bool:
    """Queue one notification in the caller's transaction; False when ``dedupe_key`` is
    already queued (whatever its status), so the caller's re-runs never send twice.

    ``channel`` is email (``target`` an address), slack or webhook (``target`` a URL, or
    empty for the configured one). Delivery happens in :func:`deliver_pending`.
    """
    values = _queued(channel, target, subject, body, dedupe_key, account_id, payload)
    return outbox.insert(session, values)


@dataclass(frozen=True)
class Queued:
    """One notification to queue with :func:`enqueue_many` (the arguments of
    :func:`enqueue`)."""

    channel: str
    target: str
    subject: str
    body: str
    dedupe_key: str
    account_id: str | None = None
    payload: dict[str, Any] | None = None


def enqueue_many(session: Session, messages: Sequence[Queued]) -> set[str]:
    """:func:`enqueue` for many notifications in a few statements, in the caller's
    transaction; the dedupe keys queued (a key already queued is left as it was)."""
    rows = [
        _queued(m.channel, m.target, m.subject, m.body, m.dedupe_key, m.account_id, m.payload)
        for m in messages
    ]
    return outbox.insert_many(session, rows)


def _queued(
    channel: str,
    target: str,
    subject: str,
    body: str,
    dedupe_key: str,
    account_id: str | None,
    payload: dict[str, Any] | None,
) -> dict[str, Any]:
    if channel not in SENDERS:
        raise InputError(f"unknown notification channel {channel!r}", hint="email, slack, webhook")
    if not dedupe_key:
        raise InputError("a notification needs a dedupe key")
    subject = one_line(subject)  # a newline from an account name cannot go in a header
    return {"channel": channel, "target": target, "subject": subject, "body": body,
            "dedupe_key": dedupe_key, "account_id": account_id, "payload": payload}  # fmt: skip


@dataclass
class DeliveryReport:
    """One delivery run: ``claimed`` = ``sent`` + ``retrying`` + ``failed`` (given up in
    this run) + ``deferred`` (held back by a sending limit, pending for its next
    window, not an attempt) + ``lost_claims``; ``failed_total`` counts every failed
    notification in the store, so none is ever lost silently; ``errors`` are
    (id, message) pairs."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    deferred: int = 0
    lost_claims: int = 0
    failed_total: int = 0
    pending_total: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def _policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        settings.max_attempts, settings.retry_base_seconds, settings.retry_max_seconds
    )


def send_limits(settings: Settings) -> SendLimits:
    """The email sending limits of ``settings`` (daily cap, rate per domain)."""
    rates = {domain.strip().lower(): rate for domain, rate in settings.email_domain_rates.items()}
    return SendLimits(settings.email_daily_cap, settings.email_domain_rate, rates)


def _send(message: Message, settings: Settings, now: datetime, mailer: Mailer) -> None:
    if message.channel == Channel.EMAIL.value:
        mailer.send(message, now)
    else:
        SENDERS[message.channel](message, settings, now)


#: Outcomes recorded per transaction: a crash after sending can repeat at most this
#: many emails (each with the same ``Message-ID``, so a receiver can drop the copy),
#: where a transaction per message cost more than building and sending it.
RECORD_EVERY = 20


def _deliver_some(
    workspace: Workspace,
    messages: list[Message],
    settings: Settings,
    now: datetime,
    mailer: Mailer,
) -> list[tuple[Message, Status | None, str | None]]:
    """Send claimed ``messages`` and record their outcomes in one transaction: each
    (message, new status or None if the claim was lost, error)."""
    errors: list[str | None] = []
    for message in messages:
        error: str | None = None
        try:
            _send(message, settings, now, mailer)
        except DeliveryError as exc:
            error = str(exc)
        except Exception as exc:  # a bug in a channel must not lose the message either
            error = f"{type(exc).__name__}: {exc}"
        errors.append(error)
    outcomes: list[tuple[Message, Status | None, str | None]] = []
    with transaction(workspace.engine) as session:
        outbox.commit_without_waiting(session)
        sent = outbox.record_sent_many(
            session, [m for m, e in zip(messages, errors, strict=True) if e is None], now
        )
        for message, error in zip(messages, errors, strict=True):
            if error is None:
                status = Status.SENT if message.notification_id in sent else None
            else:
                status = outbox.record_failure(session, message, now, error, _policy(settings))
            outcomes.append((message, status, error))
    return outcomes


def _hold_back(
    workspace: Workspace, batch: list[Message], limits: SendLimits, now: datetime
) -> list[Message]:
    """The messages of ``batch`` to send now; the emails over the daily cap wait for the
    next UTC day, those over their domain's rate for the next minute (deferred in the
    store, no attempt counted). Quotas are reserved in the store, so several workers
    share them."""
    emails = [m for m in batch if m.channel == Channel.EMAIL.value]
    if not limits.active or not emails:
        return batch
    held: dict[int, datetime] = {}
    day, window = day_start(now), minute_start(now)
    with transaction(workspace.engine) as session:
        if limits.daily_cap:
            granted = outbox.reserve(session, DAY, day, limits.daily_cap, len(emails))
            held.update((m.notification_id, day + timedelta(days=1)) for m in emails[granted:])
        pairs = [(m.notification_id, m.target) for m in emails if m.notification_id not in held]
        for domain, ids in by_domain(pairs).items():
            rate = limits.rate_of(domain)
            if rate > 0:
                granted = outbox.reserve(session, f"domain:{domain}", window, rate, len(ids))
                held.update((i, window + MINUTE) for i in ids[granted:])
                if limits.daily_cap:  # held back by the domain: not sent today yet
                    outbox.release(session, DAY, day, len(ids) - granted)
        for message in emails:
            if message.notification_id in held:
                outbox.defer(session, message, held[message.notification_id])
    return [m for m in batch if m.notification_id not in held]


def deliver_pending(
    workspace: Workspace,
    *,
    now: datetime,
    settings: Settings | None = None,
    limit: int | None = None,
) -> DeliveryReport:
    """Deliver every notification due at ``now`` (at most ``limit``), a batch of
    :data:`CLAIM_BATCH` claimed at a time in key order; safe to run in several
    processes at once. Emails go over one SMTP connection for the whole run.

    A failed attempt n is retried ``retry_base_seconds`` x 2^(n-1) seconds later (at most
    ``retry_max_seconds``); after ``max_attempts`` the notification is ``failed``.
    Emails over ``email_daily_cap`` (per UTC day) or their domain's rate per minute are
    deferred to the next window (see :func:`send_limits`).
    """
    settings = settings or Settings()
    lease = timedelta(seconds=settings.claim_lease_seconds)
    limits = send_limits(settings)
    report = DeliveryReport()
    cursor = 0
    if limits.active:
        with transaction(workspace.engine) as session:
            outbox.forget_quotas(session, day_start(now) - timedelta(days=1))
    with Mailer(settings) as mailer:
        while limit is None or report.claimed < limit:
            size = CLAIM_BATCH if limit is None else min(CLAIM_BATCH, limit - report.claimed)
            with transaction(workspace.engine) as session:
                batch, cursor = outbox.claim_batch(
                    session, token=uuid.uuid4().hex, now=now, lease=lease, limit=size,
                    after=cursor,
                )  # fmt: skip
            if not batch:
                break
            report.claimed += len(batch)
            to_send = _hold_back(workspace, batch, limits, now)
            report.deferred += len(batch) - len(to_send)
            for start in range(0, len(to_send), RECORD_EVERY):
                part = to_send[start : start + RECORD_EVERY]
                for outcome in _deliver_some(workspace, part, settings, now, mailer):
                    _count(report, *outcome)
    with workspace.engine.connect() as conn, Session(conn) as session:
        counts = outbox.count_by_status(session)
    report.failed_total = counts.get(Status.FAILED.value, 0)
    report.pending_total = counts.get(Status.PENDING.value, 0)
    return report


def _count(
    report: DeliveryReport, message: Message, status: Status | None, error: str | None
) -> None:
    if status is None:
        report.lost_claims += 1
    elif status is Status.SENT:
        report.sent += 1
    elif status is Status.FAILED:
        report.failed += 1
    else:
        report.retrying += 1
    if error is not None:
        report.errors.append((message.notification_id, error))


def _row(n: Notification) -> dict[str, Any]:
    return {
        "id": n.notification_id, "status": n.status, "channel": n.channel,
        "target": n.target, "subject": n.subject, "account_id": n.account_id,
        "attempts": n.attempts, "next_attempt_at": n.next_attempt_at, "sent_at": n.sent_at,
        "last_error": n.last_error, "dedupe_key": n.dedupe_key,
    }  # fmt: skip


def list_notifications(
    workspace: Workspace, *, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Notifications, newest first (of ``status``: pending, sending, sent, failed)."""
    if status is not None and status not in {s.value for s in Status}:
        raise InputError(f"unknown status {status!r}", hint=", ".join(s.value for s in Status))
    with transaction(workspace.engine) as session:
        return [_row(n) for n in outbox.list_rows(session, status=status, limit=limit)]


def sent_to_account(
    workspace: Workspace, account_id: str, limit: int = 200
) -> list[dict[str, Any]]:
    """Notifications about ``account_id`` that were sent (emails, Slack messages,
    webhooks), newest first, at most ``limit``; each with ``sent_at``."""
    query = (
        sa.select(Notification)
        .where(Notification.account_id == account_id, Notification.status == Status.SENT.value)
        .order_by(Notification.sent_at.desc(), Notification.notification_id.desc())
        .limit(limit)
    )
    with Session(workspace.engine) as session:
        return [_row(n) | {"category": n.category} for n in session.execute(query).scalars()]


def retry_notification(workspace: Workspace, notification_id: int) -> dict[str, Any]:
    """Make notification ``notification_id`` due again with a fresh count of attempts
    (a failed one, typically); a sent or sending one is refused."""
    with transaction(workspace.engine) as session:
        row = outbox.requeue(session, notification_id)
        if row is None:
            raise NotFoundError(f"no notification {notification_id}")
        if row.status != Status.PENDING.value:
            raise InputError(
                f"notification {notification_id} is {row.status}: only a pending or failed "
                "notification can be retried"
            )
        return _row(row)


def unsubscribe(workspace: Workspace, token: str, *, at: datetime, secret: str) -> str:
    """Record the unsubscribe of the address signed in ``token`` (idempotent: the first
    time is kept); the address. :class:`InputError` for a token we did not sign."""
    email = read_unsubscribe_token(token, secret)
    with transaction(workspace.engine) as session:
        insert_once(session, Unsubscribe, {"email": email, "unsubscribed_at": at}, "email")
    return email


def queue_counts(workspace: Workspace) -> dict[str, int]:
    """How many notifications are in each status (pending, sending, sent, failed)."""
    with workspace.engine.connect() as conn, Session(conn) as session:
        counts = outbox.count_by_status(session)
    return {status.value: counts.get(status.value, 0) for status in Status}
