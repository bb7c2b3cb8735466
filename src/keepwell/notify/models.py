"""Tables of notifications: the outbox of messages to deliver and the unsubscribed emails."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from keepwell.core.database import Base, JSONData, UTCDateTime


class Status(StrEnum):
    """Where a notification is: waiting (``pending``, maybe after a failed attempt),
    claimed by a worker (``sending``), delivered (``sent``) or given up (``failed``)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Channel(StrEnum):
    EMAIL = "email"
    SLACK = "slack"
    WEBHOOK = "webhook"


class Notification(Base):
    """One message to deliver once on one channel.

    ``dedupe_key`` is unique: enqueuing the same key twice keeps the first row only, so a
    re-run never sends twice. ``target`` is the email address (email) or the webhook URL
    (slack, webhook; empty = the configured URL). ``next_attempt_at`` is when it is due
    (NULL = now); ``claim_token`` and ``claimed_at`` identify the worker sending it.
    ``category`` and ``as_of`` mark tech-touch emails for the frequency cap.
    """

    __tablename__ = "notifications"

    notification_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(16))
    target: Mapped[str] = mapped_column(sa.Text)
    subject: Mapped[str] = mapped_column(sa.Text)
    body: Mapped[str] = mapped_column(sa.Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONData)
    account_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    category: Mapped[str | None] = mapped_column(sa.String(32))
    as_of: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.String(16), default=Status.PENDING)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(sa.String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=sa.func.now())


sa.Index("ix_notifications_tech_touch", Notification.target, Notification.category)
# the claim walks this index from a cursor: due rows of one status in key order
sa.Index("ix_notifications_status_id", Notification.status, Notification.notification_id)


class SendQuota(Base):
    """How many emails were sent in one window of one limit. ``key`` is the limit's name,
    ``day`` (the daily cap) or ``domain:<domain>`` (the per-domain rate), then ``@`` and
    the start of the window (UTC, ISO 8601), also in ``window_start``. Workers reserve
    from it once per batch, under a lock of the row."""

    __tablename__ = "notify_send_quotas"

    key: Mapped[str] = mapped_column(sa.String(400), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    used: Mapped[int] = mapped_column(sa.Integer, default=0)


class Unsubscribe(Base):
    """An email address that asked for no more tech-touch emails (lower case)."""

    __tablename__ = "notify_unsubscribes"

    email: Mapped[str] = mapped_column(sa.String(320), primary_key=True)
    unsubscribed_at: Mapped[datetime] = mapped_column(UTCDateTime)
