"""The contract's API schemas (response bodies), importable by every HTTP face: the
account detail is also part of the read model's Account 360 (portfolio's API)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel


class AccountRead(BaseModel):
    account_id: str
    name: str
    parent_account_id: str | None
    industry: str | None
    employees: int | None
    country: str | None
    owner: str | None
    created_at: date | None
    category_budget: Decimal | None  # exact, serialised as a string
    is_prospect: bool
    attributes: dict[str, Any]


class SubscriptionRead(BaseModel):
    line_id: str
    account_id: str
    product: str
    mrr: Decimal
    currency: str | None
    quantity: int | None
    starts_on: date
    ends_on: date | None
    auto_renew: bool | None
    attributes: dict[str, Any]


class ContactRead(BaseModel):
    contact_id: str
    account_id: str
    email: str | None
    name: str | None
    title: str | None
    role: str | None
    is_active: bool
    left_on: date | None
    attributes: dict[str, Any]


class InvoiceRead(BaseModel):
    invoice_id: str
    account_id: str
    amount: Decimal
    currency: str | None
    issued_on: date
    due_on: date
    paid_on: date | None
    status: str | None
    attributes: dict[str, Any]


class TicketRead(BaseModel):
    ticket_id: str
    account_id: str
    opened_at: datetime
    closed_at: datetime | None
    priority: str | None
    csat: int | None
    subject: str | None
    attributes: dict[str, Any]


class SurveyRead(BaseModel):
    response_id: str
    account_id: str
    contact_id: str | None
    responded_at: datetime
    kind: str
    score: int
    comment: str | None
    attributes: dict[str, Any]


class ActivityRead(BaseModel):
    activity_id: str
    account_id: str
    occurred_at: datetime
    kind: str
    author: str | None
    subject: str | None
    body: str | None
    tags: list[str] | None
    attributes: dict[str, Any]


class AccountDetailRead(AccountRead):
    """An account with (at most 200 of each) subscription lines, contacts, invoices,
    tickets and surveys (newest first) and its timeline (activities, newest first).
    ``attributes`` are the custom columns of the contract (free-form)."""

    subscriptions: list[SubscriptionRead]
    contacts: list[ContactRead]
    invoices: list[InvoiceRead]
    tickets: list[TicketRead]
    surveys: list[SurveyRead]
    timeline: list[ActivityRead]


class UsageRead(BaseModel):
    """Events of one name on one day: ``count`` summed over users, ``users`` distinct."""

    day: date
    event: str
    count: int
    users: int


class RejectRead(BaseModel):
    line: int
    reason: str


class AccountPage(BaseModel):
    items: list[AccountRead]
    total: int
    limit: int
    offset: int


class ImportRead(BaseModel):
    entity: str
    dry_run: bool
    read: int
    loaded: int
    new: int
    updated: int
    unchanged: int
    rejected: int
    exit_code: int
    rejects: list[RejectRead]
