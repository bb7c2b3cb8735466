"""Use cases of revenue and retention analytics: the public surface of ``revenue``.

Every function takes a workspace and explicit dates (nothing reads the clock here).
Inputs come from the contract slice (``read_table``); computation runs as Ibis
expressions on an in-memory DuckDB backend. A :class:`Book` (the loaded inputs) can be
passed to several calls to load the workspace once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from keepwell.contract.service import read_table
from keepwell.core import periods
from keepwell.core.compiled import Value
from keepwell.core.errors import InputError
from keepwell.core.workspace import Workspace
from keepwell.revenue import cmrr, kpis, purchases, renewals
from keepwell.revenue.book import Book, book_from_arrow
from keepwell.revenue.cohorts import cohort_table
from keepwell.revenue.ledger import (
    lifetimes,
    month_index,
    month_label,
    month_start,
    mrr_changes,
)
from keepwell.revenue.movements import (
    ALL,
    COLUMNS,
    account_month,
    monthly_movements,
    movement_amounts,
)
from keepwell.revenue.renewal_cohorts import RenewalPeriod, survivor_counts
from keepwell.revenue.sbg import ShiftedBetaGeometric
from keepwell.revenue.simulator import Scenario, compare
from keepwell.revenue.survival import SurvivalPoint, kaplan_meier

__all__ = ["Book", "book_from_arrow"]

#: ``--by`` value that groups by product (movements per account and product).
PRODUCT = "product"
NONE_LABEL = "(none)"


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


def scoped_book(workspace: Workspace, owner: str | None) -> Book:
    """The book of every account (``owner`` None), or of the accounts whose ``owner``
    is ``owner`` and their subscription lines only."""
    if owner is None:
        return load_book(workspace)
    accounts = read_table(workspace, "accounts")
    accounts = accounts.filter(pc.equal(accounts["owner"], pa.scalar(owner)))
    lines = read_table(workspace, "subscriptions")
    lines = lines.filter(pc.is_in(lines["account_id"], value_set=accounts["account_id"]))
    return book_from_arrow(
        lines, accounts, read_table(workspace, "fx_rates"), workspace.setting("base_currency")
    )


def book_of(workspace: Workspace, account_ids: Collection[str]) -> Book:
    """The book of the accounts ``account_ids`` only (their subscription lines): a
    team's or a CSM's book, read by every summary figure like the whole book."""
    ids = pa.array(sorted(account_ids), pa.string())
    accounts = read_table(workspace, "accounts")
    accounts = accounts.filter(pc.is_in(accounts["account_id"], value_set=ids))
    lines = read_table(workspace, "subscriptions")
    lines = lines.filter(pc.is_in(lines["account_id"], value_set=ids))
    return book_from_arrow(
        lines, accounts, read_table(workspace, "fx_rates"), workspace.setting("base_currency")
    )


def account_arr(
    workspace: Workspace, as_of: date, *, book: Book | None = None
) -> dict[str, dict[str, Any]]:
    """Per account with an active line on ``as_of``: ``arr`` (12 x the MRR of its lines
    active that day, base currency, Decimal) and, when one of them ends, ``next_renewal``
    (the earliest end after ``as_of``) and ``renewal_arr`` (12 x the MRR of the lines
    ending then). The one place ARR per account and the next renewal are computed."""
    book = _book(workspace, book)
    arr, renewal = renewals.account_arr(book.lines, as_of)
    result: dict[str, dict[str, Any]] = {r["account_id"]: dict(r) for r in book.rows(arr)}
    for row in book.rows(renewal):
        result.setdefault(row["account_id"], {"arr": Decimal(0)}).update(row)
    return result


def paying_accounts(workspace: Workspace, as_of: date, *, book: Book | None = None) -> set[str]:
    """The accounts with ARR > 0 on ``as_of`` (those of :func:`account_arr` with a
    positive ``arr``), in one query that returns their ids only."""
    book = _book(workspace, book)

    def build(v: Mapping[str, Any]) -> ir.Table:
        arr = renewals.account_arr(book.lines, v["day"])[0]
        return arr.filter(arr.arr > 0).select("account_id")

    table = book.arrow("paying_accounts", build, {"day": as_of})
    return set(table["account_id"].to_pylist())


def _book(workspace: Workspace, book: Book | None) -> Book:
    return book if book is not None else load_book(workspace)


def month_end(index: int) -> date:
    """Last day of the month with index ``index``."""
    return periods.month_end(month_start(index))


def last_complete_month(as_of: date) -> int:
    """The month of ``as_of`` when it is that month's last day, else the month before."""
    index = month_index(as_of)
    return index if month_end(index) == as_of else index - 1


