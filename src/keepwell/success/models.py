"""Tables of customer-success operations: CTAs and their tasks, the cycle's lease and
runs, success plans (objectives, milestones, check-ins) and references.

Exactly once: a CTA carries ``open_key`` (account and rule key) while it is open, in
progress or snoozed, and NULL once closed. The unique index on it lets any number of
closed CTAs share a key but never two live ones, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from keepwell.core.database import Base, JSONData, Money, UTCDateTime


def _account_fk() -> sa.ForeignKey:
    return sa.ForeignKey("accounts.account_id", ondelete="CASCADE")


class Cta(Base):
    """A call to action: something a CSM (or a pool) must do about one account."""

    __tablename__ = "success_ctas"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(sa.String(255), _account_fk(), index=True)
    rule: Mapped[str] = mapped_column(sa.String(128))
    key: Mapped[str] = mapped_column(sa.String(255))
    open_key: Mapped[str | None] = mapped_column(sa.String(600), unique=True)
    type: Mapped[str] = mapped_column(sa.String(16))
    priority: Mapped[str] = mapped_column(sa.String(16))
    #: ARR x churn probability x urgency x sponsor factor (keepwell.success.routing).
    stake: Mapped[Decimal | None] = mapped_column(sa.Numeric(38, 6))
    #: Why the CTA has its priority, in words.
    priority_why: Mapped[str | None] = mapped_column(sa.Text)
    title: Mapped[str] = mapped_column(sa.String(255))
    reason: Mapped[str] = mapped_column(sa.Text)
    trigger_values: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    playbook: Mapped[str | None] = mapped_column(sa.String(128))
    segment: Mapped[str | None] = mapped_column(sa.String(64))
    owner: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    opened_on: Mapped[date] = mapped_column(sa.Date)
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    snoozed_until: Mapped[date | None] = mapped_column(sa.Date)
    snooze_reason: Mapped[str | None] = mapped_column(sa.Text)
    outcome: Mapped[str | None] = mapped_column(sa.String(32))
    close_reason: Mapped[str | None] = mapped_column(sa.Text)
    closed_on: Mapped[date | None] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CtaTask(Base):
    """One step of a CTA's playbook: ordered, with a due date and an owner."""

    __tablename__ = "success_cta_tasks"
    __table_args__ = (sa.UniqueConstraint("cta_id", "position"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    cta_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("success_ctas.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(sa.Integer)
    title: Mapped[str] = mapped_column(sa.String(255))
    owner_role: Mapped[str] = mapped_column(sa.String(64))
    owner: Mapped[str | None] = mapped_column(sa.String(255))
    due_on: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.String(16))
    completed_on: Mapped[date | None] = mapped_column(sa.Date)


class CycleLease(Base):
    """Who runs the cycle now: one row per lease name, taken by a conditional UPDATE."""

    __tablename__ = "success_leases"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(sa.String(128))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CycleRun(Base):
    """One cycle: when it ran, for which day, and what it did."""

    __tablename__ = "success_cycle_runs"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    as_of: Mapped[date] = mapped_column(sa.Date)
    holder: Mapped[str] = mapped_column(sa.String(128))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)


class SuccessPlan(Base):
    """A joint success plan: what we and the customer do by when, toward their goals."""

    __tablename__ = "success_plans"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(sa.String(255), _account_fk(), index=True)
    template: Mapped[str] = mapped_column(sa.String(128))
    title: Mapped[str] = mapped_column(sa.String(255))
    status: Mapped[str] = mapped_column(sa.String(16))
    created_on: Mapped[date] = mapped_column(sa.Date)
    active_key: Mapped[str | None] = mapped_column(sa.String(255), unique=True)


class PlanObjective(Base):
    """An objective in the customer's own measure: metric from baseline to target by a date."""

    __tablename__ = "success_plan_objectives"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("success_plans.id", ondelete="CASCADE"), index=True
    )
    metric: Mapped[str] = mapped_column(sa.String(255))
    unit: Mapped[str | None] = mapped_column(sa.String(32))
    baseline: Mapped[float] = mapped_column(sa.Float)
    target: Mapped[float] = mapped_column(sa.Float)
    current: Mapped[float | None] = mapped_column(sa.Float)
    due_on: Mapped[date] = mapped_column(sa.Date)


