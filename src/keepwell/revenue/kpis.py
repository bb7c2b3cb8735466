"""Summary figures of a book of MRR: churn rates, NRR/GRR, quick ratio, ARPA, LTV, CAC
payback, share of wallet. Ratios are floats; ``None`` means undefined (a zero
denominator), never infinity or zero."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir

ZERO = Decimal(0)


def ratio(numerator: Decimal | int, denominator: Decimal | int) -> float | None:
    """numerator / denominator as a float; None when the denominator is 0."""
    if denominator == 0:
        return None
    return float(Decimal(numerator) / Decimal(denominator))


@dataclass(frozen=True)
class MonthlyRates:
    """Rates of one month M (fractions, e.g. 0.02 = 2 %)."""

    logo_churn_rate: float | None
    gross_mrr_churn_rate: float | None
    nrr: float | None
    grr: float | None


def monthly_rates(month: Mapping[str, Any]) -> MonthlyRates:
    """Rates of one row of :func:`keepwell.revenue.movements.monthly_movements`.

    logo churn = churned accounts / accounts with MRR at the end of M-1;
    gross MRR churn = |churn + contraction| / MRR(M-1);
    NRR = (MRR(M-1) + expansion + contraction + churn) / MRR(M-1);
    GRR = (MRR(M-1) + contraction + churn) / MRR(M-1).
    """
    parts = rate_parts(month)
    return MonthlyRates(**{name: ratio(*pair) for name, pair in parts.items()})


def rate_parts(month: Mapping[str, Any]) -> dict[str, tuple[Decimal | int, Decimal | int]]:
    """(numerator, denominator) of each rate of :class:`MonthlyRates` for one month of
    movements (the formulas of :func:`monthly_rates`; "why did it move" splits them by
    group, so both read them here). ``month`` may also be an Ibis table of such rows
    (one per account): the parts are then its column expressions, the same formulas
    computed in the engine."""
    start: Decimal = month["starting_mrr"]
    lost: Decimal = month["churn"] + month["contraction"]
    column_abs = getattr(lost, "abs", None)  # an Ibis column's; a Decimal has none
    return {
        "logo_churn_rate": (month["churn_accounts"], month["starting_accounts"]),
        "gross_mrr_churn_rate": (abs(lost) if column_abs is None else column_abs(), start),
        "nrr": (start + month["expansion"] + lost, start),
        "grr": (start + lost, start),
    }


def quick_ratio(months: Sequence[Mapping[str, Any]]) -> float | None:
    """(new + reactivation + expansion) / |contraction + churn| summed over ``months``;
    None when nothing was lost."""
    gained = sum((m["new"] + m["reactivation"] + m["expansion"] for m in months), ZERO)
    lost = sum((m["contraction"] + m["churn"] for m in months), ZERO)
    return ratio(gained, abs(lost))


def arpa(mrr: Decimal, accounts: int) -> Decimal | None:
    """Average revenue per account = MRR / accounts with MRR (base currency a month)."""
    return None if accounts == 0 else (mrr / accounts).quantize(Decimal("0.000001"))


def ltv(
    arpa_value: Decimal | None, gross_margin: float, churn_rates: Sequence[float | None]
) -> Decimal | None:
    """LTV = ARPA x gross margin / mean monthly logo churn rate (base currency).

    ``churn_rates`` are the six months before the current one; months without any
    paying account at their start (None) are left out of the mean. None when the mean
    is 0 or unknown.
    """
    known = [r for r in churn_rates if r is not None]
    if arpa_value is None or not known or sum(known) == 0:
        return None
    mean = sum(known) / len(known)
    return (arpa_value * Decimal(str(gross_margin)) / Decimal(str(mean))).quantize(Decimal("0.01"))


def cac_payback(
    cac: Decimal | None, new_mrr: Decimal, new_accounts: int, gross_margin: float
) -> float | None:
    """Months to earn back CAC = CAC / (ARPA of the new accounts x gross margin)."""
    if cac is None or new_accounts == 0 or new_mrr == 0 or gross_margin == 0:
        return None
    new_arpa = new_mrr / new_accounts
    return float(cac / (new_arpa * Decimal(str(gross_margin))))


def point_figures(
    lines: ir.Table,
    accounts: ir.Table,
    day: date | ir.DateValue,
    month: int | ir.IntegerValue,
) -> ir.Table:
    """One row of figures from each account's MRR on ``day``, at the end of month
    ``month`` (T) and at the end of month ``month - 12``, in one pass over the lines.

    mrr = Σ MRR on day; paying = accounts with MRR > 0 on day; over the accounts with
    MRR at T-12: ttm_base = Σ MRR_{T-12}, ttm_current = Σ MRR_T, ttm_floor =
    Σ min(MRR_T, MRR_{T-12}) (TTM NRR = current / base, GRR = floor / base);
    over accounts paying on day with a known, positive ``category_budget``:
    wallet_arr = Σ 12 x MRR, wallet_budget = Σ budget (share of wallet = arr / budget).
    ``day`` and ``month`` may be Ibis scalars (parameters of a template).
    """
    flags = lines.select(
        "account_id",
        "mrr",
        on_day=(lines.starts_on <= day) & (lines.ends_on.isnull() | (lines.ends_on > day)),
        now=_active_at(lines, month),
        before=_active_at(lines, month - 12),
    )
    f = flags.filter(flags.on_day | flags.now | flags.before)
    per = f.group_by("account_id").aggregate(
        day=_sum(f.mrr, f.on_day), now=_sum(f.mrr, f.now), before=_sum(f.mrr, f.before)
    )
    budgets = accounts.filter(accounts.category_budget.notnull() & (accounts.category_budget > 0))
    budgets = budgets.select(budget_id=budgets.account_id, budget=budgets.category_budget)
    j = per.left_join(budgets, per.account_id == budgets.budget_id)
    t = j.select(
        "day", "now", "before", "budget", kept=j.before > 0, wallet=(j.day > 0) & j.budget.notnull()
    )
    return t.aggregate(
        mrr=_sum(t.day),
        paying=t.count(where=t.day > 0),
        ttm_base=_sum(t.before, t.kept),
        ttm_current=_sum(t.now, t.kept),
        ttm_floor=_sum(ibis.least(t.now, t.before), t.kept),
        wallet_arr=_sum(t.day * 12, t.wallet),
        wallet_budget=_sum(t.budget, t.wallet),
    )


def _sum(value: ir.NumericColumn, where: ir.BooleanValue | None = None) -> ir.NumericScalar:
    return value.sum(where=where).fill_null(0)


def _active_at(lines: ir.Table, month: int | ir.IntegerValue) -> ir.BooleanValue:
    return (lines.start_m <= month) & (lines.end_m > month)