def grouped_changes(
    book: Book, by: str, workspace: Workspace | None = None, as_of: date | None = None
) -> ir.Table:
    """:func:`mrr_changes` with a string ``group`` column: the product (movements per
    account and product) or an account attribute (see :func:`account_attribute`)."""
    if by == PRODUCT:
        lines = book.lines
        changes = mrr_changes(lines, ("account_id", "product"))
        paying = lines.filter((lines.mrr > 0) & (lines.end_m > lines.start_m))
        firsts = paying.group_by("account_id").aggregate(account_first_m=paying.start_m.min())
        firsts = firsts.select(first_id=firsts.account_id, account_first_m=firsts.account_first_m)
        joined = changes.left_join(firsts, changes.account_id == firsts.first_id)
        group = joined.product.fill_null(NONE_LABEL)
        return joined.mutate(group=group).drop("product", "first_id")
    accounts, column = account_attribute(book, by, workspace, as_of)
    attrs = accounts.select(attr_id=accounts.account_id, attr=accounts[column])
    changes = mrr_changes(book.lines)
    joined = changes.left_join(attrs, changes.account_id == attrs.attr_id)
    group = joined.attr.cast("string").fill_null(NONE_LABEL)
    return joined.mutate(group=group).drop("attr", "attr_id")


#: ``--by`` names that mean another column when the accounts have no column of that name.
BY_ALIASES = {"tier": "plan_tier"}


