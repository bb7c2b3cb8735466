"""Web pages of the portfolio: the overview, renewals by month, the filterable account
table with CSV export, and Account 360 with its form (add a note). A CSM limited to
their book sees its accounts and figures only."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from keepwell.auth import service as auth_service
from keepwell.core.errors import InputError
from keepwell.portfolio import service
from keepwell.portfolio.account import nps_trend
from keepwell.portfolio.directory import SORTS, Filters, page_of, search, to_csv
from keepwell.web import charts
from keepwell.web.deps import AnalyticsLock, WorkspaceDep
from keepwell.web.ids import PathId
from keepwell.web.toolkit import (
    PageUser,
    check_csrf,
    check_form,
    page_day,
    page_user,
    render,
    today,
)

router = APIRouter(include_in_schema=False)
User = Annotated[PageUser, Depends(page_user)]
Text = Annotated[str | None, Query(max_length=320)]
RENEWAL_WINDOWS = (30, 60, 90, 120, 180, 365)
MAX_NOTE = 10_000


def _filters(
    search: Text = None,
    segment: Text = None,
    band: Text = None,
    owner: Text = None,
    stage: Text = None,
    industry: Text = None,
    renewal: Annotated[int | None, Query(ge=1, le=3650)] = None,
    sort: Annotated[str, Query(max_length=20)] = "name",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Filters:
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    return Filters(
        search or None,
        segment or None,
        band or None,
        owner or None,
        stage or None,
        industry or None,
        renewal,
        key if key in SORTS else "name",
        descending,
        page,
    )


Filtered = Annotated[Filters, Depends(_filters)]


@router.get("/accounts", response_class=HTMLResponse)
def accounts(request: Request, user: User, ws: WorkspaceDep, f: Filtered) -> HTMLResponse:
    """The accounts the user may see: filters, search, sort and 50 per page."""
    d = service.directory(ws, today())
    rows = search(d, user.owner_scope, f)
    shown, f, pages = page_of(rows, f)
    views = auth_service.saved_views(ws, user.principal.email, "accounts")
    return render(
        request,
        user,
        "accounts.html",
        title="Accounts",
        views=views,
        rows=shown,
        total=len(rows),
        f=f,
        pages=pages,
        options=d.options(user.owner_scope),
        windows=RENEWAL_WINDOWS,
        as_of=d.as_of,
        snapshot=d.snapshot,
    )


@router.post("/accounts/views")
async def save_view(
    user: User,
    ws: WorkspaceDep,
    csrf_token: Annotated[str, Form(max_length=200)],
    name: Annotated[str, Form(max_length=120)],
    query: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Save the accounts list's current filters and sort under a name (the user's own)."""
    check_csrf(user, csrf_token)
    await run_in_threadpool(auth_service.save_view, ws, user.principal.email,
                            "accounts", name, query, now=datetime.now(UTC))  # fmt: skip
    return RedirectResponse("/accounts?" + query.lstrip("?"), status_code=303)


@router.post("/accounts/views/{view_id}/delete")
async def delete_view(
    user: User,
    ws: WorkspaceDep,
    view_id: PathId,
    csrf_token: Annotated[str, Form(max_length=200)],
) -> Response:
    check_csrf(user, csrf_token)
    await run_in_threadpool(auth_service.delete_view, ws,
                            user.principal.email, view_id, now=datetime.now(UTC))  # fmt: skip
    return RedirectResponse("/accounts", status_code=303)


