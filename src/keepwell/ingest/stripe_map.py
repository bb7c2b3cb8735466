"""Stripe objects as contract rows (pure logic): subscription lines and invoices.

A subscription item becomes a line keyed ``SUB/ITEM/PRICE/QUANTITY``, so a change of
price or quantity ends the old line and starts a new one, as the data contract wants.
Money: Stripe amounts are in the currency's minor unit (cents), except zero-decimal
currencies; MRR normalises the price's interval to a month (year / 12, week * 52 / 12,
day * 365 / 12, divided by ``interval_count``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from keepwell.core.errors import ConfigurationError

ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)
_MONTHS_PER_INTERVAL = {
    "month": Decimal(1),
    "year": Decimal(12),
    "week": Decimal(12) / Decimal(52),
    "day": Decimal(12) / Decimal(365),
}
#: Statuses of a subscription that does not (yet) bring revenue.
NOT_REVENUE = frozenset({"incomplete", "incomplete_expired"})
INVOICE_STATUSES = frozenset({"open", "paid", "void", "uncollectible"})


def day_of(epoch: int | None) -> date | None:
    """The UTC calendar day of a Unix time in seconds."""
    return None if epoch is None else datetime.fromtimestamp(int(epoch), UTC).date()


def amount(minor_units: int | None, currency: str) -> Decimal:
    """A Stripe amount in major units of ``currency``."""
    value = Decimal(int(minor_units or 0))
    return value if currency.lower() in ZERO_DECIMAL else value / 100


def monthly(price: dict[str, Any], quantity: int) -> Decimal:
    """MRR of ``quantity`` units of a recurring ``price`` (major units per month)."""
    currency = str(price.get("currency") or "usd")
    unit = price.get("unit_amount")
    if unit is None and price.get("unit_amount_decimal") is not None:
        unit = Decimal(str(price["unit_amount_decimal"]))
    recurring = price.get("recurring") or {}
    months = _MONTHS_PER_INTERVAL.get(str(recurring.get("interval", "month")), Decimal(1))
    months *= int(recurring.get("interval_count") or 1)
    total = Decimal(str(unit or 0)) * quantity
    total = total if currency.lower() in ZERO_DECIMAL else total / 100
    return (total / months).quantize(Decimal("0.000001"))


def _price(item: dict[str, Any]) -> dict[str, Any]:
    price = item.get("price") or item.get("plan") or {}
    return price if isinstance(price, dict) else {}


def _product(price: dict[str, Any]) -> str:
    product = price.get("product")
    if isinstance(product, dict):
        return str(product.get("name") or product.get("id") or "stripe")
    return str(price.get("nickname") or product or price.get("id") or "stripe")


def subscription_end(sub: dict[str, Any], deleted: bool, event_day: date) -> date | None:
    """When the subscription's revenue stops: ended_at, else cancel_at; for a deletion
    at the latest the event's day."""
    end = day_of(sub.get("ended_at")) or day_of(sub.get("cancel_at"))
    if deleted:
        end = end or day_of(sub.get("canceled_at")) or event_day
    return end


def current_lines(
    sub: dict[str, Any], account_id: str, *, deleted: bool, event_day: date
) -> dict[str, dict[str, Any]]:
    """The lines the subscription has now, by line id, without ``starts_on`` (the caller
    knows whether a line is new)."""
    if sub.get("status") in NOT_REVENUE:
        return {}
    end = subscription_end(sub, deleted, event_day)
    items = (sub.get("items") or {}).get("data") or []
    lines = {}
    for item in items:
        price = _price(item)
        quantity = int(item.get("quantity") or 1)
        line_id = f"{sub['id']}/{item.get('id')}/{price.get('id')}/{quantity}"
        lines[line_id] = {
            "line_id": line_id,
            "account_id": account_id,
            "product": _product(price),
            "mrr": str(monthly(price, quantity)),
            "currency": str(price.get("currency") or "usd").upper(),
            "quantity": quantity,
            "ends_on": end,
            "auto_renew": not bool(sub.get("cancel_at_period_end")),
            "stripe_subscription": sub["id"],
            "stripe_customer": _id(sub.get("customer")),
        }
    return lines


def subscription_first_day(sub: dict[str, Any], event_day: date) -> date:
    """Where a subscription's first lines start: the end of its trial, else its start."""
    return day_of(sub.get("trial_end")) or day_of(sub.get("start_date")) or event_day


def _id(value: Any) -> str | None:
    if isinstance(value, dict):
        return str(value.get("id"))
    return None if value is None else str(value)


def invoice_row(invoice: dict[str, Any], account_id: str, event_type: str) -> dict[str, Any]:
    """An invoice row: amount is the invoice total; ``paid_on`` from the paid transition."""
    currency = str(invoice.get("currency") or "usd")
    transitions = invoice.get("status_transitions") or {}
    issued = day_of(transitions.get("finalized_at") or invoice.get("created"))
    status = invoice.get("status")
    if event_type == "invoice.paid":
        status = "paid"
    paid = day_of(transitions.get("paid_at")) if status == "paid" else None
    due = day_of(invoice.get("due_date")) or issued
    row = {
        "invoice_id": str(invoice["id"]),
        "account_id": account_id,
        "amount": str(amount(invoice.get("total", invoice.get("amount_due")), currency)),
        "currency": currency.upper(),
        "issued_on": issued,
        "due_on": max(due, issued) if due and issued else due,
        "paid_on": paid or (issued if status == "paid" else None),
        "status": status if status in INVOICE_STATUSES else "open",
        "stripe_customer": _id(invoice.get("customer")),
    }
    if event_type == "invoice.payment_failed":
        row["payment_failed"] = True
    return row


@dataclass(frozen=True)
class AccountRule:
    """How a Stripe object maps to an account: ``metadata:KEY`` (KEY of the metadata of
    the object, of its subscription details or of an expanded customer) or ``customer``
    (the Stripe customer id is the account id)."""

    source: str = "metadata"
    key: str = "account_id"

    @classmethod
    def parse(cls, text: str) -> AccountRule:
        if text == "customer":
            return cls("customer", "")
        kind, _, key = text.partition(":")
        if kind != "metadata" or not key:
            raise ConfigurationError(
                f"Stripe account rule {text!r} is not understood",
                hint="use metadata:KEY (e.g. metadata:account_id) or customer",
            )
        return cls("metadata", key)


def account_hint(obj: dict[str, Any], rule: AccountRule | None = None) -> str | None:
    """The account ``rule`` finds on ``obj`` (None when it finds none)."""
    rule = rule or AccountRule()
    if rule.source == "customer":
        return customer_of(obj)
    parent = obj.get("parent")
    customer = obj.get("customer")
    candidates = [
        obj.get("metadata"),
        (obj.get("subscription_details") or {}).get("metadata"),
        (parent.get("subscription_details") or {}).get("metadata")
        if isinstance(parent, dict)
        else None,
        customer.get("metadata") if isinstance(customer, dict) else None,
    ]
    for meta in candidates:
        if isinstance(meta, dict) and meta.get(rule.key):
            return str(meta[rule.key])
    return None


def customer_of(obj: dict[str, Any]) -> str | None:
    if obj.get("object") == "customer":
        return str(obj["id"])
    return _id(obj.get("customer"))