def account_attribute(
    book: Book, by: str, workspace: Workspace | None, as_of: date | None
) -> tuple[ir.Table, str]:
    """The accounts table and the column of it to group by ``by``: an account column
    (``industry``, ``owner``, ``plan_tier`` or ``tier``, ...), or a field of the health
    snapshot (``segment``, ``band``, ``stage``, ``scorecard``: each account's value in
    its latest snapshot on or before ``as_of``, "(none)" without one). Raises
    :class:`InputError` listing what ``by`` can be."""
    accounts = book.accounts
    if by in accounts.columns:
        return accounts, by
    alias = BY_ALIASES.get(by)
    if alias is not None and alias in accounts.columns:
        return accounts, alias
    from keepwell.health import service as health_service  # health reads revenue too

    if by in health_service.GROUP_FIELDS and workspace is not None and as_of is not None:
        labels = health_service.account_groups(workspace, by, as_of)
        table = ibis.memtable(
            {"label_id": list(labels), "label": list(labels.values())},
            schema={"label_id": "string", "label": "string"},
        )
        joined = accounts.left_join(table, accounts.account_id == table.label_id)
        return joined.mutate(**{"kw_group": joined.label}).drop("label", "label_id"), "kw_group"
    options = [*accounts.columns, *BY_ALIASES, *health_service.GROUP_FIELDS, PRODUCT]
    raise InputError(
        f"accounts has no column {by}", hint=f"--by can be: {', '.join(dict.fromkeys(options))}"
    )


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
    ``YYYY-MM`` instead of ``m``); money in the base currency, decimal(38, 6).
    Month-end method: an account that starts and stops within one month never shows.
    """
    if end < start:
        raise InputError(f"--to {end} is before --from {start}")
    book = _book(workspace, book)
    first, last = month_index(start), month_index(end)
    if by is None:
        amounts = book.movement_amounts()
    else:
        changes = grouped_changes(book, by, workspace, end)
        amounts = book.rows(movement_amounts(changes))
    result = []
    for row in monthly_movements(amounts, first, last):
        row["month"] = month_label(row.pop("m"))
        result.append({k: row[k] for k in ("group", "month", *COLUMNS[2:])})
    return result


def account_month_movements(
    workspace: Workspace, month: date, *, book: Book | None = None
) -> dict[str, dict[str, Any]]:
    """The rows of :func:`mrr_movements` grouped by account for the one month of
    ``month``, computed in the engine for that month only (50,000 accounts in one
    query, without walking each account's history in Python): per account with MRR at
    the end of the month before or at its end, or a movement in it."""
    book = _book(workspace, book)
    values: dict[str, Value] = {"m": month_index(month)}
    table = book.arrow("account_month", lambda v: account_month(book.lines, v["m"]), values)
    label = month_label(month_index(month))
    result: dict[str, dict[str, Any]] = {}
    for r in table.to_pylist():
        key = str(r.pop("key"))
        result[key] = {"group": key, "month": label, **r}
    return result


#: Columns of :func:`account_rate_parts` per month ``i``: ``<rate>_n<i>`` and
#: ``<rate>_d<i>`` for each rate of :func:`rate_parts`, and the level ``mrr_n<i>``
#: (ending MRR) over ``mrr_d<i>`` (ending accounts).
RATE_NAMES = ("logo_churn_rate", "gross_mrr_churn_rate", "nrr", "grr", "mrr")


def account_rate_parts(
    workspace: Workspace, m0: date, m1: date, *, book: Book | None = None
) -> pa.Table:
    """Per account (``account_id``) with MRR at the start or end of the month of ``m0``
    or of ``m1``, or a movement in one of them: the numerator and denominator of each
    monthly rate of :func:`rate_parts` in each month (the same formulas, computed in the
    engine over every account at once; columns named in :data:`RATE_NAMES`), 0 where
    the account had nothing that month. Money decimal(38, 6), counts int64."""
    book = _book(workspace, book)

    def build(v: Mapping[str, Any]) -> ir.Table:
        months = []
        for i, m in enumerate((v["m0"], v["m1"])):
            rows = account_month(book.lines, m)
            parts = {**kpis.rate_parts(rows), "mrr": (rows.ending_mrr, rows.ending_accounts)}
            named = {f"{n}_n{i}": parts[n][0] for n in RATE_NAMES}
            named.update({f"{n}_d{i}": parts[n][1] for n in RATE_NAMES})
            months.append(rows.select(**{f"k{i}": rows.key}, **named))
        first, second = months
        keys = first.select(key=first.k0).union(second.select(key=second.k1), distinct=True)
        joined = keys.left_join(first, keys.key == first.k0)
        joined = joined.left_join(second, joined.key == second.k1)
        columns = [c for c in joined.columns if c not in ("key", "k0", "k1")]
        filled = {c: joined[c].fill_null(0).cast(joined[c].type()) for c in columns}
        return joined.select(account_id=joined.key, **filled)

    values: dict[str, Value] = {"m0": month_index(m0), "m1": month_index(m1)}
    return book.arrow("account_rate_parts", build, values)


def mark_partial_months(rows: list[dict[str, Any]], as_of: date) -> list[dict[str, Any]]:
    """``rows`` with ``month`` (``YYYY-MM``) and a ``partial`` flag: true for the month
    of ``as_of`` when ``as_of`` is not its last day (its figures are month-end figures
    of a month the data does not cover yet), and for later months."""
    current = month_index(as_of)
    whole = last_complete_month(as_of)
    for row in rows:
        year, month = (int(p) for p in str(row["month"]).split("-"))
        index = year * 12 + month - 1
        row["partial"] = index > whole and index >= current
    return rows


def rate_parts(month: Mapping[str, Any]) -> dict[str, tuple[Decimal | int, Decimal | int]]:
    """(numerator, denominator) of each monthly rate of one row of :func:`mrr_movements`
    (``logo_churn_rate``, ``gross_mrr_churn_rate``, ``nrr``, ``grr``): the formulas of
    the summary, for faces and slices that split a rate by group."""
    return kpis.rate_parts(month)


def _totals(book: Book, first: int, last: int) -> dict[int, dict[str, Any]]:
    rows = monthly_movements(book.movement_amounts(), first, last, groups=(ALL,))
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
    cross_sell_rate: float | None
    repurchase_rate: float | None
    cross_sell_and_repurchase_rate: float | None
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
    (as_of - renewal_days, as_of]; cross-sell and repurchase rates the customers paying
    the day before that period (see :mod:`keepwell.revenue.purchases`).
    """
    book = _book(workspace, book)
    month = last_complete_month(as_of)
    current = month_index(as_of)
    totals = _totals(book, min(month, current - 6), max(month, current - 1))
    rates = kpis.monthly_rates(totals[month])
    renewal_start = as_of - timedelta(days=renewal_days - 1)
    fig = _summary_figures(book, as_of, month, as_of + timedelta(days=horizon_days), renewal_start)
    mrr, paying = fig["mrr"], int(fig["paying"])
    arpa = kpis.arpa(mrr, paying)
    churn6 = [kpis.monthly_rates(totals[m]).logo_churn_rate for m in range(current - 6, current)]
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
        nrr_ttm=kpis.ratio(fig["ttm_current"], fig["ttm_base"]),
        grr_ttm=kpis.ratio(fig["ttm_floor"], fig["ttm_base"]),
        quick_ratio=kpis.quick_ratio([totals[month]]),
        ltv=kpis.ltv(arpa, gross_margin, churn6),
        cac_payback_months=kpis.cac_payback(
            cac, totals[month]["new"], totals[month]["new_accounts"], gross_margin
        ),
        cmrr=mrr + fig["added"] - fig["removed"],
        renewal_period_start=renewal_start,
        logo_renewal_rate=kpis.ratio(fig["renewed_accounts"] or 0, fig["accounts"] or 0),
        gross_dollar_renewal_rate=kpis.ratio(fig["floor"] or 0, fig["expiring"] or 0),
        net_dollar_renewal_rate=kpis.ratio(fig["successor"] or 0, fig["expiring"] or 0),
        cross_sell_rate=kpis.ratio(fig["cross_sell_accounts"] or 0, fig["customers"]),
        repurchase_rate=kpis.ratio(fig["repurchase_accounts"] or 0, fig["customers"]),
        cross_sell_and_repurchase_rate=kpis.ratio(fig["purchase_accounts"] or 0, fig["customers"]),
        share_of_wallet=kpis.ratio(fig["wallet_arr"], fig["wallet_budget"]),
    )