@router.get("/accounts.csv")
def accounts_csv(user: User, ws: WorkspaceDep, f: Filtered) -> Response:
    """Every account matching the filters (not only one page) as CSV."""
    d = service.directory(ws, today())
    body = to_csv(search(d, user.owner_scope, f))
    headers = {"Content-Disposition": f'attachment; filename="accounts-{d.as_of}.csv"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


def _score_chart(history: list[dict[str, Any]]) -> dict[str, Any]:
    x = [str(h["as_of"]) for h in history]
    chart = charts.line(
        "score-trend",
        "Health score over time (0–100)",
        x,
        {"score": [h["score"] for h in history]},
        x_title="snapshot",
        y_title="score",
        y_range=(0, 100),
    )
    chart["figure"]["layout"]["xaxis"]["type"] = "category"
    return chart


def _usage_charts(usage: dict[str, Any]) -> list[dict[str, Any]]:
    months = usage["months"]
    events = {
        name: [per.get(m, 0) for m in months] for name, per in sorted(usage["events"].items())
    }
    partial = [m == usage["partial"] for m in months]
    note = f"{usage['partial']}: partial month, so far"
    return [
        charts.mark_partial(
            charts.line(
                "active-users",
                "Active users (busiest day of the month)",
                months,
                {"users": [usage["peak_users"].get(m, 0) for m in months]},
                x_title="month",
                y_title="users",
            ),
            partial,
            note,
        ),
        charts.mark_partial(
            charts.bars(
                "events",
                "Product events per month",
                months,
                events,
                x_title="month",
                y_title="events",
                stacked=True,
            ),
            partial,
            note,
        ),
    ]


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
def account_360(
    request: Request,
    user: User,
    ws: WorkspaceDep,
    lock: AnalyticsLock,
    account_id: str,
    kind: Annotated[list[str] | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    """Account 360: revenue, health and why, usage, people, billing, work, and the
    timeline (only the entries of ``kind`` when given, repeatable)."""
    view = service.account_view(ws, account_id, today(), user.owner_scope, lock, kinds=kind)
    chart_list = _usage_charts(view["usage"])
    if view["history"]:
        chart_list.insert(0, _score_chart(view["history"]))
    if view["nps"]:
        trend = nps_trend(view["nps"])
        chart_list.append(
            charts.points_with_mean(
                "nps",
                "NPS answers (0–10)",
                trend["days"],
                trend["scores"],
                trend["rolling"],
                mean_name=f"mean of the last {trend['window']} answers",
                x_title="answered",
                y_title="score",
                y_range=(0, 10.5),
            )
        )
    return render(
        request,
        user,
        "account.html",
        title=view["account"]["name"],
        v=view,
        a=view["account"],
        as_of=today(),
        charts=chart_list,
        max_note=MAX_NOTE,
    )


@router.post("/accounts/{account_id}/notes")
async def add_note(
    user: User,
    ws: WorkspaceDep,
    account_id: str,
    body: Annotated[str, Form(max_length=MAX_NOTE)],
    csrf_token: Annotated[str, Form(max_length=200)],
) -> Response:
    """Add a note to the account's timeline, then back to Account 360."""
    check_form(user, csrf_token)
    if not body.strip():
        raise InputError("a note needs some text")
    await run_in_threadpool(
        service.add_note,
        ws,
        account_id,
        user.principal.email,
        body.strip(),
        scope=user.owner_scope,
        now=datetime.now(UTC),
    )
    return RedirectResponse(f"/accounts/{quote(account_id, safe='')}#timeline", status_code=303)


AsOf = Annotated[date | None, Query()]
#: Movements in bridge order; contraction and churn are negative amounts (metrics.md).
MOVEMENT_STEPS = ("new", "reactivation", "expansion", "contraction", "churn")


def bridge_chart(month: dict[str, Any]) -> dict[str, Any]:
    """The month's MRR bridge: start, each movement (signed as stored), end."""
    steps: list[tuple[str, float, str]] = [("start", float(month["starting_mrr"]), "absolute")]
    steps += [(name, float(month[name]), "relative") for name in MOVEMENT_STEPS]
    steps.append(("end", float(month["ending_mrr"]), "total"))
    return charts.waterfall("bridge", f"MRR bridge, {month['month']}", steps, "MRR")


def _movement_chart(months: list[dict[str, Any]]) -> dict[str, Any]:
    x = [m["month"] + (" (partial)" if m.get("partial") else "") for m in months]
    series = {name: [float(m[name]) for m in months] for name in MOVEMENT_STEPS}
    chart = charts.bars(
        "movements",
        "MRR movements by month",
        x,
        series,
        y_title="MRR change",
        stacked=True,
        colours=["#1f8a4c", "#38a169", "#68d391", "#ed8936", "#c53030"],
    )
    chart["figure"]["layout"]["barmode"] = "relative"
    chart["figure"]["layout"]["yaxis"]["rangemode"] = "normal"
    partial = [bool(m.get("partial")) for m in months]
    return charts.mark_partial(chart, partial, "partial month: movements so far, not a month's")


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, user: User, ws: WorkspaceDep, as_of: AsOf = None) -> HTMLResponse:
    """The portfolio: KPIs, health bands and their trend, the MRR bridge, renewals."""
    day = page_day(request, as_of)
    o = service.overview(ws, user.owner_scope, day)
    chart_list = [
        _movement_chart(o["months"]),
        charts.stacked_bands("bands", "Accounts by health band, per snapshot", o["trend"]),
    ]
    if o["last_complete_month"]:
        chart_list.insert(0, bridge_chart(o["last_complete_month"]))
    return render(
        request,
        user,
        "overview.html",
        title="Portfolio overview",
        as_of=day,
        s=o["summary"],
        currency=o["summary"].base_currency,
        months=o["months"],
        bands=o["bands"],
        trend=o["trend"],
        at_risk=o["at_risk"],
        modelled=o["modelled"],
        renewals=o["renewals"][:15],
        renewal_count=len(o["renewals"]),
        renewal_arr=o["renewal_arr"],
        snapshot=o["snapshot"],
        charts=chart_list,
    )


@router.get("/renewals", response_class=HTMLResponse)
def renewals(request: Request, user: User, ws: WorkspaceDep, as_of: AsOf = None) -> HTMLResponse:
    """Lines ending in the next 120 days by month, with health, risk and forecast."""
    day = page_day(request, as_of)
    r = service.renewals(ws, user.owner_scope, day)
    months = r["months"]
    chart = charts.bars(
        "renewals",
        "ARR up for renewal by month and health band",
        [m["month"] for m in months],
        {
            "green": [float(m["green_arr"]) for m in months],
            "yellow": [float(m["yellow_arr"]) for m in months],
            "red": [float(m["red_arr"]) for m in months],
            "unscored": [float(m["unscored_arr"]) for m in months],
        },
        x_title="month",
        y_title="ARR",
        stacked=True,
        colours=[charts.BAND_COLOURS[b] for b in ("green", "yellow", "red", "unknown")],
    )
    return render(
        request,
        user,
        "renewals.html",
        title="Renewals",
        as_of=day,
        months=months,
        currency=r["currency"],
        total=r["total"],
        forecast=r["forecast"],
        calls=r["calls"],
        days=r["days"],
        month_to_month=r["month_to_month"],
        charts=[chart] if months else [],
    )
