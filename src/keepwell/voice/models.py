"""Tables of the customer's voice: survey campaigns and their sends, shared plan links,
the customer's success measures with their readings, and the saved narrative of the
customer's business review.

Exactly once: a send is unique per (campaign, contact, period), and its email's dedupe
key in the notification outbox is derived from that key, so two cycles running at once
queue one email per contact and period.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from keepwell.core.database import Base, UTCDateTime


def _account_fk() -> sa.ForeignKey:
    return sa.ForeignKey("accounts.account_id", ondelete="CASCADE")


class SurveyCampaign(Base):
    """Who is asked what, when: ``kind`` nps or csat with its ``question``, to the active
    contacts of ``role`` (any role when NULL) at accounts of ``segment`` (any when NULL),
    from ``created_on``, again every ``every_days`` days (once when NULL); never a
    contact asked by any campaign in the last ``throttle_days`` days."""

    __tablename__ = "voice_campaigns"

    name: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    question: Mapped[str] = mapped_column(sa.Text)
    role: Mapped[str | None] = mapped_column(sa.String(64))
    segment: Mapped[str | None] = mapped_column(sa.String(64))
    every_days: Mapped[int | None] = mapped_column(sa.Integer)
    throttle_days: Mapped[int] = mapped_column(sa.Integer)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_on: Mapped[date] = mapped_column(sa.Date)


class SurveySend(Base):
    """One survey email to one contact in one period of a campaign, and its answer."""

    __tablename__ = "voice_survey_sends"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    send_key: Mapped[str] = mapped_column(sa.String(400), unique=True)
    campaign: Mapped[str] = mapped_column(
        sa.String(128), sa.ForeignKey("voice_campaigns.name", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str] = mapped_column(sa.String(255), _account_fk(), index=True)
    contact_id: Mapped[str] = mapped_column(sa.String(255))
    email: Mapped[str] = mapped_column(sa.String(320), index=True)
    sent_on: Mapped[date] = mapped_column(sa.Date)
    expires_on: Mapped[date] = mapped_column(sa.Date)
    score: Mapped[int | None] = mapped_column(sa.Integer)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PlanShare(Base):
    """A link that shows one success plan to one person of the customer until
    ``expires_at`` or until revoked; ``nonce`` is signed into the link."""

    __tablename__ = "voice_plan_shares"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("success_plans.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str] = mapped_column(sa.String(255), _account_fk(), index=True)
    shared_with: Mapped[str] = mapped_column(sa.String(255))
    email: Mapped[str | None] = mapped_column(sa.String(320))
    nonce: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(sa.String(320))


class SuccessMeasure(Base):
    """What the customer measures success in: ``name`` in ``unit`` from ``baseline``
    (on ``started_on``) to ``target`` by ``target_on``."""

    __tablename__ = "voice_measures"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(sa.String(255), _account_fk(), index=True)
    plan_id: Mapped[int | None] = mapped_column(
        sa.Integer, sa.ForeignKey("success_plans.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(sa.String(255))
    unit: Mapped[str] = mapped_column(sa.String(64))
    baseline: Mapped[float] = mapped_column(sa.Float)
    target: Mapped[float] = mapped_column(sa.Float)
    started_on: Mapped[date] = mapped_column(sa.Date)
    target_on: Mapped[date] = mapped_column(sa.Date)


class MeasureReading(Base):
    """One reading of a measure on one day (a later reading of that day replaces it)."""

    __tablename__ = "voice_measure_readings"
    __table_args__ = (sa.UniqueConstraint("measure_id", "taken_on"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    measure_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("voice_measures.id", ondelete="CASCADE"), index=True
    )
    taken_on: Mapped[date] = mapped_column(sa.Date)
    value: Mapped[float] = mapped_column(sa.Float)
    entered_by: Mapped[str | None] = mapped_column(sa.String(320))


class ReviewNarrative(Base):
    """An edited narrative section of an account's customer business review."""

    __tablename__ = "voice_review_narratives"

    account_id: Mapped[str] = mapped_column(sa.String(255), _account_fk(), primary_key=True)
    section: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    text: Mapped[str] = mapped_column(sa.Text)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    saved_by: Mapped[str | None] = mapped_column(sa.String(320))