def _summary_figures(
    book: Book, as_of: date, month: int, horizon_end: date, renewal_start: date
) -> dict[str, Any]:
    """The one row of engine figures of the summary: point figures, CMRR parts and
    renewal totals, in one query (a template: compiled once per process)."""

    def build(v: Mapping[str, Any]) -> ir.Table:
        point = kpis.point_figures(book.lines, book.accounts, v["day"], v["month"])
        parts = cmrr.cmrr_parts(book.lines, v["day"], v["horizon_end"]).drop("mrr")
        outcomes = renewals.renewal_outcomes(book.lines, v["renewal_start"], v["day"])
        bought = purchases.purchase_totals(book.lines, v["renewal_start"], v["day"])
        return (
            point.cross_join(parts).cross_join(renewals.renewal_totals(outcomes)).cross_join(bought)
        )

    values: dict[str, Value] = {"day": as_of, "month": month, "horizon_end": horizon_end}
    values["renewal_start"] = renewal_start
    return book.query("portfolio_summary", build, values)[0]


def upcoming_renewals(
    workspace: Workspace, as_of: date, within_days: int, *, book: Book | None = None
) -> list[dict[str, Any]]:
    """Lines ending in (as_of, as_of + within_days] with ARR, auto-renew and whether a
    successor line already exists."""
    book = _book(workspace, book)
    return book.rows(renewals.upcoming_renewals(book.lines, as_of, within_days))


