"""The MRR ledger: subscription lines in the base currency, and MRR per account per month.

Months are integer indexes (``year * 12 + month - 1``) so that every engine compares
them cheaply. A line ``[starts_on, ends_on)`` has MRR at the end of month ``m`` when
``starts_on <= last_day(m) < ends_on``; that is exactly when
``month(starts_on) <= m < month(ends_on)`` (a line ending on the last day of a month
does not count in that month; one starting on it does).

Money is ``decimal(38, 6)``: conversion rounds once per line, and every figure after
that is a sum of those exact values, so movement identities hold to the cent. 38 digits
(the widest decimal of DuckDB, PostgreSQL and Spark) leave 32 for whole units: a line of
10^7 a month at any rate below 10^10 converts without overflow (the product of a
6-decimal amount and an 8-decimal rate has 14 decimals and up to 38 digits), and sums of
a book stay exact far beyond 10^20. (With ``decimal(18, 6)`` the 14-decimal product
overflowed from 10^4 units: a 9,300 EUR line at a rate of 1.08.)
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from keepwell.core.errors import InputError

MONEY = dt.Decimal(38, 6)
RATE = dt.Decimal(38, 8)
#: A month index far in the future: "open-ended" lines end there.
OPEN_END = 999_999


def month_index(value: date) -> int:
    """The integer index of the calendar month of ``value`` (year * 12 + month - 1)."""
    return value.year * 12 + value.month - 1


def month_start(index: int) -> date:
    """The first day of the month with index ``index``."""
    return date(index // 12, index % 12 + 1, 1)


def month_label(index: int) -> str:
    """``YYYY-MM`` of a month index."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_expr(column: ir.DateValue) -> ir.IntegerValue:
    """Month index of a date column (an Ibis expression)."""
    return column.year().cast("int64") * 12 + column.month().cast("int64") - 1


def converted_lines(
    subscriptions: ir.Table,
    fx_rates: ir.Table,
    base_currency: str | ir.StringValue,
    *,
    check: bool = True,
) -> ir.Table:
    """Subscription lines with ``mrr`` in the base currency and their month range.

    Columns: line_id, account_id, product, mrr (decimal(38,6), base currency),
    starts_on, ends_on, auto_renew, start_m, end_m (``OPEN_END`` when open-ended).
    Each line converts at the rate of its ``starts_on`` month, or the latest earlier
    month with a rate: ``mrr_base = round(mrr * rate, 6)``. Lines in the base currency
    (or with no currency) keep their amount. Raises :class:`InputError` naming the
    currency and month of a line that has no rate at all (with ``check=False`` the
    caller checks with :func:`unrated_lines` instead; such lines get a null ``mrr``).
    """
    base = base_currency.upper()
    lines, fx, latest = _latest_rates(subscriptions, fx_rates, base)
    if check:
        _check_rates(latest)
    rated = latest.join(fx, (latest.currency == fx.fx_currency) & (latest.fx_m == fx.fx_m))
    rates = rated.select(rate_line_id=rated.line_id, rate=rated.rate.cast(RATE))
    joined = lines.left_join(rates, lines.line_id == rates.rate_line_id)
    converted = ibis.cases(
        (joined.currency == base, joined.mrr.cast(MONEY)),
        else_=(joined.mrr.cast(MONEY) * joined.rate).round(6).cast(MONEY),
    )
    return joined.select(
        "line_id",
        "account_id",
        "product",
        mrr=converted,
        starts_on=joined.starts_on,
        ends_on=joined.ends_on,
        auto_renew=joined.auto_renew,
        start_m=joined.start_m,
        end_m=month_expr(joined.ends_on).fill_null(OPEN_END),
    )


def _latest_rates(
    subscriptions: ir.Table, fx_rates: ir.Table, base: str | ir.StringValue
) -> tuple[ir.Table, ir.Table, ir.Table]:
    """Lines with their currency and start month; fx rates by month index; and for each
    foreign line the latest month with a rate at or before its start (``fx_m``)."""
    lines = subscriptions.mutate(
        currency=subscriptions.currency.upper().fill_null(base),
        start_m=month_expr(subscriptions.starts_on),
    )
    foreign = lines.filter(lines.currency != base)
    fx = fx_rates.select(
        fx_currency=fx_rates.currency.upper(), fx_m=month_expr(fx_rates.month), rate=fx_rates.rate
    )
    candidates = foreign.join(
        fx, (foreign.currency == fx.fx_currency) & (fx.fx_m <= foreign.start_m), how="left"
    )
    latest = candidates.group_by(["line_id", "currency", "start_m"]).aggregate(
        fx_m=candidates.fx_m.max()
    )
    return lines, fx, latest


def unrated_lines(
    subscriptions: ir.Table, fx_rates: ir.Table, base_currency: str | ir.StringValue
) -> ir.Table:
    """At most one row (currency, start_m): the earliest line with no fx rate in its
    start month or any earlier month (no row: every line converts)."""
    return _unrated(_latest_rates(subscriptions, fx_rates, base_currency.upper())[2])


def no_rate_error(currency: str, start_m: int) -> InputError:
    """The error for a line in ``currency`` starting in month ``start_m`` without a rate."""
    return InputError(
        f"no fx rate for {currency} in {month_label(start_m)} or any earlier month",
        hint=f"load fx_rates with a rate for {currency} (currency, month, rate)",
    )


def _unrated(latest: ir.Table) -> ir.Table:
    missing = latest.filter(latest.fx_m.isnull())
    return missing.select("currency", "start_m").order_by("start_m").limit(1)