class PlanMilestone(Base):
    """A milestone of a plan, owned by our side or the customer's."""

    __tablename__ = "success_plan_milestones"
    __table_args__ = (sa.UniqueConstraint("plan_id", "position"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("success_plans.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(sa.Integer)
    title: Mapped[str] = mapped_column(sa.String(255))
    side: Mapped[str] = mapped_column(sa.String(16))
    owner: Mapped[str | None] = mapped_column(sa.String(255))
    due_on: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.String(16))
    completed_on: Mapped[date | None] = mapped_column(sa.Date)


class PlanCheckin(Base):
    """A (monthly) progress meeting on a plan, with the progress measured then."""

    __tablename__ = "success_plan_checkins"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("success_plans.id", ondelete="CASCADE"), index=True
    )
    held_on: Mapped[date] = mapped_column(sa.Date)
    progress: Mapped[float] = mapped_column(sa.Float)
    notes: Mapped[str | None] = mapped_column(sa.Text)


class ReferenceProfile(Base):
    """Whether an account is referenceable, and its own fatigue limit if any."""

    __tablename__ = "success_reference_profiles"

    account_id: Mapped[str] = mapped_column(sa.String(255), _account_fk(), primary_key=True)
    referenceable: Mapped[bool] = mapped_column(sa.Boolean)
    since: Mapped[date | None] = mapped_column(sa.Date)
    max_uses: Mapped[int | None] = mapped_column(sa.Integer)
    notes: Mapped[str | None] = mapped_column(sa.Text)


class ReferenceRequest(Base):
    """A request to use a customer as a reference (a sales call, a case study…)."""

    __tablename__ = "success_reference_requests"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(sa.String(255), _account_fk(), index=True)
    requested_by: Mapped[str | None] = mapped_column(sa.String(255))
    purpose: Mapped[str] = mapped_column(sa.String(255))
    requested_on: Mapped[date] = mapped_column(sa.Date)
    #: requested, given or declined
    status: Mapped[str] = mapped_column(sa.String(16))
    #: the day it was given or declined
    answered_on: Mapped[date | None] = mapped_column(sa.Date)


class ReferenceUse(Base):
    """One use of a customer as a reference; counted against the fatigue limit."""

    __tablename__ = "success_reference_uses"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(sa.String(255), _account_fk(), index=True)
    request_id: Mapped[int | None] = mapped_column(
        sa.Integer, sa.ForeignKey("success_reference_requests.id", ondelete="SET NULL")
    )
    used_on: Mapped[date] = mapped_column(sa.Date)
    kind: Mapped[str] = mapped_column(sa.String(64))


class RenewalCall(Base):
    """A CSM's call on an account's next renewal (commit, likely, at risk) and why;
    the latest per account counts, the earlier ones are its history."""

    __tablename__ = "success_renewal_calls"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(sa.String(255), _account_fk(), index=True)
    renewal_on: Mapped[date | None] = mapped_column(sa.Date)
    call: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str] = mapped_column(sa.Text)
    made_by: Mapped[str] = mapped_column(sa.String(320))
    made_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FeatureRequest(Base):
    """A feature customers ask for: a title, a status (``open``, ``planned``,
    ``shipped``, ``declined``; :class:`keepwell.success.feature_requests.RequestStatus`)
    and the asks behind it (:class:`FeatureAsk`). A request merged into another keeps
    its row with ``merged_into`` set; its asks moved to the other. ``version`` grows with
    every change (the outbound webhook's delivery key)."""

    __tablename__ = "feature_requests"

    request_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    title_key: Mapped[str] = mapped_column(sa.String(200), index=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    merged_into: Mapped[int | None] = mapped_column(
        sa.Integer, sa.ForeignKey("feature_requests.request_id", ondelete="SET NULL")
    )
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FeatureAsk(Base):
    """One customer asking for a feature: the account, the contact who asked, their words
    (``quote``), the account's ARR when they asked (base currency per year), when and
    who recorded it. ``activity_id`` is the timeline activity it was taken from, if any
    (unique: an imported request is taken once)."""

    __tablename__ = "feature_asks"

    ask_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        sa.Integer,
        sa.ForeignKey("feature_requests.request_id", ondelete="CASCADE"),
        index=True,
    )
    account_id: Mapped[str] = mapped_column(sa.String(255), _account_fk(), index=True)
    contact_id: Mapped[str | None] = mapped_column(sa.String(255))
    quote: Mapped[str] = mapped_column(sa.Text, default="")
    arr: Mapped[Decimal | None] = mapped_column(Money)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    author: Mapped[str | None] = mapped_column(sa.String(320))
    activity_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
