"""Renewals and ARR at risk as the portfolio pages show them: renewal lines named from
the directory and grouped by month with the ARR of each health band. Pure."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from keepwell.portfolio.directory import Directory, visible


def named(rows: list[dict[str, Any]], d: Directory) -> list[dict[str, Any]]:
    """``rows`` (with ``account_id``) with the account's name, band, owner, score and
    churn probability from the directory ``d``."""
    for row in rows:
        found = d.by_id.get(row["account_id"], {})
        row.update(
            churn_probability=found.get("churn_probability"),
            name=found.get("name", row["account_id"]),
            band=found.get("band", "unknown"),
            owner=found.get("owner"),
            score=found.get("score"),
        )
    return rows


def arr_at_risk(rows: list[dict[str, Any]]) -> tuple[Decimal, bool]:
    """ARR at risk of the customers ``rows`` and whether it is the churn model's: the
    sum of the model's ARR at risk when it scored any of them, else the ARR of the red
    band (annual, base currency)."""
    modelled = [r for r in rows if r["arr_at_risk"] is not None]
    if modelled:
        return sum((Decimal(str(r["arr_at_risk"])) for r in modelled), Decimal(0)), True
    return sum((r["arr"] for r in rows if r["band"] == "red"), Decimal(0)), False


def by_month(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Renewal lines per month of their end: ARR, ARR of the red and yellow bands,
    accounts, and the expected renewed ARR of the lines with one (None without)."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row["ends_on"].strftime("%Y-%m")].append(row)
    result = []
    for month, items in sorted(groups.items()):
        arr = sum((r["arr"] for r in items), Decimal(0))
        risky = sum((r["arr"] for r in items if r["band"] == "red"), Decimal(0))
        watch = sum((r["arr"] for r in items if r["band"] == "yellow"), Decimal(0))
        expected = [r["expected_arr"] for r in items if r.get("expected_arr") is not None]
        result.append(
            {
                "month": month,
                "rows": items,
                "arr": arr,
                "red_arr": risky,
                "yellow_arr": watch,
                "accounts": len({r["account_id"] for r in items}),
                "forecast": sum(expected, Decimal(0)) if expected else None,
            }
        )
    return result


def month_to_month(d: Directory, scope: str | None) -> dict[str, Any]:
    """Customers (within ``scope``) paying on the day with no renewal date: no active
    line ends, so they renew every month until they cancel. Their count and ARR."""
    rows = [r for r in visible(d.rows, scope) if r["arr"] > 0 and r["next_renewal"] is None]
    return {"accounts": len(rows), "arr": sum((r["arr"] for r in rows), Decimal(0))}
