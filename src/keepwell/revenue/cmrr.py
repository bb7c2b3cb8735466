"""Committed MRR (CMRR) at a day: today's MRR plus signed lines starting within the
horizon, minus active lines ending within it that will not continue."""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from keepwell.revenue.ledger import MONEY

#: Days after a line's end within which a line of the same product is its successor.
SUCCESSOR_DAYS = 30


def successor_starts(lines: ir.Table) -> ir.Table:
    """For each line, the earliest start of a successor: another line of the same
    account and product starting after it and no later than ``SUCCESSOR_DAYS`` after
    its end. Columns: line_id, successor_on (null when there is none)."""
    left = lines.select("line_id", "account_id", "product", "starts_on", "ends_on")
    right = lines.select(
        s_line=lines.line_id,
        s_account=lines.account_id,
        s_product=lines.product,
        s_starts=lines.starts_on,
    )
    cond = (
        (left.account_id == right.s_account)
        & (left.product == right.s_product)
        & (left.line_id != right.s_line)
        & (right.s_starts > left.starts_on)
        & (right.s_starts <= left.ends_on + ibis.interval(days=SUCCESSOR_DAYS))
    )
    joined = left.filter(left.ends_on.notnull()).left_join(right, cond)
    return joined.group_by("line_id").aggregate(successor_on=joined.s_starts.min())


def cmrr_parts(lines: ir.Table, day: date, horizon_days: int = 90) -> ir.Table:
    """One row with mrr, added, removed (decimal(18,6)); CMRR = mrr + added - removed.

    mrr: lines active on ``day``; added: lines starting in (day, day + h];
    removed: active lines ending in (day, day + h] that have ``auto_renew`` false or
    unknown and no successor, or whose successor itself starts within the horizon
    (it is counted in ``added`` and replaces its predecessor).
    """
    end = day + timedelta(days=horizon_days)
    succ = successor_starts(lines).rename(succ_line="line_id")
    joined = lines.left_join(succ, lines.line_id == succ.succ_line)
    active = (joined.starts_on <= day) & (joined.ends_on.isnull() | (joined.ends_on > day))
    starting = (joined.starts_on > day) & (joined.starts_on <= end)
    ending = active & joined.ends_on.notnull() & (joined.ends_on <= end)
    no_successor = joined.successor_on.isnull()
    lapsing = ~joined.auto_renew.fill_null(False) & no_successor
    replaced = joined.successor_on.notnull() & (joined.successor_on <= end)
    zero = ibis.literal(0).cast(MONEY)
    return joined.aggregate(
        mrr=active.ifelse(joined.mrr, zero).sum().cast(MONEY),
        added=starting.ifelse(joined.mrr, zero).sum().cast(MONEY),
        removed=(ending & (lapsing | replaced)).ifelse(joined.mrr, zero).sum().cast(MONEY),
    )
