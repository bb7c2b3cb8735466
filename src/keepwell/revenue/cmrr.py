"""Committed MRR (CMRR) at a day: today's MRR plus signed lines starting within the
horizon, minus active lines ending within it that will not continue."""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from keepwell.revenue.ledger import MONEY, same_contract, successor_candidates

#: Days after a line's end within which a line of the same product is its successor.
SUCCESSOR_DAYS = 30


def successor_starts(expiring: ir.Table, lines: ir.Table) -> ir.Table:
    """For each line of ``expiring``, the earliest start of a successor: another line of
    ``lines`` with the same account and product starting after it and no later than
    ``SUCCESSOR_DAYS`` after its end. Columns: line_id, successor_on (null when none)."""
    left = expiring.select("line_id", "account_id", "product", "starts_on", "ends_on")
    right = successor_candidates(lines)
    cond = (
        same_contract(left, right)
        & (right.s_starts > left.starts_on)
        & (right.s_starts <= left.ends_on + ibis.interval(days=SUCCESSOR_DAYS))
    )
    joined = left.filter(left.ends_on.notnull()).left_join(right, cond)
    return joined.group_by("line_id").aggregate(successor_on=joined.s_starts.min())


def cmrr_parts(lines: ir.Table, day: date | ir.DateValue, end: date | ir.DateValue) -> ir.Table:
    """One row with mrr, added, removed (decimal(38, 6)); CMRR = mrr + added - removed.

    mrr: lines active on ``day``; added: lines starting in (day, end] (the horizon,
    ``end`` = day + horizon days); removed: active lines ending in (day, end] that have
    ``auto_renew`` false or unknown and no successor, or whose successor itself starts
    within the horizon (it is counted in ``added`` and replaces its predecessor). Only
    the lines ending within the horizon are matched with their successors. ``day`` and
    ``end`` may be Ibis scalars (parameters of a template).
    """
    active = (lines.starts_on <= day) & (lines.ends_on.isnull() | (lines.ends_on > day))
    flags = lines.select(
        "mrr", active=active, starting=(lines.starts_on > day) & (lines.starts_on <= end)
    )
    totals = flags.aggregate(
        mrr=flags.mrr.sum(where=flags.active).fill_null(0).cast(MONEY),
        added=flags.mrr.sum(where=flags.starting).fill_null(0).cast(MONEY),
    )
    ending = lines.filter(active & lines.ends_on.notnull() & (lines.ends_on <= end))
    soon = lines.filter(lines.starts_on <= end + timedelta(days=SUCCESSOR_DAYS))
    succ = successor_starts(ending, soon).rename(succ_line="line_id")
    j = ending.join(succ, ending.line_id == succ.succ_line)
    lapsing = ~j.auto_renew.fill_null(False) & j.successor_on.isnull()
    replaced = j.successor_on.notnull() & (j.successor_on <= end)
    gone = j.select("mrr", gone=lapsing | replaced)
    removed = gone.aggregate(removed=gone.mrr.sum(where=gone.gone).fill_null(0).cast(MONEY))
    return totals.cross_join(removed)
