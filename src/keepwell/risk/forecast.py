"""Renewal forecast: expected renewed ARR of the lines coming up for renewal, in buckets,
and the same forecast made in the past set against what happened. Pure.

Expected renewed ARR = Σ (1 − p) × ARR over the lines, where p is the account's churn
probability (churn or contraction > 20 % within the model's horizon). Buckets by p:

- *commit*: p < :data:`COMMIT_BELOW` (0.10)
- *likely*: :data:`COMMIT_BELOW` <= p < :data:`AT_RISK_FROM` (0.30)
- *at risk*: p >= :data:`AT_RISK_FROM`
- *unscored*: the account has no prediction (not a customer on the forecast day).

Month-to-month customers (no active line with an end date on the day) have no renewal
to forecast: they renew every month until they cancel. Their part of the forecast is
the ARR they hold and the ARR expected to stay, Σ (1 − p) × ARR, in the same buckets,
where p covers the model's horizon (180 days by default), not the renewal window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

COMMIT_BELOW = 0.10
AT_RISK_FROM = 0.30
BUCKETS = ("commit", "likely", "at risk", "unscored")


def learned_outcomes_until(card: Mapping[str, Any]) -> date:
    """The last day whose events the model (trees and calibrator) learned from: the
    last calibration snapshot + the horizon. The held-out test rows taught it nothing,
    so a past forecast made on or after this day is checked out of sample."""
    last = date.fromisoformat(card["split"]["calibration"][-1])
    return last + timedelta(days=int(card["horizon_days"]))


def bucket(p: float | None) -> str:
    """The forecast bucket of a churn probability (see the module docstring)."""
    if p is None:
        return "unscored"
    if p < COMMIT_BELOW:
        return "commit"
    return "likely" if p < AT_RISK_FROM else "at risk"


def expected_renewed(arr: Decimal, p: float) -> Decimal:
    """Expected renewed ARR of ``arr`` up for renewal at churn probability ``p``:
    (1 − p) × ARR, exact (``p`` taken at its shortest decimal form)."""
    return arr * (1 - Decimal(str(p)))


def expected_renewals(rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Σ (1 − p) × ARR over the renewal ``rows`` (``arr`` in Decimal) that carry a
    ``churn_probability``; adds ``expected_arr`` to those rows. The count of such lines,
    of all lines, and the sum; None when no line has a probability."""
    known = [r for r in rows if r.get("churn_probability") is not None]
    if not known:
        return None
    for row in known:
        row["expected_arr"] = expected_renewed(row["arr"], row["churn_probability"])
    expected = sum((r["expected_arr"] for r in known), Decimal(0))
    return {"lines": len(known), "of": len(rows), "expected_arr": expected}


def _money(value: Any) -> float:
    return float(value) if isinstance(value, Decimal | int | float) else 0.0


def _exact(value: float) -> Decimal:
    return Decimal(repr(value))


def forecast_lines(
    lines: Sequence[Mapping[str, Any]], probability: Mapping[str, float]
) -> list[dict[str, Any]]:
    """Each line (``account_id``, ``arr``, ...) with its ``churn_probability``,
    ``expected_arr`` = (1 − p) × ARR (0 when unscored) and ``bucket``."""
    result = []
    for line in lines:
        p = probability.get(str(line["account_id"]))
        arr = _money(line["arr"])
        result.append(
            {
                **line,
                "arr": arr,
                "churn_probability": p,
                "expected_arr": 0.0 if p is None else float(expected_renewed(_exact(arr), p)),
                "bucket": bucket(p),
            }
        )
    return result


def bucket_totals(lines: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per bucket: lines, ARR up for renewal and expected renewed ARR; plus actual
    renewed ARR (gross, ``actual_arr``) when the lines carry it."""
    rows = []
    for name in BUCKETS:
        part = [ln for ln in lines if ln["bucket"] == name]
        row: dict[str, Any] = {
            "bucket": name,
            "lines": len(part),
            "arr": sum(ln["arr"] for ln in part),
            "expected_arr": sum(ln["expected_arr"] for ln in part),
        }
        if part and "actual_arr" in part[0]:
            row["actual_arr"] = sum(ln["actual_arr"] for ln in part)
            row["renewed_lines"] = sum(1 for ln in part if ln["outcome"] != "churned")
        rows.append(row)
    return rows


def with_outcomes(
    lines: Sequence[Mapping[str, Any]], probability: Mapping[str, float]
) -> list[dict[str, Any]]:
    """Past renewals (``expiring_mrr``, ``successor_mrr``, ``outcome``) forecast with
    ``probability`` and their actual renewed ARR = 12 × min(successor, expiring MRR)."""
    rows = []
    for line in lines:
        expiring = _money(line["expiring_mrr"])
        actual = 12 * min(_money(line["successor_mrr"]), expiring)
        rows.append({**line, "arr": 12 * expiring, "actual_arr": actual})
    return forecast_lines(rows, probability)


def month_to_month(
    accounts: Mapping[str, Mapping[str, Any]], probability: Mapping[str, float]
) -> list[dict[str, Any]]:
    """Per bucket, the customers of ``accounts`` (account -> ``arr`` and, when one of its
    active lines ends, ``next_renewal``) without a renewal date: accounts, ARR and
    expected ARR kept = Σ (1 − p) × ARR (0 when unscored)."""
    rows = [
        {"account_id": account, "arr": row["arr"]}
        for account, row in sorted(accounts.items())
        if row.get("next_renewal") is None and _money(row["arr"]) > 0
    ]
    totals = bucket_totals(forecast_lines(rows, probability))
    return [
        {
            "bucket": r["bucket"],
            "accounts": r["lines"],
            "arr": r["arr"],
            "expected_arr": r["expected_arr"],
        }
        for r in totals
    ]
