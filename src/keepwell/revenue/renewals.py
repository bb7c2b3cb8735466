"""Renewals: lines up for renewal, whether they renewed, and renewal rates.

A line is up for renewal in a period when its ``ends_on`` falls in it. It renewed when
the same account has another line of the same product starting within
``GRACE_DAYS`` of its end (``[ends_on - 30 days, ends_on + 30 days]``); the successor
MRR is the sum of those lines.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

import ibis
import ibis.expr.types as ir

from keepwell.revenue.ledger import MONEY, same_contract, successor_candidates

GRACE_DAYS = 30


class Outcome(StrEnum):
    RENEWED = "renewed"
    EXPANDED = "expanded"
    CONTRACTED = "contracted"
    CHURNED = "churned"


def with_successors(
    expiring: ir.Table, lines: ir.Table, start: date | ir.DateValue, end: date | ir.DateValue
) -> ir.Table:
    """``expiring`` lines (all ending in [start, end]) with ``successors`` (count) and
    ``successor_mrr`` (sum, 0 when none) of lines of the same account and product
    starting within the grace window."""
    left = expiring.select("line_id", "account_id", "product", "mrr", "ends_on", "auto_renew")
    grace = ibis.interval(days=GRACE_DAYS)
    near = (lines.starts_on >= start - timedelta(days=GRACE_DAYS)) & (
        lines.starts_on <= end + timedelta(days=GRACE_DAYS)
    )
    lines = lines.filter(near)
    right = successor_candidates(lines, "mrr")
    cond = (
        same_contract(left, right)
        & (right.s_starts >= left.ends_on - grace)
        & (right.s_starts <= left.ends_on + grace)
    )
    joined = left.left_join(right, cond)
    return joined.group_by(list(left.columns)).aggregate(
        successors=joined.s_line.count(),
        successor_mrr=joined.s_mrr.sum().fill_null(0).cast(MONEY),
    )


def upcoming_renewals(lines: ir.Table, as_of: date, within_days: int) -> ir.Table:
    """Lines ending in (as_of, as_of + within_days], soonest first: account_id,
    product, line_id, ends_on, arr (12 x MRR, base currency), auto_renew,
    has_successor."""
    end = as_of + timedelta(days=within_days)
    expiring = lines.filter((lines.ends_on > as_of) & (lines.ends_on <= end))
    rows = with_successors(expiring, lines, as_of, end)
    return rows.select(
        "account_id",
        "product",
        "line_id",
        "ends_on",
        arr=(rows.mrr * 12).cast(MONEY),
        auto_renew=rows.auto_renew,
        has_successor=rows.successors > 0,
    ).order_by(["ends_on", "account_id", "product", "line_id"])


def past_renewals(lines: ir.Table, start: date, end: date) -> ir.Table:
    """Lines with ``ends_on`` in [start, end] and their outcome: account_id, product,
    line_id, ends_on, expiring_mrr, successor_mrr, outcome (an :class:`Outcome`),
    ordered by end date, account, product and line."""
    outcomes = renewal_outcomes(lines, start, end)
    return outcomes.order_by(["ends_on", "account_id", "product", "line_id"])


def renewal_outcomes(
    lines: ir.Table, start: date | ir.DateValue, end: date | ir.DateValue
) -> ir.Table:
    """:func:`past_renewals` without an order (to aggregate); ``start`` and ``end`` may
    be Ibis scalars (parameters of a template)."""
    expiring = lines.filter((lines.ends_on >= start) & (lines.ends_on <= end))
    rows = with_successors(expiring, lines, start, end)
    outcome = ibis.cases(
        (rows.successors == 0, str(Outcome.CHURNED)),
        (rows.successor_mrr > rows.mrr, str(Outcome.EXPANDED)),
        (rows.successor_mrr < rows.mrr, str(Outcome.CONTRACTED)),
        else_=str(Outcome.RENEWED),
    )
    return rows.select(
        "account_id",
        "product",
        "line_id",
        "ends_on",
        expiring_mrr=rows.mrr,
        successor_mrr=rows.successor_mrr,
        outcome=outcome,
    )


def renewal_totals(past: ir.Table) -> ir.Table:
    """One row over :func:`renewal_outcomes`: expiring, successor and floor MRR, accounts
    up for renewal and accounts with at least one renewed line.

    gross dollar renewal rate = floor / expiring, where floor = sum of
    min(successor MRR, expiring MRR); net dollar renewal rate = successor / expiring;
    logo renewal rate = renewed_accounts / accounts.
    """
    renewed = past.outcome != str(Outcome.CHURNED)
    return past.aggregate(
        expiring=past.expiring_mrr.sum().cast(MONEY),
        successor=past.successor_mrr.sum().cast(MONEY),
        floor=ibis.least(past.successor_mrr, past.expiring_mrr).sum().cast(MONEY),
        accounts=past.account_id.nunique(),
        renewed_accounts=past.account_id.nunique(where=renewed),
    )


def account_arr(lines: ir.Table, as_of: date) -> tuple[ir.Table, ir.Table]:
    """Per account on ``as_of``: ``arr`` (12 x the MRR of the lines active that day) and,
    for accounts with an active line that ends, ``next_renewal`` (the earliest end after
    ``as_of``) with ``renewal_arr`` (12 x the MRR of the lines ending then). Base currency."""
    active = lines.filter(
        (lines.starts_on <= as_of) & (lines.ends_on.isnull() | (lines.ends_on > as_of))
    )
    arr = active.group_by("account_id").aggregate(arr=(active.mrr.sum() * 12))
    ending = active.filter(active.ends_on.notnull())
    first = ending.group_by("account_id").aggregate(next_renewal=ending.ends_on.min())
    joined = ending.join(first, "account_id")
    due = joined.filter(joined.ends_on == joined.next_renewal)
    renewal = due.group_by(["account_id", "next_renewal"]).aggregate(renewal_arr=due.mrr.sum() * 12)
    return arr, renewal
