"""Use cases of revenue and retention analytics: the public surface of ``revenue``.

Every function takes a workspace and explicit dates (nothing reads the clock here).
Inputs come from the contract slice (``read_table``); computation runs as Ibis
expressions on an in-memory DuckDB backend. A :class:`Book` (the loaded inputs) can be
passed to several calls to load the workspace once.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from keepwell.contract.service import read_table
from keepwell.core.errors import InputError
from keepwell.core.workspace import Workspace
from keepwell.revenue import cmrr, kpis, renewals
from keepwell.revenue.cohorts import cohort_table
from keepwell.revenue.ledger import (
    converted_lines,
    month_index,
    month_label,
    mrr_changes,
    mrr_on_day,
    require_columns,
)
from keepwell.revenue.movements import ALL, COLUMNS, monthly_movements
from keepwell.revenue.sbg import ShiftedBetaGeometric
from keepwell.revenue.simulator import Scenario, compare
from keepwell.revenue.survival import SurvivalPoint, kaplan_meier

#: ``--by`` value that groups by product (movements per account and product).
PRODUCT = "product"
NONE_LABEL = "(none)"


@dataclass
class Book:
    """The inputs of revenue analytics, loaded once: subscription lines converted to the
    base currency (``lines``) and ``accounts``, as Ibis tables on ``con``."""

    con: Any
    lines: ir.Table
    accounts: ir.Table
    base_currency: str
    _changes: ir.Table | None = None

    def changes(self) -> ir.Table:
        """:func:`mrr_changes` per account, computed once and kept in the engine."""
        if self._changes is None:
            self._changes = self.materialize("kw_changes", mrr_changes(self.lines))
        return self._changes

    def materialize(self, name: str, expr: ir.Table) -> ir.Table:
        """Store ``expr`` as a temporary table ``name`` of the backend and return it."""
        sql = ibis.to_sql(expr, dialect=self.con.name)
        self.con.raw_sql(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {sql}')
        table: ir.Table = self.con.table(name)
        return table

    def rows(self, expr: ir.Table) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.con.to_pyarrow(expr).to_pylist()
        return result


def load_book(workspace: Workspace) -> Book:
    """Read subscriptions, accounts and fx rates of ``workspace`` into a :class:`Book`.

    Raises :class:`InputError` when a line's currency has no fx rate.
    """
    return book_from_arrow(
        read_table(workspace, "subscriptions"),
        read_table(workspace, "accounts"),
        read_table(workspace, "fx_rates"),
        workspace.setting("base_currency"),
    )


def book_from_arrow(
    subscriptions: pa.Table, accounts: pa.Table, fx_rates: pa.Table, base_currency: str
) -> Book:
    """A :class:`Book` from Arrow tables in the contract's layout."""
    con = ibis.duckdb.connect()
    raw = con.con
    raw.register("kw_subscriptions", subscriptions)
    raw.register("kw_fx_rates", fx_rates)
    lines = converted_lines(con.table("kw_subscriptions"), con.table("kw_fx_rates"), base_currency)
    raw.register("kw_accounts", accounts)
    book = Book(con, lines, con.table("kw_accounts"), base_currency)
    book.lines = book.materialize("kw_lines", lines)
    return book


def _book(workspace: Workspace, book: Book | None) -> Book:
    return book if book is not None else load_book(workspace)


def month_end(index: int) -> date:
    """Last day of the month with index ``index``."""
    year, month = index // 12, index % 12 + 1
    return date(year, month, calendar.monthrange(year, month)[1])


def last_complete_month(as_of: date) -> int:
    """The month of ``as_of`` when it is that month's last day, else the month before."""
    index = month_index(as_of)
    return index if month_end(index) == as_of else index - 1


def grouped_changes(book: Book, by: str | None) -> ir.Table:
    """:func:`mrr_changes` with a string ``group`` column: "all", the product
    (movements per account and product) or an account attribute."""
    if by is None:
        return book.changes().mutate(group=ibis.literal(ALL))
    if by == PRODUCT:
        changes = mrr_changes(book.lines, ("account_id", "product"))
        return changes.mutate(group=changes.product.fill_null(NONE_LABEL)).drop("product")
    require_columns(book.accounts, [by], "accounts")
    attrs = book.accounts.select(attr_id=book.accounts.account_id, attr=book.accounts[by])
    changes = book.changes()
    joined = changes.left_join(attrs, changes.account_id == attrs.attr_id)
    group = joined.attr.cast("string").fill_null(NONE_LABEL)
    return joined.mutate(group=group).drop("attr", "attr_id")


