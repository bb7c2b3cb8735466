"""HTTP face of revenue analytics: summary KPIs, MRR movements and cohorts.

A CSM limited to their own accounts (:data:`keepwell.web.deps.OwnerScope`) gets the
figures of their own book only. Money is exact: decimal strings in the base currency.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from keepwell.health import service as health_service
from keepwell.revenue import service
from keepwell.web.deps import OwnerScope, WorkspaceDep
from keepwell.web.errors import error_responses

router = APIRouter(prefix="/api/v1/metrics", tags=["metrics"], responses=error_responses(400))
ByQuery = Annotated[str | None, Query(max_length=64, description="Account attribute or 'product'.")]
MIN_DAY, MAX_DAY = date(1970, 1, 1), date(2200, 12, 31)


class SummaryRead(BaseModel):
    """Every summary KPI of docs/metrics.md as of a day: money in the base currency
    (exact decimals), rates as fractions (null when undefined, e.g. no paying account)."""

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


class MovementRead(BaseModel):
    """MRR and its movements in one month (``YYYY-MM``) of one group (``all`` when not
    split); contraction and churn are negative amounts."""

    group: str
    month: str
    starting_mrr: Decimal
    new: Decimal
    cross_sell: Decimal
    reactivation: Decimal
    expansion: Decimal
    contraction: Decimal
    churn: Decimal
    ending_mrr: Decimal
    starting_accounts: int
    new_accounts: int
    cross_sell_accounts: int
    reactivation_accounts: int
    expansion_accounts: int
    contraction_accounts: int
    churn_accounts: int
    ending_accounts: int
    partial: bool


class CohortCellRead(BaseModel):
    """One cohort (first paying month, ``YYYY-MM``) at one age in months: accounts and
    MRR still paying, and their share of the cohort's first month."""

    group: str
    cohort: str
    age: int
    cohort_accounts: int
    accounts: int
    logo_retention: float | None
    cohort_mrr: Decimal
    mrr: Decimal
    revenue_retention: float | None


def _book(workspace: WorkspaceDep, scope: OwnerScope) -> service.Book:
    return service.scoped_book(workspace, scope)


def _day(value: date | None) -> date:
    day = value or datetime.now(UTC).date()
    return min(max(day, MIN_DAY), MAX_DAY)


def _data_day(workspace: WorkspaceDep, value: date | None) -> date:
    """``value`` or the data's now (today, or the data's last day when today is past
    it); a day after both is a 400 (one rule for every face)."""
    today = datetime.now(UTC).date()
    return health_service.data_as_of(workspace, value, today).day


@router.get("/summary", response_model=SummaryRead)
def summary(
    workspace: WorkspaceDep, scope: OwnerScope, as_of: date | None = None
) -> dict[str, Any]:
    """Every summary KPI of metrics.md as of ``as_of`` (default: the data's now, today
    or the data's last day when today is past it; a later day is a 400); money in the
    base currency, rates as fractions."""
    book = _book(workspace, scope)
    return service.portfolio_summary(workspace, _data_day(workspace, as_of), book=book).as_dict()


@router.get("/mrr", response_model=list[MovementRead])
def mrr_movements(
    workspace: WorkspaceDep,
    scope: OwnerScope,
    start: date,
    end: date | None = None,
    by: ByQuery = None,
) -> list[dict[str, Any]]:
    """MRR and its movements (new, expansion, contraction, churn, reactivation) per month
    from ``start``'s month to ``end``'s month (default today); ``partial`` marks a
    month the data does not cover to its end, ``cross_sell`` (with ``by=product``) a
    product's first MRR for an existing customer (not ``new``)."""
    book = _book(workspace, scope)
    rows = service.mrr_movements(workspace, _day(start), _day(end), by, book=book)
    return service.mark_partial_months(rows, _data_day(workspace, None))


@router.get("/cohorts", response_model=list[CohortCellRead])
def cohorts(
    workspace: WorkspaceDep, scope: OwnerScope, as_of: date | None = None, by: ByQuery = None
) -> list[dict[str, Any]]:
    """Logo and revenue retention by cohort month and age in months."""
    day = _data_day(workspace, as_of)
    return service.cohort_retention(workspace, day, by, book=_book(workspace, scope))
