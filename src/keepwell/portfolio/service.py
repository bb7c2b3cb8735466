"""Use cases of the portfolio read model: what the pages, the business review and the
API show about the book of accounts, built only from the other slices' services (the
public surface of ``portfolio``).

- the account directory (:func:`directory`), built once per day and kept (see
  :mod:`keepwell.portfolio.cache`);
- the overview (:func:`overview`): KPIs, health bands and their trend, ARR at risk, the
  renewals of the next 90 days;
- renewals by month with the churn model's forecast (:func:`renewals`);
- Account 360 (:func:`account_view`) and the usage of an account's peers
  (:func:`peer_usage`).

``scope`` is the caller's owner scope: None sees every account, an email only the
accounts that owner holds. Figures that change with imports and scoring, not from one
request to the next, are kept :data:`keepwell.core.memo.TTL_SECONDS`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from keepwell.auth import service as auth_service
from keepwell.contract import service as contract_service
from keepwell.core import periods
from keepwell.core.errors import NotFoundError
from keepwell.core.memo import forget as memo_forget
from keepwell.core.memo import memo
from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from keepwell.notify import service as notify_service
from keepwell.portfolio import cache, story
from keepwell.portfolio import directory as directories
from keepwell.portfolio.account import (
    USAGE_DAYS,
    account_risk,
    adoption,
    key_people_left,
    plan_view,
    usage_by_month,
)
from keepwell.portfolio.directory import Directory
from keepwell.portfolio.renewals import (
    arr_at_risk,
    by_month,
    call_rollup,
    month_to_month,
    named,
    with_calls,
)
from keepwell.revenue import service as revenue_service
from keepwell.risk import service as risk_service
from keepwell.success import service as success_service

#: Days of renewals on the overview and on the renewals page.
OVERVIEW_RENEWAL_DAYS = 90
RENEWAL_DAYS = 120
#: Timeline entries on Account 360.
TIMELINE_LIMIT = 50
#: The kinds of timeline entry (``--kind``) and the fields of an entry.
TIMELINE_KINDS = story.KINDS
TIMELINE_FIELDS = story.FIELDS
#: Snapshots in the band trend.
TREND_SNAPSHOTS = 12
Lock = AbstractContextManager[Any]


def build_directory(workspace: Workspace, as_of: date) -> Directory:
    """Read the accounts, the latest health snapshot on or before ``as_of`` and revenue's
    ARR, next renewal and revenue story on ``as_of`` into a :class:`Directory` (one
    read of the book for both)."""
    snapshot, health = health_service.latest_snapshot(workspace, as_of)
    book = revenue_service.load_book(workspace)
    revenue = revenue_service.account_arr(workspace, as_of, book=book)
    histories = revenue_service.account_histories(workspace, as_of, book=book)
    accounts = contract_service.read_table(workspace, "accounts").to_pylist()
    gone = auth_service.inactive_owners(workspace)  # deactivated users: shown unassigned
    accounts = [{**a, "owner": None} if (a["owner"] or "").lower() in gone else a
                for a in accounts]  # fmt: skip
    return directories.build(as_of, accounts, snapshot, health, revenue, histories)


def directory(workspace: Workspace, as_of: date) -> Directory:
    """The directory of ``workspace`` on ``as_of``: built by the first request, then
    rebuilt in the background every :data:`keepwell.portfolio.cache.TTL_SECONDS`."""
    return cache.cached((workspace.key, as_of), lambda: build_directory(workspace, as_of))


def warm(
    workspace: Workspace, as_of: date, on_error: Callable[[Exception], None]
) -> threading.Thread:
    """Build the directory of ``as_of`` in a background thread (the server calls it at
    start, so the first visitor does not wait for it); a failure goes to ``on_error``
    and the first request builds it instead."""

    def build() -> None:
        try:
            directory(workspace, as_of)
        except Exception as exc:  # reported; the pages build it on demand
            on_error(exc)

    thread = threading.Thread(target=build, name="keepwell-directory-warm", daemon=True)
    thread.start()
    return thread


def forget(workspace: Workspace) -> None:
    """Drop the kept directories and figures of ``workspace`` (the next request
    rebuilds): the server calls it once a cycle or a command changed the stores."""
    cache.forget(workspace.key)
    memo_forget(workspace.key)


def band_trend(workspace: Workspace, scope: str | None, as_of: date) -> list[dict[str, Any]]:
    """Accounts per health band in each of the last :data:`TREND_SNAPSHOTS` snapshots
    (oldest first), only the accounts of ``scope`` (in the directory of ``as_of``) when
    given."""
    accounts: Collection[str] | None = None
    if scope is not None:
        rows = directories.visible(directory(workspace, as_of).rows, scope)
        accounts = {r["account_id"] for r in rows}
    return health_service.band_trend(workspace, TREND_SNAPSHOTS, accounts)


def _revenue_figures(workspace: Workspace, scope: str | None, day: date) -> Any:
    book = revenue_service.scoped_book(workspace, scope)
    summary = revenue_service.portfolio_summary(workspace, day, book=book)
    start = periods.month_end(day) - timedelta(days=365)
    months = revenue_service.mrr_movements(workspace, start, day, book=book)
    months = revenue_service.mark_partial_months(months, day)
    upcoming = revenue_service.upcoming_renewals(workspace, day, OVERVIEW_RENEWAL_DAYS, book=book)
    return summary, months, upcoming


def overview(workspace: Workspace, scope: str | None, day: date) -> dict[str, Any]:
    """The portfolio on ``day``: revenue summary, 13 months of MRR movements, customers
    per band and the band trend, ARR at risk (the model's, else the red band's), the
    renewals of the next :data:`OVERVIEW_RENEWAL_DAYS` days; kept like the revenue
    figures (the bands and ARR at risk add up every account of a large book)."""
    return memo(("overview", workspace.key, scope, day), lambda: _overview(workspace, scope, day))


def _overview(workspace: Workspace, scope: str | None, day: date) -> dict[str, Any]:
    summary, months, upcoming = _revenue_figures(workspace, scope, day)
    d = directory(workspace, day)
    rows = [r for r in directories.visible(d.rows, scope) if not r["is_prospect"]]
    at_risk, modelled = arr_at_risk(rows)
    upcoming_rows = named([dict(r) for r in upcoming], d)
    complete = [m for m in months if m["month"] <= summary.month] or months
    return {
        "summary": summary,
        "months": months,
        "last_complete_month": complete[-1] if complete else None,
        "bands": directories.band_counts(rows),
        "trend": band_trend(workspace, scope, day),
        "at_risk": at_risk,
        "modelled": modelled,
        "renewals": upcoming_rows,
        "renewal_arr": sum((r["arr"] for r in upcoming_rows), Decimal(0)),
        "snapshot": d.snapshot,
    }


def renewals(workspace: Workspace, scope: str | None, day: date) -> dict[str, Any]:
    """Lines ending in the next :data:`RENEWAL_DAYS` days by month with their health and
    the expected renewed ARR of the lines the churn model scored, and the customers
    without a renewal date (month to month) counted apart; kept like the revenue
    figures (thousands of lines a month in a large book)."""
    return memo(("renewals", workspace.key, scope, day), lambda: _renewals(workspace, scope, day))


def _renewals(workspace: Workspace, scope: str | None, day: date) -> dict[str, Any]:
    currency, upcoming = _upcoming(workspace, scope, day)
    d = directory(workspace, day)
    rows = named([dict(r) for r in upcoming], d)
    forecast = risk_service.expected_renewals(rows)
    with_calls(
        rows, success_service.renewal_calls(workspace, sorted({r["account_id"] for r in rows}))
    )
    months = by_month(rows)
    return {
        "currency": currency,
        "months": months,
        "calls": call_rollup(rows),
        "total": sum((m["arr"] for m in months), Decimal(0)),
        "forecast": forecast,
        "days": RENEWAL_DAYS,
        "month_to_month": month_to_month(d, scope),
    }


def _upcoming(workspace: Workspace, scope: str | None, day: date) -> tuple[str, Any]:
    book = revenue_service.scoped_book(workspace, scope)
    rows = revenue_service.upcoming_renewals(workspace, day, RENEWAL_DAYS, book=book)
    return book.base_currency, rows


def _health(workspace: Workspace, account_id: str) -> dict[str, Any] | None:
    try:
        return health_service.explain_account(workspace, account_id)
    except NotFoundError:
        return None


def account_detail(workspace: Workspace, account_id: str, scope: str | None) -> dict[str, Any]:
    """The account with its subscriptions, contacts, invoices, tickets, surveys and
    timeline (the contract's detail) and ``health``: its latest health explanation, None
    before the first scoring. NotFoundError when out of ``scope``."""
    detail = _unassign_gone(
        workspace, contract_service.account_detail(workspace, account_id, scope=scope)
    )
    detail["health"] = _health(workspace, account_id)
    return detail


def _unassign_gone(workspace: Workspace, detail: dict[str, Any]) -> dict[str, Any]:
    """``detail`` with no owner when its owner is a deactivated user (as the directory
    shows it: unassigned), the former owner kept as ``former_owner``."""
    owner = detail.get("owner")
    if owner and owner.lower() in auth_service.inactive_owners(workspace):
        return {**detail, "owner": None, "former_owner": owner}
    return detail


def _plan(workspace: Workspace, account_id: str, as_of: date) -> dict[str, Any] | None:
    try:
        return plan_view(success_service.show_plan(workspace, account_id, as_of))
    except NotFoundError:
        return None


def account_usage(
    workspace: Workspace, account_id: str, first: date, last: date, lock: Lock | None = None
) -> list[dict[str, Any]]:
    """Events and distinct users of ``account_id`` per day and event in [first, last]
    (the contract's usage query, on whichever analytics engine the workspace uses)."""
    with lock or nullcontext():
        return contract_service.account_usage(workspace.analytics(), account_id, first, last)


def account_view(
    workspace: Workspace,
    account_id: str,
    as_of: date,
    scope: str | None,
    lock: Lock | None = None,
    kinds: Collection[str] | None = None,
) -> dict[str, Any]:
    """The account as Account 360 shows it (NotFoundError when out of ``scope``):
    detail, directory row, health and its history, usage of the last
    :data:`~keepwell.portfolio.account.USAGE_DAYS` days, key people who left, surveys,
    churn risk, work, success plan, reference requests and whether it stopped giving
    references, and the whole-story timeline (:func:`account_story`,
    of ``kinds``). ``lock`` guards the analytics store
    when the server shares it with its event writer."""
    detail = _unassign_gone(
        workspace, contract_service.account_detail(workspace, account_id, scope=scope)
    )
    row = directory(workspace, as_of).by_id.get(account_id, {})
    usage = account_usage(workspace, account_id, as_of - timedelta(days=USAGE_DAYS), as_of, lock)
    surveys = detail["surveys"]
    health = _health(workspace, account_id)
    return {
        "account": detail,
        "row": row,
        "arr": row.get("arr", Decimal(0)),
        "health": health,
        "history": health_service.score_history(workspace, account_id),
        "usage": usage_by_month(usage, as_of),
        "adoption": adoption(usage, as_of),
        "left": key_people_left(detail["contacts"]),
        "nps": [s for s in surveys if s["kind"] == "nps"],
        "csat": [s for s in surveys if s["kind"] == "csat"],
        "risk": account_risk(health),
        "risk_model": risk_service.has_model(workspace),
        "work": success_service.work_items(workspace, as_of, account_id=account_id, scope=scope),
        "plan": _plan(workspace, account_id, as_of),
        "renewal_call": success_service.renewal_calls(workspace, [account_id]).get(account_id),
        "references": success_service.account_references(workspace, account_id, as_of),
        "contact_roles": success_service.CONTACT_ROLES,
        "segments": success_service.segment_names(workspace),
        "timeline": {
            "items": account_story(workspace, account_id, as_of, scope=scope, kinds=kinds),
            "kinds": sorted(story.check_kinds(kinds) or ()),
            "all_kinds": story.KINDS,
        },
    }


def account_story(
    workspace: Workspace,
    account_id: str,
    as_of: date,
    *,
    scope: str | None,
    kinds: Collection[str] | None = None,
    limit: int | None = TIMELINE_LIMIT,
    tag: str | None = None,
) -> list[dict[str, Any]]:
    """The whole story of ``account_id`` up to the end of ``as_of``, newest first, at
    most ``limit`` entries (None: all), of ``kinds`` (None: every kind of
    :data:`keepwell.portfolio.story.KINDS`): activities and notes, tickets, surveys,
    CTAs, plan check-ins and milestones, messages sent, health band changes, renewals
    and MRR changes. NotFoundError when out of ``scope``, InputError for an unknown
    kind. With ``tag``, only the activities carrying it (tags belong to activities).
    The one place the timeline is assembled; every face calls it."""
    wanted = story.check_kinds(kinds)
    if tag:
        wanted = set(story.ACTIVITY_KINDS) if wanted is None else wanted & set(story.ACTIVITY_KINDS)
    detail = contract_service.account_detail(workspace, account_id, scope=scope)

    def want(*names: str) -> bool:
        return wanted is None or not wanted.isdisjoint(names)

    entries: list[dict[str, Any]] = []
    if want(*story.ACTIVITY_KINDS):
        activities = success_service.account_timeline(workspace, account_id, None, tag=tag)
        entries += story.activities(activities)
    entries += story.tickets(detail["tickets"]) + story.surveys(detail["surveys"])
    if want("cta"):
        ctas = success_service.list_ctas(
            workspace, as_of=as_of, status="all", account_id=account_id
        )
        entries += story.ctas(ctas)
    if want("checkin", "milestone"):
        entries += story.plan(_plan(workspace, account_id, as_of))
    if want("message"):
        entries += story.messages(notify_service.sent_to_account(workspace, account_id))
    if want("band"):
        entries += story.band_changes(health_service.score_history(workspace, account_id))
    if want("renewal", "revenue"):
        revenue = _revenue_story(workspace, account_id, as_of)
        entries += story.renewals(revenue["renewals"])
        entries += story.revenue_changes(revenue["changes"])
    until = datetime.combine(as_of, time.max, tzinfo=UTC)
    return story.select(entries, wanted, until, limit)


def _revenue_story(workspace: Workspace, account_id: str, as_of: date) -> dict[str, Any]:
    """Revenue's story of the account: from the directory of ``as_of`` when it is built
    (pages build it: no book per account), else from the account's own lines."""
    if cache.holds((workspace.key, as_of)):
        kept = directory(workspace, as_of).histories.get(account_id)
        return kept or revenue_service.no_history()
    return revenue_service.account_history(workspace, account_id, as_of)


def add_note(
    workspace: Workspace,
    account_id: str,
    author: str,
    body: str,
    *,
    scope: str | None,
    now: datetime,
) -> None:
    """Add a note to the timeline of ``account_id`` (NotFoundError when out of ``scope``)."""
    contract_service.visible_account(workspace, account_id, scope=scope)
    success_service.add_note(workspace, account_id, author, body, None, "note", now)


def peers(
    workspace: Workspace, account_id: str, as_of: date
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The directory row of ``account_id`` and those of its peers: the customers (not
    prospects) of the same segment and industry; ``(None, [])`` when it has no row."""
    d = directory(workspace, as_of)
    me = d.by_id.get(account_id)
    if me is None:
        return None, []
    group = d.customers_of(me["segment"], me["industry"])
    return me, [r for r in group if r["account_id"] != account_id]


def peer_usage(
    workspace: Workspace, ids: list[str], as_of: date, lock: Lock | None = None
) -> dict[str, dict[str, float | None]]:
    """Active users (distinct, 30 days) and events per active user of ``ids`` as of
    ``as_of``: health's usage measures; accounts without an event in the 30 days are
    absent. Read for every account at once and kept (:func:`keepwell.core.memo.memo`):
    the peers of an account are thousands in a large book."""

    def every() -> dict[str, dict[str, Any]]:
        with lock or nullcontext():
            return health_service.usage_of(workspace, None, as_of)

    usage = memo(("peer usage", workspace.key, as_of), every)
    result: dict[str, dict[str, float | None]] = {}
    for account in ids:
        measures = usage.get(account)
        if measures is None:
            continue
        users, events = measures["active_users_30d"] or 0, measures["events_30d"] or 0
        if users or events:
            result[account] = {
                "active_users": float(users),
                "events_per_user": float(events) / users if users else None,
            }
    return result
