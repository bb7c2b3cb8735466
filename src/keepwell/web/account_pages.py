"""Web pages of accounts: the filterable table with CSV export, Account 360 and its
forms (add a note), and the business review's HTML and PDF."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from keepwell.contract.queries import visible_account
from keepwell.core.errors import InputError
from keepwell.web import charts, success_view
from keepwell.web.account_view import account_view
from keepwell.web.directory import (
    SORTS,
    Filters,
    directory,
    page_of,
    search,
    to_csv,
)
from keepwell.web.pages import PageUser, check_form, page_user, render, today, workspace_of

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
def accounts(request: Request, user: User, f: Filtered) -> HTMLResponse:
    """The accounts the user may see: filters, search, sort and 50 per page."""
    d = directory(workspace_of(request), today())
    rows = search(d, user.owner_scope, f)
    shown, f, pages = page_of(rows, f)
    return render(
        request,
        user,
        "accounts.html",
        title="Accounts",
        rows=shown,
        total=len(rows),
        f=f,
        pages=pages,
        options=d.options(user.owner_scope),
        windows=RENEWAL_WINDOWS,
        as_of=d.as_of,
        snapshot=d.snapshot,
    )


@router.get("/accounts.csv")
def accounts_csv(request: Request, user: User, f: Filtered) -> Response:
    """Every account matching the filters (not only one page) as CSV."""
    d = directory(workspace_of(request), today())
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
    return [
        charts.line(
            "active-users",
            "Active users (busiest day of the month)",
            months,
            {"users": [usage["peak_users"].get(m, 0) for m in months]},
            x_title="month",
            y_title="users",
        ),
        charts.bars(
            "events",
            "Product events per month",
            months,
            events,
            x_title="month",
            y_title="events",
            stacked=True,
        ),
    ]


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
def account_360(request: Request, user: User, account_id: str) -> HTMLResponse:
    """Account 360: revenue, health and why, usage, people, billing, work, timeline."""
    ws = workspace_of(request)
    view = _view(request, ws, account_id, user)
    chart_list = _usage_charts(view["usage"])
    if view["history"]:
        chart_list.insert(0, _score_chart(view["history"]))
    if view["nps"]:
        nps = list(reversed(view["nps"]))
        chart_list.append(
            charts.line(
                "nps",
                "NPS answers (0–10)",
                [str(s["responded_at"])[:10] for s in nps],
                {"score": [s["score"] for s in nps]},
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


def _view(request: Request, ws: Any, account_id: str, user: PageUser) -> dict[str, Any]:
    lock = request.app.state.analytics_lock
    return account_view(ws, lock, account_id, today(), user.owner_scope)


@router.post("/accounts/{account_id}/notes")
async def add_note(
    request: Request,
    user: User,
    account_id: str,
    body: Annotated[str, Form(max_length=MAX_NOTE)],
    csrf_token: Annotated[str, Form(max_length=200)],
) -> Response:
    """Add a note to the account's timeline, then back to Account 360."""
    check_form(user, csrf_token)
    if not body.strip():
        raise InputError("a note needs some text")
    ws = workspace_of(request)
    await run_in_threadpool(visible_account, ws, account_id, scope=user.owner_scope)
    added = await run_in_threadpool(
        success_view.add_note,
        ws,
        account_id,
        user.principal.email,
        body.strip(),
        now=datetime.now(UTC),
    )
    if not added:
        raise InputError("notes cannot be added: the timeline service is not available")
    return RedirectResponse(f"/accounts/{quote(account_id, safe='')}#timeline", status_code=303)