def account_names(workspace: Workspace, *, book: Book | None = None) -> dict[str, str]:
    """Each account's name (its id when it has none), for faces that list accounts."""
    book = _book(workspace, book)
    table = book.con.to_pyarrow(book.accounts.select("account_id", "name"))
    ids, names = table["account_id"].to_pylist(), table["name"].to_pylist()
    return {str(a): str(n or a) for a, n in zip(ids, names, strict=True)}


def past_renewals(
    workspace: Workspace, start: date, end: date, *, book: Book | None = None
) -> list[dict[str, Any]]:
    """Lines that ended in [start, end] with their outcome (renewed, expanded,
    contracted, churned)."""
    book = _book(workspace, book)
    return book.rows(renewals.past_renewals(book.lines, start, end))


def account_history(workspace: Workspace, account_id: str, as_of: date) -> dict[str, Any]:
    """The revenue story of ``account_id`` up to ``as_of`` (see :func:`account_histories`),
    from that account's lines only (read by the database's index)."""
    mine = read_table(workspace, "subscriptions", account_id=account_id)
    one = read_table(workspace, "accounts", account_id=account_id)
    book = book_from_arrow(mine, one, read_table(workspace, "fx_rates"),
                           workspace.setting("base_currency"))  # fmt: skip
    return account_histories(workspace, as_of, book=book).get(account_id) or no_history()


def no_history() -> dict[str, Any]:
    """The revenue story of an account without lines."""
    return {"changes": [], "renewals": []}


def account_histories(
    workspace: Workspace, as_of: date, *, book: Book | None = None
) -> dict[str, dict[str, Any]]:
    """The revenue story up to ``as_of`` of every account of the book with lines:
    ``changes``, the months in which its MRR (base currency, exact decimals) changed
    (``month`` = the month's first day, ``prev`` and ``curr`` = MRR at the end of the
    month before and of the month), oldest first, and ``renewals``, its lines that ended
    on or before ``as_of`` with their outcome (see :func:`past_renewals`), in end-date
    order. Two queries for the whole book, so a page can keep them for every account
    (the portfolio's directory does) instead of one book per account."""
    book = _book(workspace, book)
    lines = book.lines
    changes = mrr_changes(lines)
    changes = changes.filter(changes.m <= month_index(as_of)).order_by(["account_id", "m"])
    result: dict[str, dict[str, Any]] = {}
    for r in book.rows(changes.select("account_id", "m", "prev", "curr")):
        entry = result.setdefault(r["account_id"], no_history())
        entry["changes"].append(
            {"month": month_start(int(r["m"])), "prev": r["prev"], "curr": r["curr"]}
        )
    for r in book.rows(renewals.past_renewals(lines, date(1900, 1, 1), as_of)):
        result.setdefault(r["account_id"], no_history())["renewals"].append(r)
    return result


def _groups(
    book: Book, by: str | None, workspace: Workspace | None, as_of: date
) -> ir.Table | None:
    if by is None:
        return None
    acc, column = account_attribute(book, by, workspace, as_of)
    return acc.select("account_id", group=acc[column].cast("string").fill_null(NONE_LABEL))


def _first_month(book: Book) -> int | None:
    value = book.rows(book.lines.aggregate(m=book.lines.start_m.min()))[0]["m"]
    return None if value is None else int(value)


def cohort_retention(
    workspace: Workspace, as_of: date, by: str | None = None, *, book: Book | None = None
) -> list[dict[str, Any]]:
    """Logo and revenue retention by cohort month x age (months), up to the last
    complete month of ``as_of``; optionally split by an account attribute."""
    book = _book(workspace, book)
    groups = _groups(book, by, workspace, as_of)  # a wrong ``by`` is an error even when empty
    first, last = _first_month(book), last_complete_month(as_of)
    if first is None or first > last:
        return []
    rows = book.rows(cohort_table(book.lines, first, last, groups))
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
    joined = lifetimes(book.lines, last)
    subjects = joined.select(
        "account_id",
        duration=joined.churn_m.fill_null(last) - joined.first_m,
        event=joined.churn_m.notnull(),
    )
    groups = _groups(book, by, workspace, as_of)
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


