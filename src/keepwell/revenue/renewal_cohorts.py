"""Counts of accounts still active per renewal period, per cohort: the input of the sBG
model (``sbg.py``) built from the MRR ledger.

An account's cohort is the month of its first MRR (month end). Its renewal period is
that of its first contract: the longest term (``ends_on - starts_on``, open-ended = 0
days) of its paying lines starting in the cohort month. *Annual* accounts have a term
within :data:`ANNUAL_DAYS`; *monthly* ones a shorter term or none (a month-to-month
line that was later cancelled carries its end date, so any term under eleven months
counts as monthly); longer (multi-year) terms are left out. An account is still
active after period k (k = 0, 1, ...) when it has not churned (a month end without MRR
after its first MRR; a later reactivation does not count) by the end of month
cohort + k x L, L = 1 (monthly) or 12 (annual) months. Only periods whose end is at or
before the last complete month are counted.
"""

from __future__ import annotations

from enum import StrEnum

import ibis
import ibis.expr.types as ir

from keepwell.revenue.ledger import lifetimes

#: First terms (days, both included) of an account on annual renewals.
ANNUAL_DAYS = (334, 396)


class RenewalPeriod(StrEnum):
    MONTHLY = "monthly"
    ANNUAL = "annual"

    @property
    def months(self) -> int:
        """Length of one renewal period in months."""
        return 12 if self is RenewalPeriod.ANNUAL else 1


def account_lives(lines: ir.Table, last: int) -> ir.Table:
    """Per account with MRR by the end of month ``last``: cohort (month index of first
    MRR), churn_m (first month end without MRR after it, null when none by ``last``) and
    term_days (longest term of its paying lines starting in the cohort month)."""
    lives = lifetimes(lines, last)
    firsts = lives.select("account_id", "churn_m", cohort=lives.first_m)
    term = lines.ends_on.delta(lines.starts_on, unit="day").fill_null(0)
    firsts_lines = lines.filter((lines.mrr > 0) & (lines.end_m > lines.start_m)).select(
        t_id=lines.account_id, t_m=lines.start_m, term=term
    )
    joined = firsts.join(
        firsts_lines,
        (firsts.account_id == firsts_lines.t_id) & (firsts.cohort == firsts_lines.t_m),
    )
    terms = joined.group_by(["account_id", "cohort", "churn_m"]).aggregate(
        term_days=joined.term.max()
    )
    return terms.select("account_id", "cohort", "churn_m", "term_days")


def survivor_counts(lines: ir.Table, period: RenewalPeriod, first: int, last: int) -> ir.Table:
    """Per cohort and period k: accounts on ``period`` renewals still active after k
    periods (k = 0 is the cohort's size), for cohorts from month ``first`` (on or before
    every line's start) to ``last``. Columns: cohort (month index), period, active;
    ordered by cohort and period."""
    lives = account_lives(lines, last)
    if period is RenewalPeriod.ANNUAL:
        keep = lives.term_days.between(*ANNUAL_DAYS)
    else:
        keep = lives.term_days < ANNUAL_DAYS[0]
    lives = lives.filter(keep)
    length = period.months
    ks = ibis.memtable({"k": list(range((last - first) // length + 1))})
    grid = lives.cross_join(ks)
    grid = grid.filter(grid.cohort + grid.k * length <= last)
    alive = grid.churn_m.isnull() | (grid.churn_m > grid.cohort + grid.k * length)
    counts = grid.group_by(["cohort", grid.k.name("period")]).aggregate(
        active=alive.ifelse(1, 0).cast("int64").sum()  # PostgreSQL: no boolean -> bigint
    )
    return counts.order_by(["cohort", "period"])
