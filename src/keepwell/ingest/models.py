"""Tables of the ingest slice: sources with write keys, identities, Stripe event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from keepwell.core.database import Base, JSONData, UTCDateTime


class Source(Base):
    """A sender of tracking calls; its write key is stored as a SHA-256 hash only."""

    __tablename__ = "ingest_sources"

    source_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(255), unique=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Identity(Base):
    """An end user seen by the tracking API and the account ``group`` tied them to."""

    __tablename__ = "ingest_identities"

    user_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    account_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    traits: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PendingEvent(Base):
    """A track call whose user is not (yet) tied to an account: kept, never dropped,
    and moved to the analytics store when ``group`` names the user's account."""

    __tablename__ = "ingest_pending_events"

    message_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.String(255), index=True)
    event: Mapped[dict[str, Any]] = mapped_column(JSONData)


class StripeObject(Base):
    """The newest Stripe event applied to an object: older events are skipped."""

    __tablename__ = "stripe_objects"

    object_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(255))
    event_created: Mapped[int] = mapped_column(sa.BigInteger)


class StripeEvent(Base):
    """Every Stripe event received (by id): a second delivery changes nothing."""

    __tablename__ = "stripe_events"

    event_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(64))
    created: Mapped[int] = mapped_column(sa.BigInteger)
    outcome: Mapped[str] = mapped_column(sa.String(32))


class StripeCustomer(Base):
    """A Stripe customer and the account it belongs to (from its ``metadata.account_id``)."""

    __tablename__ = "stripe_customers"

    customer_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.String(255))
