"""The data contract (shared/data-contract.md) as data: entities, their columns and keys.

Everything that reads or writes contract rows (import, API, demo generator, tests)
derives its rules from these definitions, so the contract is stated once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from keepwell.core.errors import InputError


class Kind(StrEnum):
    """The value kinds of contract columns."""

    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    TIMESTAMP = "timestamp"
    BOOLEAN = "boolean"
    ENUM = "enum"
    EMAIL = "email"
    COUNTRY = "country"
    CURRENCY = "currency"
    JSON_OBJECT = "json object"
    TAGS = "list of strings"


class Store(StrEnum):
    OPERATIONAL = "operational"
    ANALYTICS = "analytics"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = False
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    choices: tuple[str, ...] = ()
    #: the value of an empty cell (None unless the contract states a default)
    default: Any = None
    #: the most characters a text value may have (the operational store's column width)
    max_length: int | None = None


@dataclass(frozen=True)
class Entity:
    """One entity of the contract: its columns, its key and where it is stored."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    store: Store = Store.OPERATIONAL
    references_account: bool = True
    by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.columns})

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


ZERO = Decimal(0)


#: Identifiers and short texts: the width of their column in the operational store.
ID_LENGTH = 255
EMAIL_LENGTH = 320


def _id(name: str, required: bool = True, max_length: int | None = ID_LENGTH) -> Column:
    return Column(name, Kind.STRING, required=required, max_length=max_length)


def _enum(name: str, *choices: str, required: bool = False) -> Column:
    return Column(name, Kind.ENUM, required=required, choices=choices)


ACCOUNTS = Entity(
    "accounts",
    key=("account_id",),
    references_account=False,
    columns=(
        _id("account_id"),
        Column("name", Kind.STRING, required=True),
        _id("parent_account_id", required=False),
        Column("industry", Kind.STRING, max_length=ID_LENGTH),
        Column("employees", Kind.INTEGER, minimum=ZERO),
        Column("country", Kind.COUNTRY),
        Column("owner", Kind.EMAIL, max_length=EMAIL_LENGTH),
        Column("created_at", Kind.DATE),
        Column("category_budget", Kind.DECIMAL, minimum=ZERO),
        Column("is_prospect", Kind.BOOLEAN, default=False),
    ),
)
CONTACTS = Entity(
    "contacts",
    key=("contact_id",),
    columns=(
        _id("contact_id"),
        _id("account_id"),
        Column("email", Kind.EMAIL, max_length=EMAIL_LENGTH),
        Column("name", Kind.STRING),
        Column("title", Kind.STRING),
        _enum("role", "sponsor", "champion", "admin", "user", "billing"),
        Column("is_active", Kind.BOOLEAN, default=True),
        Column("left_on", Kind.DATE),
    ),
)
SUBSCRIPTIONS = Entity(
    "subscriptions",
    key=("line_id",),
    columns=(
        _id("line_id"),
        _id("account_id"),
        Column("product", Kind.STRING, required=True, max_length=ID_LENGTH),
        Column("mrr", Kind.DECIMAL, required=True, minimum=ZERO),
        Column("currency", Kind.CURRENCY),
        Column("quantity", Kind.INTEGER, minimum=ZERO),
        Column("starts_on", Kind.DATE, required=True),
        Column("ends_on", Kind.DATE),
        Column("auto_renew", Kind.BOOLEAN),
    ),
)
INVOICES = Entity(
    "invoices",
    key=("invoice_id",),
    columns=(
        _id("invoice_id"),
        _id("account_id"),
        Column("amount", Kind.DECIMAL, required=True),
        Column("currency", Kind.CURRENCY),
        Column("issued_on", Kind.DATE, required=True),
        Column("due_on", Kind.DATE, required=True),
        Column("paid_on", Kind.DATE),
        _enum("status", "open", "paid", "void", "uncollectible"),
    ),
)
EVENTS = Entity(
    "events",
    store=Store.ANALYTICS,
    columns=(
        Column("timestamp", Kind.TIMESTAMP, required=True),
        _id("account_id", max_length=None),  # events live in the analytics store: no width
        _id("user_id", required=False, max_length=None),
        Column("event", Kind.STRING, required=True),
        Column("count", Kind.INTEGER, minimum=Decimal(1), default=1),
        _id("message_id", required=False, max_length=None),
        Column("properties", Kind.JSON_OBJECT),
    ),
)
TICKETS = Entity(
    "tickets",
    key=("ticket_id",),
    columns=(
        _id("ticket_id"),
        _id("account_id"),
        Column("opened_at", Kind.TIMESTAMP, required=True),
        Column("closed_at", Kind.TIMESTAMP),
        _enum("priority", "low", "normal", "high", "urgent"),
        Column("csat", Kind.INTEGER, minimum=Decimal(1), maximum=Decimal(5)),
        Column("subject", Kind.STRING),
    ),
)
SURVEYS = Entity(
    "surveys",
    key=("response_id",),
    columns=(
        _id("response_id"),
        _id("account_id"),
        _id("contact_id", required=False),
        Column("responded_at", Kind.TIMESTAMP, required=True),
        _enum("kind", "nps", "csat", required=True),
        Column("score", Kind.INTEGER, required=True, minimum=ZERO, maximum=Decimal(10)),
        Column("comment", Kind.STRING),
    ),
)
ACTIVITIES = Entity(
    "activities",
    key=("activity_id",),
    columns=(
        _id("activity_id"),
        _id("account_id"),
        Column("occurred_at", Kind.TIMESTAMP, required=True),
        _enum("kind", "meeting", "call", "email", "note", "business_review", required=True),
        Column("author", Kind.STRING, max_length=EMAIL_LENGTH),
        Column("subject", Kind.STRING),
        Column("body", Kind.STRING),
        Column("tags", Kind.TAGS),
    ),
)
#: An extension of the contract: monthly exchange rates into the base currency.
FX_RATES = Entity(
    "fx_rates",
    key=("currency", "month"),
    references_account=False,
    columns=(
        Column("currency", Kind.CURRENCY, required=True),
        Column("month", Kind.DATE, required=True),
        Column("rate", Kind.DECIMAL, required=True, minimum=ZERO),
    ),
)

ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        ACCOUNTS,
        CONTACTS,
        SUBSCRIPTIONS,
        INVOICES,
        EVENTS,
        TICKETS,
        SURVEYS,
        ACTIVITIES,
        FX_RATES,
    )
}

#: Column a rejects file adds to each row; ignored when the file is loaded again.
REJECT_REASON_COLUMN = "_rejected_reason"


def get_entity(name: str) -> Entity:
    """The entity called ``name``; :class:`InputError` listing the known ones otherwise."""
    try:
        return ENTITIES[name]
    except KeyError:
        raise InputError(
            f"unknown entity {name!r}", hint=f"known entities: {', '.join(ENTITIES)}"
        ) from None
