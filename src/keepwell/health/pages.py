"""Web page of the evidence behind the scores: the health back-test (does a low score
come before churn?) and the churn model's card, when a model has been trained.

The back-test scores the book as of each month end, which takes a while on a large
book: it runs when asked (the page's button) and its report is kept for the session of
the server, per workspace."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from keepwell.core import periods
from keepwell.core.errors import InputError
from keepwell.health import service
from keepwell.health.backtest import BacktestReport
from keepwell.web import charts
from keepwell.web.pages import PageUser, page_user, render, today, workspace_of
from keepwell.web.risk_view import model_card

router = APIRouter(include_in_schema=False)
User = Annotated[PageUser, Depends(page_user)]
#: Month ends back-tested, ending ``horizon`` days before the last day with data.
BACKTEST_MONTHS = 12
HORIZON_DAYS = 180
_reports: dict[int, tuple[date, BacktestReport]] = {}
_lock = threading.Lock()


def _run(request: Request) -> tuple[date, BacktestReport]:
    ws = workspace_of(request)
    end = service.data_end(service.measure_inputs(ws)) or today()
    last = periods.previous_month(end - timedelta(days=HORIZON_DAYS))
    first = last
    for _ in range(BACKTEST_MONTHS - 1):
        first = periods.previous_month(first)
    report = service.backtest_scores(ws, first, last, HORIZON_DAYS, until=end)
    with _lock:
        _reports[id(ws)] = (end, report)
    return end, report


def _band_chart(report: BacktestReport) -> dict[str, Any]:
    bands = [b for b in report.bands if b.get("accounts")]
    return charts.bars(
        "band-churn",
        f"Churn within {report.horizon_days} days, by health band at the time",
        [b["band"] for b in bands],
        {"churn rate": [b.get("churn_rate") or 0 for b in bands]},
        x_title="band",
        y_title="share of accounts that churned",
    )


@router.get("/evidence", response_class=HTMLResponse)
def evidence(request: Request, user: User, run: bool = False) -> HTMLResponse:
    """The back-test of the health score and the churn model's card."""
    ws = workspace_of(request)
    error = None
    found = _reports.get(id(ws))
    if run:
        try:
            found = _run(request)
        except InputError as exc:
            error = exc.message
    card = model_card(ws)
    chart_list = [_band_chart(found[1])] if found and found[1].bands else []
    return render(
        request,
        user,
        "evidence.html",
        title="Evidence",
        report=found[1] if found else None,
        data_end=found[0] if found else None,
        error=error,
        card=card,
        charts=chart_list,
    )
