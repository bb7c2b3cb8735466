"""Use cases of Stripe webhooks: apply a verified event to subscription lines and invoices.

Idempotent: an event id already applied changes nothing. Out-of-order safe: each Stripe
object remembers the ``created`` time of the newest event applied to it and older
events are skipped (Stripe sends the object's full state, so the newest wins). An
event whose account cannot be found is refused (not recorded), so Stripe retries it
once the customer's ``metadata.account_id`` is known.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.auth.service import record_audit
from keepwell.contract.service import load_rows, subscription_lines
from keepwell.core.database import transaction
from keepwell.core.errors import InputError
from keepwell.core.workspace import Workspace
from keepwell.ingest import stripe_map
from keepwell.ingest.models import StripeCustomer, StripeEvent, StripeObject

SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    }
)
INVOICE_EVENTS = frozenset(
    {
        "invoice.paid",
        "invoice.payment_failed",
        "invoice.finalized",
        "invoice.voided",
        "invoice.marked_uncollectible",
    }
)
CUSTOMER_EVENTS = frozenset({"customer.created", "customer.updated"})


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"
    IGNORED = "ignored"


def apply_stripe_event(
    workspace: Workspace,
    event: dict[str, Any],
    *,
    now: datetime,
    rule: stripe_map.AccountRule | None = None,
) -> Outcome:
    """Apply one signature-verified Stripe event (a dict of its JSON); ``rule`` maps
    Stripe objects to accounts (default: ``metadata.account_id``)."""
    event_id, kind, created = str(event["id"]), str(event["type"]), int(event["created"])
    obj: dict[str, Any] = event["data"]["object"]
    with Session(workspace.engine) as session:
        if session.get(StripeEvent, event_id) is not None:
            return Outcome.DUPLICATE
        newest = session.get(StripeObject, str(obj.get("id")))
    handled = kind in SUBSCRIPTION_EVENTS | INVOICE_EVENTS | CUSTOMER_EVENTS
    if not handled:
        outcome = Outcome.IGNORED
    elif newest is not None and newest.event_created > created:
        outcome = Outcome.STALE
    else:
        _apply(workspace, kind, obj, stripe_map.day_of(created) or now.date(), rule)
        outcome = Outcome.APPLIED
    with transaction(workspace.engine) as session:
        if session.get(StripeEvent, event_id) is not None:
            return Outcome.DUPLICATE
        session.add(StripeEvent(event_id=event_id, type=kind, created=created, outcome=outcome))
        if outcome is Outcome.APPLIED:
            session.merge(StripeObject(object_id=str(obj["id"]), event_id=event_id,
                                       event_created=created))  # fmt: skip
        record_audit(
            session, actor="stripe", action=f"stripe.{kind}", target=str(obj.get("id")),
            now=now, details={"event_id": event_id, "outcome": outcome.value},
        )  # fmt: skip
    return outcome


def _apply(
    workspace: Workspace,
    kind: str,
    obj: dict[str, Any],
    event_day: date,
    rule: stripe_map.AccountRule | None,
) -> None:
    if kind in CUSTOMER_EVENTS:
        _remember_customer(workspace, obj, rule)
        return
    account_id = _account(workspace, obj, rule)
    if kind in INVOICE_EVENTS:
        rows = [stripe_map.invoice_row(obj, account_id, kind)]
        _load(workspace, "invoices", rows)
        return
    deleted = kind == "customer.subscription.deleted"
    _load(
        workspace,
        "subscriptions",
        _subscription_rows(workspace, obj, account_id, deleted, event_day),
    )


def _remember_customer(
    workspace: Workspace, customer: dict[str, Any], rule: stripe_map.AccountRule | None
) -> None:
    account_id = stripe_map.account_hint(customer, rule)
    if account_id is None:
        return
    with transaction(workspace.engine) as session:
        session.merge(StripeCustomer(customer_id=str(customer["id"]), account_id=account_id))


def _account(workspace: Workspace, obj: dict[str, Any], rule: stripe_map.AccountRule | None) -> str:
    """The account of a Stripe object: its metadata, else the customer's known account."""
    hinted = stripe_map.account_hint(obj, rule)
    customer = stripe_map.customer_of(obj)
    with transaction(workspace.engine) as session:
        if hinted is not None:
            if customer is not None:
                session.merge(StripeCustomer(customer_id=customer, account_id=hinted))
            return hinted
        known = session.execute(
            sa.select(StripeCustomer.account_id).where(StripeCustomer.customer_id == customer)
        ).scalar_one_or_none()
    if known is None:
        raise InputError(
            f"no account for Stripe {obj.get('object', 'object')} {obj.get('id')!r} "
            f"(customer {customer!r})",
            hint="set metadata.account_id on the Stripe customer or subscription",
        )
    return known


def _subscription_rows(
    workspace: Workspace, sub: dict[str, Any], account_id: str, deleted: bool, event_day: date
) -> list[dict[str, Any]]:
    existing = {r["line_id"]: r for r in subscription_lines(workspace, f"{sub['id']}/")}
    current = stripe_map.current_lines(sub, account_id, deleted=deleted, event_day=event_day)
    first = stripe_map.subscription_first_day(sub, event_day)
    rows = []
    for line_id, line in current.items():
        old = existing.get(line_id)
        starts = old["starts_on"] if old else (first if not existing else event_day)
        if line["ends_on"] is None or line["ends_on"] > starts:
            rows.append({**line, "starts_on": starts})
    for line_id, old in existing.items():
        if line_id in current:
            continue
        if (old["ends_on"] is None or old["ends_on"] > event_day) and event_day > old["starts_on"]:
            rows.append({**old, "ends_on": event_day})
    return rows


def _load(workspace: Workspace, entity: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    report = load_rows(workspace, entity, [_cells(r) for r in rows])
    if report.rejected:
        reasons = "; ".join(f"{r.reason}" for r in report.examples[:5])
        raise InputError(f"Stripe data for {entity} does not fit the data contract: {reasons}")


def _cells(row: dict[str, Any]) -> dict[str, Any]:
    """Contract cells as text (dates ISO, booleans true/false, None empty)."""
    cells: dict[str, Any] = {}
    for key, value in row.items():
        if value is None:
            cells[key] = ""
        elif isinstance(value, bool):
            cells[key] = "true" if value else "false"
        elif isinstance(value, date):
            cells[key] = value.isoformat()
        else:
            cells[key] = str(value)
    return cells