def mrr_movements(
    workspace: Workspace,
    start: date,
    end: date,
    by: str | None = None,
    *,
    book: Book | None = None,
) -> list[dict[str, Any]]:
    """MRR and its movements for each month from ``start``'s month to ``end``'s month.

    One dict per (group, month) with the keys of ``movements.COLUMNS`` (``month`` as
    ``YYYY-MM`` instead of ``m``); money in the base currency, decimal(18, 6).
    Month-end method: an account that starts and stops within one month never shows.
    """
    if end < start:
        raise InputError(f"--to {end} is before --from {start}")
    book = _book(workspace, book)
    first, last = month_index(start), month_index(end)
    rows = book.rows(monthly_movements(grouped_changes(book, by), first, last))
    result = []
    for row in rows:
        row["month"] = month_label(row.pop("m"))
        result.append({k: row[k] for k in ("group", "month", *COLUMNS[2:])})
    return result


def _totals(book: Book, first: int, last: int) -> dict[int, dict[str, Any]]:
    rows = book.rows(monthly_movements(grouped_changes(book, None), first, last))
    return {int(r["m"]): r for r in rows}


@dataclass(frozen=True)
class Summary:
    """The portfolio as of a day (money in the base currency; rates are fractions)."""

    as_of: date
    month: str
    base_currency: str
    mrr: Decimal
    arr: Decimal
    paying_accounts: int
    arpa: Decimal | None
    logo_churn_rate: float | None
    gross_mrr_churn_rate: float | None
    nrr_monthly: float | None
    grr_monthly: float | None
    nrr_ttm: float | None
    grr_ttm: float | None
    quick_ratio: float | None
    ltv: Decimal | None
    cac_payback_months: float | None
    cmrr: Decimal
    renewal_period_start: date
    logo_renewal_rate: float | None
    gross_dollar_renewal_rate: float | None
    net_dollar_renewal_rate: float | None
    share_of_wallet: float | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def portfolio_summary(
    workspace: Workspace,
    as_of: date,
    *,
    cac: Decimal | None = None,
    gross_margin: float = 1.0,
    horizon_days: int = 90,
    renewal_days: int = 365,
    book: Book | None = None,
) -> Summary:
    """Every summary figure of metrics.md as of ``as_of``.

    Monthly figures (churn rates, monthly NRR/GRR, quick ratio, CAC payback) are those
    of the last complete month (the month of ``as_of`` if it is its last day, else the
    month before); TTM NRR/GRR compare that month with twelve months earlier. MRR,
    ARR, ARPA and CMRR are on the day ``as_of``; LTV uses the mean logo churn rate of
    the six months before the month of ``as_of``. Renewal rates cover lines ending in
    (as_of - renewal_days, as_of].
    """
    book = _book(workspace, book)
    month = last_complete_month(as_of)
    current = month_index(as_of)
    totals = _totals(book, min(month, current - 6), max(month, current - 1))
    rates = kpis.monthly_rates(totals[month])
    on_day = mrr_on_day(book.lines, as_of)
    day = book.rows(on_day.aggregate(mrr=on_day.mrr.sum(), n=on_day.count()))[0]
    mrr, paying = day["mrr"] or Decimal(0), int(day["n"])
    arpa = kpis.arpa(mrr, paying)
    churn6 = [kpis.monthly_rates(totals[m]).logo_churn_rate for m in range(current - 6, current)]
    ttm = book.rows(kpis.ttm_retention(book.lines, month))[0]
    parts = book.rows(cmrr.cmrr_parts(book.lines, as_of, horizon_days))[0]
    renewal_start = as_of - timedelta(days=renewal_days - 1)
    past = renewals.past_renewals(book.lines, renewal_start, as_of)
    ren = book.rows(renewals.renewal_totals(past))[0]
    wallet = book.rows(kpis.share_of_wallet(on_day, book.accounts))[0]
    return Summary(
        as_of=as_of,
        month=month_label(month),
        base_currency=book.base_currency,
        mrr=mrr,
        arr=mrr * 12,
        paying_accounts=paying,
        arpa=arpa,
        logo_churn_rate=rates.logo_churn_rate,
        gross_mrr_churn_rate=rates.gross_mrr_churn_rate,
        nrr_monthly=rates.nrr,
        grr_monthly=rates.grr,
        nrr_ttm=kpis.ratio(ttm["current"] or 0, ttm["base"] or 0),
        grr_ttm=kpis.ratio(ttm["floor"] or 0, ttm["base"] or 0),
        quick_ratio=kpis.quick_ratio([totals[month]]),
        ltv=kpis.ltv(arpa, gross_margin, churn6),
        cac_payback_months=kpis.cac_payback(
            cac, totals[month]["new"], totals[month]["new_accounts"], gross_margin
        ),
        cmrr=parts["mrr"] + parts["added"] - parts["removed"],
        renewal_period_start=renewal_start,
        logo_renewal_rate=kpis.ratio(ren["renewed_accounts"] or 0, ren["accounts"] or 0),
        gross_dollar_renewal_rate=kpis.ratio(ren["floor"] or 0, ren["expiring"] or 0),
        net_dollar_renewal_rate=kpis.ratio(ren["successor"] or 0, ren["expiring"] or 0),
        share_of_wallet=kpis.ratio(wallet["arr"] or 0, wallet["budget"] or 0),
    )