def customer_lifetimes(
    workspace: Workspace, until: date, *, book: Book | None = None
) -> dict[str, tuple[date, date | None]]:
    """Per account with MRR at a month end up to the last complete month of ``until``:
    (the first month end with MRR, the first later month end without MRR or None). The
    month-end method of the MRR ledger: a churn is the month end after the account's
    last line ended."""
    book = _book(workspace, book)
    rows = book.rows(lifetimes(book.lines, last_complete_month(until)))
    return {
        str(r["account_id"]): (
            month_end(int(r["first_m"])),
            None if r["churn_m"] is None else month_end(int(r["churn_m"])),
        )
        for r in rows
    }


def fit_retention(
    survivors: list[int], project: int | None = None, discount_rate: float = 0.1
) -> dict[str, Any]:
    """sBG fit of counts still active per renewal period, with its projection."""
    model = ShiftedBetaGeometric().fit(survivors)
    return model.summary(periods=project, discount_rate=discount_rate)


def retention_counts(
    workspace: Workspace, as_of: date, period: RenewalPeriod, *, book: Book | None = None
) -> dict[str, list[int]]:
    """Per cohort (``YYYY-MM`` of first MRR) of accounts on ``period`` renewals: the
    accounts still active after each complete period 0, 1, ... up to the last complete
    month of ``as_of`` (see ``renewal_cohorts``), oldest cohort first."""
    book = _book(workspace, book)
    first, last = _first_month(book), last_complete_month(as_of)
    if first is None or first > last:
        return {}
    counts: dict[str, list[int]] = {}
    for row in book.rows(survivor_counts(book.lines, period, first, last)):
        counts.setdefault(month_label(row["cohort"]), []).append(int(row["active"]))
    return counts


def fit_workspace_retention(
    workspace: Workspace,
    as_of: date,
    period: RenewalPeriod,
    *,
    cohort: str | None = None,
    by_cohort: bool = False,
    project: int | None = None,
    discount_rate: float = 0.1,
    book: Book | None = None,
) -> dict[str, Any]:
    """sBG fit of the workspace's accounts on ``period`` renewals, from the counts of
    :func:`retention_counts`: of one ``cohort`` (``YYYY-MM``), of each cohort with a
    complete period (``by_cohort``), or by default pooled over those cohorts (each
    censored at its own last complete period; see ``ShiftedBetaGeometric.fit_cohorts``).
    """
    counts = retention_counts(workspace, as_of, period, book=book)
    head: dict[str, Any] = {"period": str(period), "as_of": as_of}
    if cohort is not None:
        survivors = counts.get(cohort, [])
        if len(survivors) < 2:
            raise InputError(
                f"cohort {cohort} has no account on {period} renewals with a complete "
                f"period by {as_of}",
                hint=f"cohorts with a complete period: {_observed_list(counts)}",
            )
        fit = fit_retention(survivors, project, discount_rate)
        return {**head, "cohort": cohort, "counts": survivors, **fit}
    observed = {c: n for c, n in counts.items() if len(n) >= 2}
    if not observed:
        raise InputError(
            f"no account on {period} renewals has a complete period by {as_of}",
            hint="use a later --as-of, or the other --period",
        )
    if by_cohort:
        fits = [
            {"cohort": c, "counts": n, **fit_retention(n, project, discount_rate)}
            for c, n in observed.items()
        ]
        return {**head, "cohorts": fits}
    model = ShiftedBetaGeometric().fit_cohorts(list(observed.values()))
    summary = model.summary(periods=project, discount_rate=discount_rate)
    return {**head, "cohort": "all", "counts": observed, **summary}


def _observed_list(counts: dict[str, list[int]]) -> str:
    return ", ".join(c for c, n in counts.items() if len(n) >= 2) or "none"


def simulate_retention(a: Scenario, b: Scenario) -> dict[str, Any]:
    """Retention economics of scenario ``a`` against ``b`` (see simulator.compare)."""
    return compare(a, b)
