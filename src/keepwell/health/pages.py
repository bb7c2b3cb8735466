"""Web page of the evidence behind the scores: the health back-test (does a low score
come before churn?) and the churn model's card, when a model has been trained.

The back-test scores the book as of each month end, which takes a while on a large
book: it runs in the background when asked (the page's button; the page refreshes
itself while it runs) and its report is kept while the server runs, per workspace."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from keepwell.core import periods
from keepwell.core.errors import InputError, KeepwellError
from keepwell.core.workspace import Workspace
from keepwell.health import service
from keepwell.health.backtest import BacktestReport
from keepwell.web import charts
from keepwell.web.directory import workspace_key
from keepwell.web.pages import PageUser, check_form, page_user, render, workspace_of
from keepwell.web.risk_view import model_card

log = logging.getLogger("keepwell.web")
router = APIRouter(include_in_schema=False)
User = Annotated[PageUser, Depends(page_user)]
#: Month ends back-tested, ending ``horizon`` days before the last day with data.
BACKTEST_MONTHS = 12
HORIZON_DAYS = 180


@dataclass
class BacktestRun:
    """The back-test of one workspace: running (since ``started``), done or failed."""

    started: datetime
    data_end: date | None = None
    report: BacktestReport | None = None
    error: str | None = None

    @property
    def running(self) -> bool:
        return self.report is None and self.error is None


_runs: dict[tuple[str, str], BacktestRun] = {}
_lock = threading.Lock()


def _backtest(workspace: Workspace, run: BacktestRun) -> None:
    """Score the book as of each of the last :data:`BACKTEST_MONTHS` month ends whose
    outcome is known (see ``health.service.backtest_scores``); store the report in ``run``."""
    try:
        end = service.data_end(service.measure_inputs(workspace))
        if end is None:
            raise InputError("the workspace holds no data to back-test", hint="import data first")
        last = periods.previous_month(end - timedelta(days=HORIZON_DAYS))
        first = last
        for _ in range(BACKTEST_MONTHS - 1):
            first = periods.previous_month(first)
        run.report = service.backtest_scores(workspace, first, last, HORIZON_DAYS, until=end)
        run.data_end = end
    except KeepwellError as exc:
        run.error = exc.message
    except Exception as exc:  # a thread must not die silently: the page shows it
        log.exception("health back-test failed", exc_info=exc)
        run.error = "the back-test failed; the error has been logged"


@router.post("/evidence/backtest")
def start_backtest(
    request: Request, user: User, csrf_token: Annotated[str, Form(max_length=200)]
) -> Response:
    """Start the back-test in the background (once at a time per workspace); it costs
    minutes of CPU, so it needs write rights like any other change."""
    check_form(user, csrf_token)
    ws = workspace_of(request)
    with _lock:
        current = _runs.get(workspace_key(ws))
        if current is None or not current.running:
            run = BacktestRun(started=datetime.now(UTC))
            _runs[workspace_key(ws)] = run
            threading.Thread(target=_backtest, args=(ws, run), daemon=True).start()
    return RedirectResponse("/evidence", status_code=303)


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
def evidence(request: Request, user: User) -> HTMLResponse:
    """The back-test of the health score (latest run) and the churn model's card."""
    ws = workspace_of(request)
    run = _runs.get(workspace_key(ws))
    report = run.report if run else None
    chart_list = [_band_chart(report)] if report and report.bands else []
    return render(
        request,
        user,
        "evidence.html",
        title="Evidence",
        run=run,
        report=report,
        card=model_card(ws),
        charts=chart_list,
        refresh=5 if run and run.running else None,
    )
