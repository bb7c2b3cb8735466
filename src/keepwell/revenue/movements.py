"""MRR movements per month (month-end method): new, cross-sell, reactivation, expansion,
contraction and churn, with the number of accounts behind each.

For each key (an account, or an account-and-product pair when grouping by product)
and month M, with p = MRR at the end of M-1 and c = MRR at the end of M:
new (p = 0 < c, first MRR ever) +c; reactivation (p = 0 < c, had MRR before) +c;
expansion (0 < p < c) c - p; contraction (0 < c < p) c - p; churn (p > 0 = c) -p.
With account-and-product keys, a key's first MRR is a cross-sell instead of new when
its account had MRR in an earlier month (column ``account_first_m`` < M): a product
sold to an existing customer is not a new logo. Per account it is an expansion, so
cross-sell is always 0 there. Starting MRR + the movements = ending MRR for every
month, to the cent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any

import ibis
import ibis.expr.types as ir

from keepwell.revenue.ledger import MONEY, mrr_at, mrr_changes

#: The group of every row when movements are not grouped.
ALL = "all"
#: Zero in the scale of money amounts (decimal(38, 6)).
ZERO = Decimal("0.000000")


class Movement(StrEnum):
    NEW = "new"
    CROSS_SELL = "cross_sell"
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
    first = (p == 0) & (c > 0) & ~changes.had_before
    if "account_first_m" in changes.columns:  # keys are (account, product)
        existing = changes.account_first_m < changes.m
    else:
        existing = ibis.literal(False)
    return {
        Movement.NEW: first & ~existing,
        Movement.CROSS_SELL: first & existing,
        Movement.REACTIVATION: (p == 0) & (c > 0) & changes.had_before,
        Movement.EXPANSION: (p > 0) & (c > p),
        Movement.CONTRACTION: (c > 0) & (c < p),
        Movement.CHURN: (p > 0) & (c == 0),
    }


def movement_amounts(changes: ir.Table) -> ir.Table:
    """Per (group, m) with any change: the amount and the count of each movement, and
    the change in the number of keys with MRR (``accounts_delta``). A movement absent
    from a month has a null amount and a zero count.

    ``changes`` has the columns of ``mrr_changes`` plus ``group`` (a string). Each row
    is labelled with its movement first (the five are mutually exclusive), so the
    aggregates stay small expressions.
    """
    kind = ibis.cases(*((flag, str(k)) for k, flag in classify(changes).items()), else_=None)
    rows = changes.select("group", "m", kind=kind, diff=changes.curr - changes.prev)
    metrics: dict[str, ir.Value] = {}
    for k in MOVEMENTS:
        metrics[k] = rows.diff.sum(where=rows.kind == k).cast(MONEY)
        metrics[f"{k}_accounts"] = rows.count(where=rows.kind == k)
    gained = rows.kind.isin(
        [str(Movement.NEW), str(Movement.CROSS_SELL), str(Movement.REACTIVATION)]
    )
    metrics["accounts_delta"] = rows.count(where=gained) - rows.count(
        where=rows.kind == str(Movement.CHURN)
    )
    return rows.group_by(["group", "m"]).aggregate(**metrics)


def account_month(lines: ir.Table, m: ir.IntegerValue | int) -> ir.Table:
    """Per account with MRR at the end of month ``m - 1`` or of ``m``, or a movement in
    ``m``: ``key`` (the account) and the columns of :data:`COLUMNS` after ``m`` for that
    month (amounts 0 and counts 0 where the account had none; ``starting_accounts`` and
    ``ending_accounts`` are 1 for an account with MRR then, else 0). One expression over
    every account: the figures of :func:`monthly_movements` grouped by account, for one
    month, without walking each account's history."""
    changes = mrr_changes(lines)
    changes = changes.filter(changes.m == m).mutate(group=changes.account_id)
    amounts = movement_amounts(changes).drop("m")
    start = mrr_at(lines, m - 1).rename(start_id="account_id", start_mrr="mrr")
    end = mrr_at(lines, m).rename(end_id="account_id", end_mrr="mrr")
    keys = (
        start.select(key=start.start_id)
        .union(end.select(key=end.end_id), distinct=True)
        .union(amounts.select(key=amounts.group), distinct=True)
    )
    joined = keys.left_join(start, keys.key == start.start_id)
    joined = joined.left_join(end, joined.key == end.end_id)
    joined = joined.left_join(amounts, joined.key == amounts.group)
    zero = ibis.literal(0).cast(MONEY)
    starting = joined.start_mrr.fill_null(zero)
    ending = joined.end_mrr.fill_null(zero)
    return joined.select(
        key=joined.key,
        starting_mrr=starting,
        **{k: joined[k].fill_null(zero).cast(MONEY) for k in MOVEMENTS},
        ending_mrr=ending,
        starting_accounts=(starting > 0).ifelse(1, 0).cast("int64"),
        **{f"{k}_accounts": joined[f"{k}_accounts"].fill_null(0).cast("int64") for k in MOVEMENTS},
        ending_accounts=(ending > 0).ifelse(1, 0).cast("int64"),
    )


def monthly_movements(
    amounts: Iterable[Mapping[str, Any]], first: int, last: int, groups: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """Movements of every month ``first..last`` (month indexes) and every group.

    ``amounts`` are rows of :func:`movement_amounts` for any months (a few rows per
    group and month, already aggregated in the engine). Rows of the result have the keys
    :data:`COLUMNS`, ordered by group and month; amounts are exact decimals in the base
    currency. Starting MRR of ``first`` = sum of all earlier movements; then
    ending = starting + new + cross_sell + reactivation + expansion + contraction +
    churn, and the
    next month starts where this one ended, so months without a change still appear.
    Every group of ``groups`` appears, even without any change.
    """
    by_group: dict[str, dict[int, Mapping[str, Any]]] = {g: {} for g in groups}
    for row in amounts:
        if row["m"] <= last:
            by_group.setdefault(str(row["group"]), {})[int(row["m"])] = row
    result: list[dict[str, Any]] = []
    for group in sorted(by_group):
        months = by_group[group]
        before = [r for m, r in months.items() if m < first]
        mrr = sum((_net(r) for r in before), ZERO)
        accounts = sum(int(r["accounts_delta"]) for r in before)
        for m in range(first, last + 1):
            row = _month_row(group, m, months.get(m), mrr, accounts)
            mrr, accounts = row["ending_mrr"], row["ending_accounts"]
            result.append(row)
    return result


def _net(row: Mapping[str, Any]) -> Decimal:
    return sum((row[k] or ZERO for k in MOVEMENTS), ZERO)


def _month_row(
    group: str, m: int, change: Mapping[str, Any] | None, mrr: Decimal, accounts: int
) -> dict[str, Any]:
    row: dict[str, Any] = {"group": group, "m": m, "starting_mrr": mrr}
    row.update({k: ZERO if change is None else change[k] or ZERO for k in MOVEMENTS})
    row["ending_mrr"] = mrr + _net(row)
    row["starting_accounts"] = accounts
    for k in MOVEMENTS:
        row[f"{k}_accounts"] = 0 if change is None else int(change[f"{k}_accounts"])
    delta = 0 if change is None else int(change["accounts_delta"])
    row["ending_accounts"] = accounts + delta
    return {k: row[k] for k in COLUMNS}
