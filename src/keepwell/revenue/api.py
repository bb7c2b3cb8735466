"""HTTP face of revenue analytics: summary KPIs, MRR movements and cohorts.

A CSM limited to their own accounts (``request.state.owner_scope``, set by the server's
authentication) gets the figures of their own book only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Query, Request

from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from keepwell.revenue import service

router = APIRouter(prefix="/api/v1/metrics", tags=["metrics"])
ByQuery = Annotated[str | None, Query(max_length=64, description="Account attribute or 'product'.")]
MIN_DAY, MAX_DAY = date(1970, 1, 1), date(2200, 12, 31)


def _book(request: Request) -> service.Book:
    workspace = cast(Workspace, request.app.state.workspace)
    return service.scoped_book(workspace, cast(str | None, request.state.owner_scope))


def _day(value: date | None, request: Request | None = None) -> date:
    """``value`` clamped to the range a date column holds, or (with ``request``) the
    data's now: by default today or the data's last day when today is past it, and a
    day after both refused with a 400 (one rule for every face)."""
    if request is None:
        return min(max(value or datetime.now(UTC).date(), MIN_DAY), MAX_DAY)
    ws = cast(Workspace, request.app.state.workspace)
    today = datetime.now(UTC).date()
    return health_service.data_as_of(ws, value, today).day


@router.get("/summary")
def summary(request: Request, as_of: date | None = None) -> dict[str, Any]:
    """Every summary KPI of metrics.md as of ``as_of`` (default: the data's now, today
    or the data's last day when today is past it; a later day is a 400); money in the
    base currency, rates as fractions."""
    ws = cast(Workspace, request.app.state.workspace)
    return service.portfolio_summary(ws, _day(as_of, request), book=_book(request)).as_dict()


@router.get("/mrr")
def mrr_movements(
    request: Request, start: date, end: date | None = None, by: ByQuery = None
) -> list[dict[str, Any]]:
    """MRR and its movements (new, expansion, contraction, churn, reactivation) per month
    from ``start``'s month to ``end``'s month (default today); ``partial`` marks a
    month the data does not cover to its end."""
    ws = cast(Workspace, request.app.state.workspace)
    rows = service.mrr_movements(ws, _day(start), _day(end), by, book=_book(request))
    return service.mark_partial_months(rows, _day(None, request))


@router.get("/cohorts")
def cohorts(
    request: Request, as_of: date | None = None, by: ByQuery = None
) -> list[dict[str, Any]]:
    """Logo and revenue retention by cohort month and age in months."""
    ws = cast(Workspace, request.app.state.workspace)
    return service.cohort_retention(ws, _day(as_of, request), by, book=_book(request))
