"""Health snapshots: the score of every customer as of a date, kept as history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from keepwell.core.database import Base, JSONData, Money


class HealthScore(Base):
    """One account's health as of one day: segment, stage, score, band and its explanation.

    ``details`` holds the explanation: every measure's value, points, weight and
    contribution, the group scores, and the measures without data.
    """

    __tablename__ = "health_scores"

    as_of: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    account_id: Mapped[str] = mapped_column(
        sa.String(255),
        sa.ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )
    segment: Mapped[str] = mapped_column(sa.String(64))
    scorecard: Mapped[str] = mapped_column(sa.String(64))
    stage: Mapped[str] = mapped_column(sa.String(64))
    stage_overdue: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    days_in_stage: Mapped[float | None] = mapped_column(sa.Float)
    score: Mapped[float | None] = mapped_column(sa.Float)
    band: Mapped[str] = mapped_column(sa.String(16))
    details: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    # Written by the churn model (risk slice) through ``service.record_risk``; null until then.
    churn_probability: Mapped[float | None] = mapped_column(sa.Float)
    arr_at_risk: Mapped[Decimal | None] = mapped_column(Money)
    risk_drivers: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONData)


class StageEntry(Base):
    """The stage history: ``account_id`` entered journey stage ``stage`` on
    ``entered_on`` (one row per transition; the stage holds until the account's next row).
    Written when a snapshot is stored (``service.compute_scores``) or rebuilt from past
    month ends (``service.rebuild_stage_history``)."""

    __tablename__ = "health_stage_entries"

    account_id: Mapped[str] = mapped_column(
        sa.String(255),
        sa.ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    )
    entered_on: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    stage: Mapped[str] = mapped_column(sa.String(64))


class ExternalMeasure(Base):
    """One account's value of a measure computed outside health (another slice or an
    integration pushes it through ``service.record_measure``), as measured on one day.

    A null ``value`` means "no value from that day on" (e.g. the success plan was closed).
    """

    __tablename__ = "health_external_measures"

    measure: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        sa.String(255),
        sa.ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )
    measured_on: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    value: Mapped[float | None] = mapped_column(sa.Float)
