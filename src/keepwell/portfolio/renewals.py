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


#: Lines a month of the renewals page lists (the most at stake first); the others are
#: counted and in the accounts list (a large book renews thousands of lines a month).
LISTED = 50


def _stake(row: dict[str, Any]) -> tuple[int, Decimal, Decimal]:
    """What a renewal line puts at stake: the ARR the model expects to lose when it
    scored the account, else the band (red, then yellow), then the ARR."""
    arr = row["arr"]
    expected = row.get("expected_arr")
    loss = arr - Decimal(str(expected)) if expected is not None else Decimal(0)
    return ({"red": 2, "yellow": 1}.get(row["band"], 0), loss, arr)


def at_stake_first(rows: list[dict[str, Any]], limit: int = LISTED) -> list[dict[str, Any]]:
    """The ``limit`` lines of ``rows`` most at stake (see :func:`_stake`), most first."""
    return sorted(rows, key=_stake, reverse=True)[:limit]


def by_month(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Renewal lines per month of their end: ARR, ARR of each health band (green,
    yellow, red, and ``unscored_arr``: no health score), accounts, and the expected
    renewed ARR of the lines with one (None without); ``listed``: the :data:`LISTED`
    lines most at stake (:func:`at_stake_first`)."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row["ends_on"].strftime("%Y-%m")].append(row)
    result = []
    for month, items in sorted(groups.items()):
        arr = sum((r["arr"] for r in items), Decimal(0))
        band = {
            b: sum((r["arr"] for r in items if r["band"] == b), Decimal(0))
            for b in ("green", "yellow", "red")
        }
        expected = [r["expected_arr"] for r in items if r.get("expected_arr") is not None]
        result.append(
            {
                "month": month,
                "rows": items,
                "listed": at_stake_first(items),
                "arr": arr,
                "green_arr": band["green"],
                "yellow_arr": band["yellow"],
                "red_arr": band["red"],
                "unscored_arr": arr - band["green"] - band["yellow"] - band["red"],
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


def month_to_month(d: Directory, scope: str | None) -> dict[str, Any]:
    """Customers (within ``scope``) paying on the day with no renewal date: no active
    line ends, so they renew every month until they cancel. Their count and ARR."""
    rows = [r for r in visible(d.rows, scope) if r["arr"] > 0 and r["next_renewal"] is None]
    return {"accounts": len(rows), "arr": sum((r["arr"] for r in rows), Decimal(0))}
