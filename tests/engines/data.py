"""Deterministic fixtures for the engine parity tests (Arrow tables in the contract's
layout): a rollup of a few thousand rows and a book of subscription lines in two
currencies with new, expansion, contraction, churn and reactivation."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa

from tests.health.factories import ROLLUP_SCHEMA, SCHEMAS, arrow

START = date(2024, 1, 1)
AS_OF = date(2024, 6, 30)
EVENTS = ("login", "report_created", "dashboard_shared", "export", "sync")
ACCOUNTS = [f"acc-{i:02d}" for i in range(24)]
FX_SCHEMA = pa.schema(
    [("currency", pa.string()), ("month", pa.date32()), ("rate", pa.decimal128(18, 8))]
)
SUBSCRIPTIONS_SCHEMA = SCHEMAS["subscriptions"].append(pa.field("currency", pa.string()))


def rollup_rows(days: int = 200, seed: int = 7) -> pa.Table:
    """Rows ``(day, account_id, user_id, event, count)`` from START for ``days`` days:
    some accounts fade out, some users have no id (server-side events)."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for a, account in enumerate(ACCOUNTS):
        users = [f"{account}-u{u}" for u in range(1 + a % 5)] + [None]
        fade = days - (a % 4) * 40  # accounts 1, 2, 3 mod 4 stop earlier
        for offset in range(0, days, 1 + a % 3):
            if offset > fade:
                break
            for user in rng.sample(users, k=min(len(users), 2)):
                event = rng.choice(EVENTS)
                day = START + timedelta(days=offset)
                count = rng.randint(1, 9)
                rows.append(
                    {
                        "day": day,
                        "account_id": account,
                        "user_id": user,
                        "event": event,
                        "count": count,
                    }
                )
    return arrow(ROLLUP_SCHEMA, rows)


def subscription_rows(seed: int = 11) -> pa.Table:
    """Lines of every account: a first line, and by account number an upgrade, a
    downgrade, a churn, a churn then a comeback; every third account pays in EUR."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for a, account in enumerate(ACCOUNTS):
        currency = "EUR" if a % 3 == 0 else None
        start = date(2023, 1 + a % 12, 1 + a % 27)
        mrr = Decimal(rng.randint(100, 5000)) + Decimal(rng.randint(0, 99)) / 100
        kind = a % 5
        end = date(2024, 1 + a % 6, 15) if kind in (1, 2, 3, 4) else None
        rows.append(_line(f"{account}-1", account, mrr, start, end, currency))
        if kind == 1:  # expansion
            rows.append(_line(f"{account}-2", account, mrr * Decimal("1.337"), end, None, currency))
        elif kind == 2:  # contraction
            rows.append(_line(f"{account}-2", account, mrr / 3, end, None, currency, "lite"))
        elif kind == 4:  # churn, then reactivation three months later
            again = date(end.year + (end.month + 2) // 12, (end.month + 2) % 12 + 1, 3)
            rows.append(_line(f"{account}-2", account, mrr / 7, again, None, currency))
    return arrow(SUBSCRIPTIONS_SCHEMA, rows)


def _line(
    line_id: str,
    account: str,
    mrr: Decimal,
    start: date,
    end: date | None,
    currency: str | None,
    product: str = "core",
) -> dict[str, Any]:
    return {
        "line_id": line_id,
        "account_id": account,
        "product": product,
        "mrr": round(mrr, 6),
        "currency": currency,
        "quantity": 1,
        "starts_on": start,
        "ends_on": end,
        "auto_renew": end is None,
    }


def fx_rows() -> pa.Table:
    """EUR -> USD for every month of 2022-2024, moving by a fraction of a cent."""
    months = [date(y, m, 1) for y in (2022, 2023, 2024) for m in range(1, 13)]
    rates = [Decimal("1.08") + Decimal(i * 37 % 100) / 10_000 for i in range(len(months))]
    return pa.table(
        {"currency": ["EUR"] * len(months), "month": months, "rate": rates}, schema=FX_SCHEMA
    )


def account_rows() -> pa.Table:
    """Accounts (customers) with an industry to group by and a category budget."""
    rows = [
        {
            "account_id": a,
            "name": a.upper(),
            "created_at": date(2022, 12, 1),
            "category_budget": 100_000 + i * 1_000,
            "is_prospect": False,
            "industry": ("retail", "health", None)[i % 3],
        }
        for i, a in enumerate(ACCOUNTS)
    ]
    return arrow(SCHEMAS["accounts"], rows)


def _ts(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def entity_rows(seed: int = 5) -> dict[str, pa.Table]:
    """Contacts, invoices, tickets, surveys and activities of every account over the
    first half of 2024 (the operational inputs of the health measures)."""
    rng = random.Random(seed)
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in ENTITY_NAMES}
    for a, account in enumerate(ACCOUNTS):
        for c, role in enumerate(("sponsor", "champion", "user")):
            left = date(2024, 1 + (a + c) % 6, 10) if (a + c) % 4 == 0 else None
            rows["contacts"].append(
                {
                    "contact_id": f"{account}-c{c}",
                    "account_id": account,
                    "role": role,
                    "is_active": left is None,
                    "left_on": left,
                }
            )
        for i in range(6):
            issued = date(2024, 1 + i, 1)
            paid = (
                issued + timedelta(days=rng.choice((5, 20, 45, 90))) if rng.random() < 0.9 else None
            )
            rows["invoices"].append(
                {
                    "invoice_id": f"{account}-i{i}",
                    "account_id": account,
                    "amount": 100 + a,
                    "issued_on": issued,
                    "due_on": issued + timedelta(days=30),
                    "paid_on": paid,
                    "status": "void" if (a + i) % 11 == 0 else "paid" if paid else "open",
                }
            )
            day = START + timedelta(days=rng.randint(0, 180))
            closed = (
                _ts(day + timedelta(days=rng.randint(0, 20)), 9) if rng.random() < 0.7 else None
            )
            rows["tickets"].append(
                {
                    "ticket_id": f"{account}-t{i}",
                    "account_id": account,
                    "opened_at": _ts(day, 8),
                    "closed_at": closed,
                    "priority": rng.choice(("low", "high", "urgent")),
                    "csat": rng.randint(1, 5) if closed else None,
                }
            )
            rows["surveys"].append(
                {
                    "response_id": f"{account}-s{i}",
                    "account_id": account,
                    "contact_id": f"{account}-c{i % 3}" if i % 4 else None,
                    "responded_at": _ts(day, 15),
                    "kind": "nps",
                    "score": rng.randint(0, 10),
                }
            )
            rows["activities"].append(
                {
                    "activity_id": f"{account}-a{i}",
                    "account_id": account,
                    "occurred_at": _ts(day, 11),
                    "kind": rng.choice(("meeting", "business_review", "call")),
                }
            )
    return {name: arrow(SCHEMAS[name], r) for name, r in rows.items()}


ENTITY_NAMES = ("contacts", "invoices", "tickets", "surveys", "activities")