def _check_rates(latest: ir.Table) -> None:
    row = _unrated(latest).to_pyarrow()
    if row.num_rows:
        currency = row.column("currency")[0].as_py()
        raise no_rate_error(currency, int(row.column("start_m")[0].as_py()))


def mrr_changes(lines: ir.Table, key: tuple[str, ...] = ("account_id",)) -> ir.Table:
    """Months in which the MRR of each ``key`` (an account by default) changes.

    One row per (key, month) with a line starting or ending: ``prev`` = MRR at the end
    of the month before, ``curr`` = MRR at the end of the month, and ``had_before`` =
    whether the key had MRR at the end of an earlier month. Sparse: months without a
    line boundary carry the MRR of the last row. Formula: curr = running sum of
    (+mrr at start_m, -mrr at end_m); had_before = a line with mrr > 0 and
    start_m < end_m started before the month (such a line has MRR at the end of its
    first month, and mrr is never negative). One window pass, no self-join.
    """
    cols = list(key)
    # CASE, not a cast: PostgreSQL has no boolean -> bigint cast
    paying = ((lines.mrr > 0) & (lines.end_m > lines.start_m)).ifelse(1, 0).cast("int64")
    starts = lines.select(*cols, m=lines.start_m, delta=lines.mrr, opened=paying)
    ends = lines.filter(lines.end_m < OPEN_END).select(
        *cols, m=lines.end_m, delta=(-lines.mrr).cast(MONEY), opened=ibis.literal(0, "int64")
    )
    deltas = starts.union(ends, distinct=False)
    net = deltas.group_by([*cols, "m"]).aggregate(
        delta=deltas.delta.sum().cast(MONEY), opened=deltas.opened.sum()
    )
    window = ibis.window(group_by=cols, order_by="m", rows=(None, 0))
    running = net.mutate(
        curr=net.delta.sum().over(window).cast(MONEY), opened_so_far=net.opened.sum().over(window)
    )
    return running.select(
        *cols,
        "m",
        prev=(running.curr - running.delta).cast(MONEY),
        curr=running.curr,
        had_before=running.opened_so_far > running.opened,
    )


def lifetimes(lines: ir.Table, last: int) -> ir.Table:
    """Per account with MRR at a month end up to month ``last``: ``first_m`` (the first
    month end with MRR) and ``churn_m`` (the first later month end without MRR: its lines
    ended; null when none by ``last``; a later reactivation does not undo it)."""
    changes = mrr_changes(lines)
    changes = changes.filter(changes.m <= last)
    paying = changes.filter(changes.curr > 0)
    firsts = paying.group_by("account_id").aggregate(first_m=paying.m.min())
    churned = changes.filter((changes.prev > 0) & (changes.curr == 0))
    churns = churned.group_by(c_id=churned.account_id).aggregate(churn_m=churned.m.min())
    joined = firsts.left_join(churns, firsts.account_id == churns.c_id)
    return joined.select("account_id", "first_m", "churn_m")


def mrr_at(lines: ir.Table, month: int, key: tuple[str, ...] = ("account_id",)) -> ir.Table:
    """MRR of each ``key`` with MRR at the end of month index ``month`` (columns key, mrr)."""
    active = lines.filter((lines.start_m <= month) & (lines.end_m > month))
    return active.group_by(list(key)).aggregate(mrr=active.mrr.sum().cast(MONEY))


def mrr_on_day(lines: ir.Table, day: date) -> ir.Table:
    """MRR of each account on ``day`` (``starts_on <= day < ends_on``): account_id, mrr."""
    active = lines.filter(
        (lines.starts_on <= day) & (lines.ends_on.isnull() | (lines.ends_on > day))
    )
    return active.group_by("account_id").aggregate(mrr=active.mrr.sum().cast(MONEY))


def dense_ledger(lines: ir.Table, first: int, last: int) -> ir.Table:
    """MRR per account per month for months ``first..last`` (only rows with MRR > 0).

    Columns: account_id, m, mrr.
    """
    months = ibis.memtable({"m": list(range(first, last + 1))})
    lines = lines.select("account_id", "start_m", "end_m", "mrr")  # a fresh relation to join
    joined = lines.join(months, (lines.start_m <= months.m) & (lines.end_m > months.m))
    dense = joined.group_by(["account_id", "m"]).aggregate(mrr=joined.mrr.sum().cast(MONEY))
    return dense.filter(dense.mrr > 0)


def require_columns(table: ir.Table, columns: list[str], what: str) -> None:
    """Raise :class:`InputError` when ``table`` lacks one of ``columns``."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(
            f"{what} has no column {', '.join(missing)}",
            hint=f"available: {', '.join(table.columns)}",
        )


def successor_candidates(lines: ir.Table, *extra: str) -> ir.Table:
    """``lines`` renamed ``s_*`` so they can be joined as possible successors of other
    lines (``s_line``, ``s_account``, ``s_product``, ``s_starts`` and ``s_<extra>``)."""
    return lines.select(
        s_line=lines.line_id,
        s_account=lines.account_id,
        s_product=lines.product,
        s_starts=lines.starts_on,
        **{f"s_{name}": lines[name] for name in extra},
    )


def same_contract(left: ir.Table, right: ir.Table) -> ir.BooleanValue:
    """A candidate of :func:`successor_candidates` that is another line of the same
    account and product as the ``left`` line."""
    return (
        (left.account_id == right.s_account)
        & (left.product == right.s_product)
        & (left.line_id != right.s_line)
    )
