"""Cohort retention: accounts grouped by the month of their first MRR, followed by age.

At age k months: logo retention = accounts of the cohort with MRR at the end of month
cohort + k / accounts of the cohort; revenue retention = their MRR at age k / the
cohort's MRR at age 0 (expansion and reactivation included).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from keepwell.revenue.ledger import MONEY, dense_ledger

#: A cohort of fewer accounts is flagged as small wherever its rates are shown: one
#: account moves its logo retention by more than 5 points.
SMALL_COHORT = 20


def is_small(cohort_accounts: int | None) -> bool:
    """Whether a cohort of ``cohort_accounts`` accounts is too small to read alone."""
    return cohort_accounts is not None and cohort_accounts < SMALL_COHORT


def cohort_table(
    lines: ir.Table, first: int, last: int, groups: ir.Table | None = None
) -> ir.Table:
    """Cohort x age for months ``first..last`` (month indexes; ``first`` must be on or
    before the first MRR of every line). ``groups`` (account_id, group) splits cohorts
    by an attribute. Columns: group, cohort (month index), age, cohort_accounts,
    accounts, logo_retention, cohort_mrr, mrr, revenue_retention."""
    dense = dense_ledger(lines, first, last)
    starts = dense.group_by("account_id").aggregate(cohort=dense.m.min())
    joined = dense.join(starts, "account_id")
    if groups is not None:
        joined = joined.join(groups, "account_id")
    else:
        joined = joined.mutate(group=ibis.literal("all"))
    cells = joined.group_by(["group", "cohort", "m"]).aggregate(
        accounts=joined.account_id.nunique(), mrr=joined.mrr.sum().cast(MONEY)
    )
    cells = cells.mutate(age=cells.m - cells.cohort)
    base = cells.filter(cells.age == 0).select(
        b_group="group", b_cohort="cohort", cohort_accounts="accounts", cohort_mrr="mrr"
    )
    out = cells.join(base, (cells.group == base.b_group) & (cells.cohort == base.b_cohort))
    return out.select(
        "group",
        "cohort",
        "age",
        "cohort_accounts",
        "accounts",
        logo_retention=out.accounts.cast("float64") / out.cohort_accounts.cast("float64"),
        cohort_mrr=out.cohort_mrr,
        mrr=out.mrr,
        revenue_retention=out.mrr.cast("float64") / out.cohort_mrr.cast("float64"),
    ).order_by(["group", "cohort", "age"])
