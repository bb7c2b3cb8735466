"""Web page of the evidence behind the scores: the health back-test (does a low score
come before churn?) and the churn model's card, when a model has been trained.

The back-test scores the book as of each month end, which takes a while on a large
book: it runs in the background when asked (the page's button; the page refreshes
itself while it runs; see ``health.service.start_recent_backtest``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from keepwell.health import service as health_service
from keepwell.risk import service
from keepwell.web import charts
from keepwell.web.toolkit import PageUser, check_form, page_user, render, workspace_of

router = APIRouter(include_in_schema=False)
User = Annotated[PageUser, Depends(page_user)]


@router.post("/evidence/backtest")
def start_backtest(
    request: Request, user: User, csrf_token: Annotated[str, Form(max_length=200)]
) -> Response:
    """Start the back-test in the background (once at a time per workspace); it costs
    minutes of CPU, so it needs write rights like any other change."""
    check_form(user, csrf_token)
    health_service.start_recent_backtest(workspace_of(request), datetime.now(UTC))
    return RedirectResponse("/evidence", status_code=303)


def _band_chart(report: health_service.BacktestReport) -> dict[str, Any]:
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
def evidence(request: Request, user: User) -> HTMLResponse:
    """The back-test of the health score (latest run) and the churn model's card."""
    ws = workspace_of(request)
    run = health_service.recent_backtest(ws)
    report = run.report if run else None
    chart_list = [_band_chart(report)] if report and report.bands else []
    return render(
        request,
        user,
        "evidence.html",
        title="Evidence",
        run=run,
        report=report,
        card=service.model_card_summary(ws),
        charts=chart_list,
        refresh=5 if run and run.running else None,
    )
