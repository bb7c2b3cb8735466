"""Operational tables of the data-contract entities (events live in the analytics store).

Column names and meanings are those of the data contract; ``attributes`` keeps every
extra column of a source row, so nothing a customer sends is dropped.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from keepwell.core.database import Base, JSONData, Money, UTCDateTime

JSONDict = JSONData


def _account_fk() -> Any:
    return sa.ForeignKey("accounts.account_id", ondelete="CASCADE")


class Account(Base):
    __tablename__ = "accounts"

    account_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    name: Mapped[str] = mapped_column(sa.Text)
    parent_account_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    industry: Mapped[str | None] = mapped_column(sa.String(255))
    employees: Mapped[int | None] = mapped_column(sa.Integer)
    country: Mapped[str | None] = mapped_column(sa.String(2))
    owner: Mapped[str | None] = mapped_column(sa.String(320), index=True)
    created_at: Mapped[date | None] = mapped_column(sa.Date)
    category_budget: Mapped[Decimal | None] = mapped_column(Money)
    is_prospect: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONDict, default=dict)


class Contact(Base):
    __tablename__ = "contacts"

    contact_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.String(255), _account_fk(), index=True)
    email: Mapped[str | None] = mapped_column(sa.String(320))
    name: Mapped[str | None] = mapped_column(sa.Text)
    title: Mapped[str | None] = mapped_column(sa.Text)
    role: Mapped[str | None] = mapped_column(sa.String(16))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    left_on: Mapped[date | None] = mapped_column(sa.Date)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONDict, default=dict)


class Subscription(Base):
    __tablename__ = "subscriptions"

    line_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.String(255), _account_fk(), index=True)
    product: Mapped[str] = mapped_column(sa.String(255))
    mrr: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    quantity: Mapped[int | None] = mapped_column(sa.Integer)
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date | None] = mapped_column(sa.Date)
    auto_renew: Mapped[bool | None] = mapped_column(sa.Boolean)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONDict, default=dict)


class Invoice(Base):
    __tablename__ = "invoices"

    invoice_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.String(255), _account_fk(), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    issued_on: Mapped[date] = mapped_column(sa.Date)
    due_on: Mapped[date] = mapped_column(sa.Date)
    paid_on: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[str | None] = mapped_column(sa.String(16))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONDict, default=dict)


class Ticket(Base):
    __tablename__ = "tickets"

    ticket_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.String(255), _account_fk(), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    priority: Mapped[str | None] = mapped_column(sa.String(16))
    csat: Mapped[int | None] = mapped_column(sa.Integer)
    subject: Mapped[str | None] = mapped_column(sa.Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONDict, default=dict)


class Survey(Base):
    __tablename__ = "surveys"

    response_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.String(255), _account_fk(), index=True)
    contact_id: Mapped[str | None] = mapped_column(sa.String(255))
    responded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(sa.String(8))
    score: Mapped[int] = mapped_column(sa.Integer)
    comment: Mapped[str | None] = mapped_column(sa.Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONDict, default=dict)


class Activity(Base):
    __tablename__ = "activities"

    activity_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.String(255), _account_fk(), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(sa.String(32))
    author: Mapped[str | None] = mapped_column(sa.String(320))
    subject: Mapped[str | None] = mapped_column(sa.Text)
    body: Mapped[str | None] = mapped_column(sa.Text)
    tags: Mapped[list[str]] = mapped_column(JSONDict, default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONDict, default=dict)