def upcoming_renewals(
    workspace: Workspace, as_of: date, within_days: int, *, book: Book | None = None
) -> list[dict[str, Any]]:
    """Lines ending in (as_of, as_of + within_days] with ARR, auto-renew and whether a
    successor line already exists."""
    book = _book(workspace, book)
    return book.rows(renewals.upcoming_renewals(book.lines, as_of, within_days))


def past_renewals(
    workspace: Workspace, start: date, end: date, *, book: Book | None = None
) -> list[dict[str, Any]]:
    """Lines that ended in [start, end] with their outcome (renewed, expanded,
    contracted, churned)."""
    book = _book(workspace, book)
    return book.rows(renewals.past_renewals(book.lines, start, end))


def _groups(book: Book, by: str | None) -> ir.Table | None:
    if by is None:
        return None
    require_columns(book.accounts, [by], "accounts")
    acc = book.accounts
    return acc.select("account_id", group=acc[by].cast("string").fill_null(NONE_LABEL))


def _first_month(book: Book) -> int | None:
    value = book.rows(book.lines.aggregate(m=book.lines.start_m.min()))[0]["m"]
    return None if value is None else int(value)


def cohort_retention(
    workspace: Workspace, as_of: date, by: str | None = None, *, book: Book | None = None
) -> list[dict[str, Any]]:
    """Logo and revenue retention by cohort month x age (months), up to the last
    complete month of ``as_of``; optionally split by an account attribute."""
    book = _book(workspace, book)
    first, last = _first_month(book), last_complete_month(as_of)
    if first is None or first > last:
        return []
    rows = book.rows(cohort_table(book.lines, first, last, _groups(book, by)))
    for row in rows:
        row["cohort"] = month_label(row["cohort"])
    return rows


def survival_curves(
    workspace: Workspace,
    as_of: date,
    by: str | None = None,
    *,
    confidence: float = 0.95,
    book: Book | None = None,
) -> dict[str, list[SurvivalPoint]]:
    """Kaplan–Meier curves of months from first MRR to first churn, censored at the last
    complete month of ``as_of``, per group ("all" when ungrouped)."""
    book = _book(workspace, book)
    last = last_complete_month(as_of)
    changes = book.changes()
    changes = changes.filter((changes.m <= last) & changes.first_m.notnull())
    churned = changes.filter((changes.prev > 0) & (changes.curr == 0))
    churns = churned.group_by("account_id").aggregate(churn_m=churned.m.min())
    firsts = changes.group_by("account_id").aggregate(first_m=changes.first_m.min())
    firsts = firsts.filter(firsts.first_m <= last)
    joined = firsts.left_join(churns, firsts.account_id == churns.account_id)
    subjects = joined.select(
        "account_id",
        duration=joined.churn_m.fill_null(last) - joined.first_m,
        event=joined.churn_m.notnull(),
    )
    groups = _groups(book, by)
    if groups is not None:
        subjects = subjects.join(groups, "account_id")
    else:
        subjects = subjects.mutate(group=ibis.literal(ALL))
    data = book.rows(subjects.order_by(["group", "account_id"]))
    curves: dict[str, list[SurvivalPoint]] = {}
    for name in sorted({r["group"] for r in data}):
        rows = [r for r in data if r["group"] == name]
        curves[name] = kaplan_meier(
            [r["duration"] for r in rows], [r["event"] for r in rows], confidence=confidence
        )
    return curves


def fit_retention(
    survivors: list[int], project: int | None = None, discount_rate: float = 0.1
) -> dict[str, Any]:
    """sBG fit of counts still active per renewal period, with its projection."""
    model = ShiftedBetaGeometric().fit(survivors)
    return model.summary(periods=project, discount_rate=discount_rate)


def simulate_retention(a: Scenario, b: Scenario) -> dict[str, Any]:
    """Retention economics of scenario ``a`` against ``b`` (see simulator.compare)."""
    return compare(a, b)
