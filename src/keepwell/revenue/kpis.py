"""Summary figures of a book of MRR: churn rates, NRR/GRR, quick ratio, ARPA, LTV, CAC
payback, share of wallet. Ratios are floats; ``None`` means undefined (a zero
denominator), never infinity or zero."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir

from keepwell.revenue.ledger import MONEY, mrr_at

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
    start: Decimal = month["starting_mrr"]
    lost: Decimal = month["churn"] + month["contraction"]
    return MonthlyRates(
        logo_churn_rate=ratio(month["churn_accounts"], month["starting_accounts"]),
        gross_mrr_churn_rate=ratio(abs(lost), start),
        nrr=ratio(start + month["expansion"] + lost, start),
        grr=ratio(start + lost, start),
    )


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


def ttm_retention(lines: ir.Table, month: int) -> ir.Table:
    """One row: base, current and floor MRR of the accounts with MRR at the end of
    month ``month - 12``: NRR = current / base, GRR = floor / base, where
    current = sum of MRR_T and floor = sum of min(MRR_T, MRR_{T-12})."""
    before = mrr_at(lines, month - 12).rename(before="mrr")
    after = mrr_at(lines, month).rename(after="mrr", after_id="account_id")
    joined = before.left_join(after, before.account_id == after.after_id)
    now = joined.after.fill_null(0).cast(MONEY)
    floor = ibis.least(now, joined.before).cast(MONEY)
    return joined.aggregate(
        base=joined.before.sum().cast(MONEY),
        current=now.sum().cast(MONEY),
        floor=floor.sum().cast(MONEY),
    )


def share_of_wallet(mrr: ir.Table, accounts: ir.Table) -> ir.Table:
    """One row: ARR and category budget summed over paying accounts with a known
    budget; share of wallet = arr / budget."""
    budgets = accounts.filter(accounts.category_budget.notnull() & (accounts.category_budget > 0))
    budgets = budgets.select(budget_id=budgets.account_id, budget=budgets.category_budget)
    joined = mrr.join(budgets, mrr.account_id == budgets.budget_id)
    return joined.aggregate(
        arr=(joined.mrr * 12).sum().cast(MONEY), budget=joined.budget.sum().cast(MONEY)
    )
