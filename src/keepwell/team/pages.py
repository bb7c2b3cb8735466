"""Web pages of the team slice: the team overview (books per team and CSM, coverage),
a CSM's book ("my book"), targets with attainment, and "why did it move" (reached from
every headline figure of the portfolio overview); the scorecard as CSV.

Role rules as in the API: without ``scope``, a CSM sees their own book, a manager
their team's, an admin the company's; a CSM limited to their accounts sees nothing else.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from keepwell.core.csvtext import csv_text
from keepwell.core.errors import InputError
from keepwell.team import service
from keepwell.web import charts
from keepwell.web.toolkit import PageUser, page_day, page_user, render, workspace_of

router = APIRouter(include_in_schema=False)
User = Annotated[PageUser, Depends(page_user)]
AsOf = Annotated[date | None, Query()]
Scope = Annotated[str | None, Query(max_length=16)]
Ident = Annotated[str, Query(max_length=320)]
Period = Annotated[str | None, Query(max_length=16)]


def _scope(request: Request, user: PageUser, scope: str | None, ident: str) -> tuple[str, str]:
    ws, principal = workspace_of(request), user.principal
    kind, found = (scope, ident) if scope else service.default_scope(
        ws, principal.email, str(principal.role))  # fmt: skip
    service.check_scope(kind, found, user.owner_scope)
    return kind, found


@router.get("/team", response_class=HTMLResponse)
def team(
    request: Request, user: User, as_of: AsOf = None, scope: Scope = None, id: Ident = ""
) -> HTMLResponse:
    """Books of business of the caller's scope, and coverage when it is the company's."""
    ws, day = workspace_of(request), page_day(request, as_of)
    kind, ident = _scope(request, user, scope, id)
    view, report = service.team_overview(ws, day, kind, ident)
    rows = view["csms"]
    series = {"ARR": [float(r["arr"]) for r in rows],
              "churn-risk ARR": [float(r["risk_arr"]) for r in rows]}  # fmt: skip
    chart = charts.bars("book-arr", "ARR per book", [r["holder"] for r in rows], series,
                        x_title="book", y_title="ARR") if rows else None  # fmt: skip
    return render(request, user, "team.html", title="Team", as_of=day, view=view,
                  coverage=report, teams=service.list_teams(ws),
                  charts=[chart] if chart else [])  # fmt: skip


@router.get("/team/book", response_class=HTMLResponse)
def book(request: Request, user: User, as_of: AsOf = None, csm: Ident = "") -> HTMLResponse:
    """A CSM's book, account by account (default: the signed-in CSM's own)."""
    ws, day = workspace_of(request), page_day(request, as_of)
    kind, ident = _scope(request, user, "csm" if csm else None, csm)
    if kind != "csm":
        kind, ident = "csm", user.principal.email
        service.check_scope(kind, ident, user.owner_scope)
    view = service.book_view(ws, day, kind, ident)
    accounts = service.book_accounts(ws, day, ident)
    return render(request, user, "my_book.html", title="My book", as_of=day, view=view,
                  accounts=accounts, csm=ident)  # fmt: skip


@router.get("/targets", response_class=HTMLResponse)
def targets(
    request: Request, user: User, as_of: AsOf = None, period: Period = None,
    scope: Scope = None, id: Ident = "",
) -> HTMLResponse:  # fmt: skip
    """Targets of the caller's scope for a period with attainment and forecast."""
    ws, day = workspace_of(request), page_day(request, as_of)
    kind, ident = _scope(request, user, scope, id)
    label = period or service.current_period(day)
    result = service.attainment(ws, label, day, kind, ident)
    history = result["history"]
    metrics = [r["metric"] for r in result["rows"]]
    chart = charts.line(
        "attainment-history", "Attainment at each month end", [str(h["day"]) for h in history],
        {m: [_float(h["attainment"].get(m)) for h in history] for m in metrics},
        x_title="month end", y_title="attainment (1 = on target)",
    ) if history and metrics else None  # fmt: skip
    return render(request, user, "targets.html", title="Targets", as_of=day, result=result,
                  teams=service.list_teams(ws), charts=[chart] if chart else [])  # fmt: skip


@router.get("/explain", response_class=HTMLResponse)
def explain(
    request: Request, user: User, metric: Annotated[str, Query(max_length=16)] = "nrr",
    month: Annotated[str | None, Query(max_length=10)] = None,
    vs: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:  # fmt: skip
    """Why did it move: the change of a metric split into mix and rate per dimension."""
    ws = workspace_of(request)
    service.check_scope("company", "", user.owner_scope)
    day = page_day(request, None)
    first = _month(month, "month") if month else service.last_complete_month_start(day)
    result = service.explain_metric(ws, metric, first, _month(vs, "vs") if vs else None)
    return render(request, user, "explain.html", title="Why did it move", result=result,
                  metrics=service.EXPLAIN_METRICS)  # fmt: skip


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _month(text: str, name: str) -> date:
    try:
        year, month = (int(p) for p in text.split("-")[:2])
        return date(year, month, 1)
    except ValueError:
        raise InputError(f"{name} {text!r} is not a month", hint="use YYYY-MM") from None


@router.get("/team/scorecard.csv")
def scorecard_csv(
    request: Request, user: User, period: Annotated[str | None, Query(max_length=16)] = None,
    as_of: AsOf = None,
) -> Response:  # fmt: skip
    """The leader's scorecard of a period as CSV (the whole book: not for a CSM limited
    to their own accounts)."""
    ws, day = workspace_of(request), page_day(request, as_of)
    service.check_scope("company", "", user.owner_scope)
    label = period or service.current_period(day)
    rows = service.scorecard(ws, label, day)
    body = csv_text(list(service.SCORECARD_COLUMNS), rows)
    headers = {"Content-Disposition": f'attachment; filename="scorecard-{label}.csv"'}
    return Response(body, media_type="text/csv", headers=headers)
