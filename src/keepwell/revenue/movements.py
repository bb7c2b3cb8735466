"""MRR movements per month (month-end method): new, reactivation, expansion,
contraction and churn, with the number of accounts behind each.

For each key (an account, or an account-and-product pair when grouping by product)
and month M, with p = MRR at the end of M-1 and c = MRR at the end of M:
new (p = 0 < c, first MRR ever) +c; reactivation (p = 0 < c, had MRR before) +c;
expansion (0 < p < c) c - p; contraction (0 < c < p) c - p; churn (p > 0 = c) -p.
Starting MRR + the five movements = ending MRR for every month, to the cent.
"""

from __future__ import annotations

from enum import StrEnum

import ibis
import ibis.expr.types as ir

from keepwell.revenue.ledger import MONEY

#: The group of every row when movements are not grouped.
ALL = "all"


class Movement(StrEnum):
    NEW = "new"
    REACTIVATION = "reactivation"
    EXPANSION = "expansion"
    CONTRACTION = "contraction"
    CHURN = "churn"


MOVEMENTS: tuple[str, ...] = tuple(str(m) for m in Movement)
#: Output columns of :func:`monthly_movements`, in order.
COLUMNS: tuple[str, ...] = (
    "group",
    "m",
    "starting_mrr",
    *MOVEMENTS,
    "ending_mrr",
    "starting_accounts",
    *(f"{m}_accounts" for m in MOVEMENTS),
    "ending_accounts",
)


def classify(changes: ir.Table) -> dict[Movement, ir.BooleanValue]:
    """Which movement each row of :func:`keepwell.revenue.ledger.mrr_changes` is."""
    p, c = changes.prev, changes.curr
    return {
        Movement.NEW: (p == 0) & (c > 0) & (changes.m == changes.first_m),
        Movement.REACTIVATION: (p == 0) & (c > 0) & (changes.m > changes.first_m),
        Movement.EXPANSION: (p > 0) & (c > p),
        Movement.CONTRACTION: (c > 0) & (c < p),
        Movement.CHURN: (p > 0) & (c == 0),
    }


def movement_amounts(changes: ir.Table) -> ir.Table:
    """Per (group, m): the amount and the count of each movement, and the change in
    the number of keys with MRR (``accounts_delta``)."""
    kinds = classify(changes)
    diff = (changes.curr - changes.prev).cast(MONEY)
    zero = ibis.literal(0).cast(MONEY)
    metrics: dict[str, ir.Value] = {}
    for kind, flag in kinds.items():
        metrics[str(kind)] = flag.ifelse(diff, zero).sum().cast(MONEY)
        metrics[f"{kind}_accounts"] = flag.cast("int64").sum()
    gained = kinds[Movement.NEW] | kinds[Movement.REACTIVATION]
    metrics["accounts_delta"] = (
        gained.cast("int64").sum() - kinds[Movement.CHURN].cast("int64").sum()
    )
    return changes.group_by(["group", "m"]).aggregate(**metrics)


def monthly_movements(changes: ir.Table, first: int, last: int) -> ir.Table:
    """Movements of every month ``first..last`` (month indexes) and every group.

    ``changes`` has the columns of ``mrr_changes`` plus ``group`` (a string). Columns
    of the result: :data:`COLUMNS`; amounts are decimal(18, 6) in the base currency.
    Starting MRR of a month is the ending MRR of the month before (sum of all earlier
    movements), so months without any change still appear.
    """
    amounts = movement_amounts(changes.filter(changes.m <= last))
    groups = amounts.select("group").distinct()
    grid = groups.cross_join(ibis.memtable({"m": list(range(first, last + 1))}))
    zero = ibis.literal(0).cast(MONEY)
    filler = grid.mutate(
        **{str(k): zero for k in MOVEMENTS},
        **{f"{k}_accounts": ibis.literal(0).cast("int64") for k in MOVEMENTS},
        accounts_delta=ibis.literal(0).cast("int64"),
    )
    both = amounts.union(filler.select(*amounts.columns), distinct=False)
    names = [c for c in amounts.columns if c not in ("group", "m")]
    summed = both.group_by(["group", "m"]).aggregate(
        **{n: both[n].sum().cast(MONEY if n in MOVEMENTS else "int64") for n in names}
    )
    net = sum((summed[str(k)] for k in MOVEMENTS), zero).cast(MONEY)
    window = ibis.window(group_by="group", order_by="m", rows=(None, 0))
    running = summed.mutate(
        ending_mrr=net.sum().over(window).cast(MONEY),
        ending_accounts=summed.accounts_delta.sum().over(window).cast("int64"),
        net=net,
    )
    running = running.mutate(
        starting_mrr=(running.ending_mrr - running.net).cast(MONEY),
        starting_accounts=running.ending_accounts - running.accounts_delta,
    )
    return running.filter(running.m >= first).select(*COLUMNS).order_by(["group", "m"])
