"""Renewals and ARR at risk as the portfolio pages show them: renewal lines named from
the directory and grouped by month with the ARR of each health band. Pure."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from keepwell.portfolio.directory import Directory


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


#: The CSM's renewal calls, in the order the roll-up lists them.
CALLS = ("commit", "likely", "at_risk", "no call")


def with_calls(rows: list[dict[str, Any]], calls: dict[str, dict[str, Any]]) -> None:
    """Set each renewal line's ``csm_call`` (the latest call on its account, None
    without one) and ``call_reason``."""
    for row in rows:
        call = calls.get(row["account_id"])
        row["csm_call"] = call["call"] if call else None
        row["call_reason"] = call["reason"] if call else None


def call_rollup(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ARR up for renewal by the CSM's call (commit, likely, at risk, no call) beside
    the model's expected renewed ARR of the same lines (None where no line has one)."""
    result = []
    for call in CALLS:
        items = [r for r in rows if (r.get("csm_call") or "no call") == call]
        expected = [r["expected_arr"] for r in items if r.get("expected_arr") is not None]
        result.append({
            "call": call, "lines": len(items),
            "accounts": len({r["account_id"] for r in items}),
            "arr": sum((r["arr"] for r in items), Decimal(0)),
            "model_expected_arr": sum(expected, Decimal(0)) if expected else None,
            "model_lines": len(expected),
        })  # fmt: skip
    return result
