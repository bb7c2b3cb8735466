"""Plain factories of revenue inputs (Arrow tables in the contract layout)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa

from keepwell.revenue.service import Book, book_from_arrow

MONEY = pa.decimal128(18, 6)


def line(
    line_id: str,
    account_id: str,
    mrr: str | int,
    starts_on: date,
    ends_on: date | None = None,
    *,
    product: str = "core",
    currency: str | None = None,
    auto_renew: bool | None = None,
) -> dict[str, Any]:
    return {
        "line_id": line_id,
        "account_id": account_id,
        "product": product,
        "mrr": Decimal(str(mrr)),
        "currency": currency,
        "quantity": None,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "auto_renew": auto_renew,
    }


def make_book(
    lines: list[dict[str, Any]],
    *,
    accounts: list[dict[str, Any]] | None = None,
    fx: list[tuple[str, date, str]] | None = None,
    base_currency: str = "USD",
) -> Book:
    subs = pa.table(
        {
            "line_id": pa.array([r["line_id"] for r in lines], pa.string()),
            "account_id": pa.array([r["account_id"] for r in lines], pa.string()),
            "product": pa.array([r["product"] for r in lines], pa.string()),
            "mrr": pa.array([r["mrr"] for r in lines], MONEY),
            "currency": pa.array([r["currency"] for r in lines], pa.string()),
            "quantity": pa.array([r["quantity"] for r in lines], pa.int64()),
            "starts_on": pa.array([r["starts_on"] for r in lines], pa.date32()),
            "ends_on": pa.array([r["ends_on"] for r in lines], pa.date32()),
            "auto_renew": pa.array([r["auto_renew"] for r in lines], pa.bool_()),
        }
    )
    ids = sorted({r["account_id"] for r in lines})
    accounts = accounts or [{"account_id": a} for a in ids]
    acc = pa.table(
        {
            "account_id": pa.array([a["account_id"] for a in accounts], pa.string()),
            "name": pa.array([a.get("name", a["account_id"]) for a in accounts], pa.string()),
            "industry": pa.array([a.get("industry") for a in accounts], pa.string()),
            "category_budget": pa.array([a.get("category_budget") for a in accounts], MONEY),
        }
    )
    fx = fx or []
    rates = pa.table(
        {
            "currency": pa.array([f[0] for f in fx], pa.string()),
            "month": pa.array([f[1] for f in fx], pa.date32()),
            "rate": pa.array([Decimal(f[2]) for f in fx], pa.decimal128(18, 8)),
        }
    )
    return book_from_arrow(subs, acc, rates, base_currency)
