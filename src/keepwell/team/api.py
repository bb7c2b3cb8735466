"""HTTP face of the team slice: books of business, coverage, targets and attainment,
"why did it move", cost to serve and the scorecard.

Role rules: without ``scope``, a CSM gets their own book, a manager their team's and an
admin (or viewer) the company's; a CSM limited to their accounts
(:data:`keepwell.web.deps.OwnerScope`) gets 403 for any other scope. Money is exact
(decimal strings in the base currency); rates are fractions.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from keepwell.team import service
from keepwell.web.deps import CurrentUser, OwnerScope, WorkspaceDep
from keepwell.web.errors import error_responses

router = APIRouter(prefix="/api/v1", tags=["team"], responses=error_responses(400, 404))
AsOfQuery = Annotated[date | None, Query(description="Day (default: today).")]
ScopeQuery = Annotated[
    str | None, Query(max_length=16, description="company, team or csm (default: by role).")
]
IdQuery = Annotated[str, Query(max_length=320, description="The team's id or the CSM's email.")]
METRIC_HELP = "nrr, grr, logo_churn, mrr or red_share"
PeriodQuery = Annotated[str, Query(max_length=16, description="YYYY or YYYY-Qn.")]


def _day(as_of: date | None) -> date:
    return as_of or datetime.now(UTC).date()


def resolve_scope(
    ws: Any, user: Any, owner_scope: str | None, scope: str | None, ident: str
) -> tuple[str, str]:
    """The scope asked for, or the role's default; checked against the owner scope."""
    kind, found = (scope, ident) if scope else service.default_scope(ws, user.email, str(user.role))
    service.check_scope(kind, found, owner_scope)
    return kind, found


class BookRead(BaseModel):
    """One book (a CSM's, a pool's ``pool:<team>``, a team's or the company's)."""

    holder: str
    team: str | None
    accounts: int
    arr: Decimal
    bands: dict[str, int]
    risk_arr: Decimal
    renewals_90: int
    renewal_arr_90: Decimal
    renewals_180: int
    renewal_arr_180: Decimal
    open_ctas: int
    overdue_ctas: int
    open_tasks: int
    overdue_tasks: int
    plans_behind: int
    untouched_30: int
    days_since_touch: int | None
    capacity_accounts: int | None
    capacity_arr: Decimal | None
    over_capacity: bool


class BooksRead(BaseModel):
    """The books of a scope: its total, its teams and its CSMs."""

    scope: str
    id: str
    total: BookRead
    teams: list[BookRead]
    csms: list[BookRead]


@router.get("/team/books", response_model=BooksRead)
def books(
    ws: WorkspaceDep, user: CurrentUser, owner_scope: OwnerScope,
    scope: ScopeQuery = None, id: IdQuery = "", as_of: AsOfQuery = None,
) -> dict[str, Any]:  # fmt: skip
    """Books of business of a scope (default: the caller's own, by role)."""
    kind, ident = resolve_scope(ws, user, owner_scope, scope, id)
    return service.book_view(ws, _day(as_of), kind, ident)


class SegmentCoverageRead(BaseModel):
    segment: str
    accounts: int
    arr: Decimal
    csms: int
    accounts_per_csm: float | None
    arr_per_csm: Decimal | None
    target_accounts_per_csm: int | None
    unassigned: int
    over_capacity: list[str]


class MoveRead(BaseModel):
    account_id: str
    name: str
    segment: str | None
    arr: Decimal
    from_: str
    to: str
    reason: str


class CoverageRead(BaseModel):
    """Coverage per segment and the suggested moves (``from_`` is the current holder)."""

    segments: list[SegmentCoverageRead]
    moves: list[MoveRead]


@router.get("/team/coverage", response_model=CoverageRead)
def coverage(ws: WorkspaceDep, owner_scope: OwnerScope, as_of: AsOfQuery = None) -> dict[str, Any]:
    """Coverage and capacity per segment with a rebalancing suggestion (managers and
    admins: the whole book)."""
    service.check_scope("company", "", owner_scope)
    report = service.coverage_report(ws, _day(as_of))
    report["moves"] = [{**m, "from_": m["from"]} for m in report["moves"]]
    return report


class AttainmentRowRead(BaseModel):
    metric: str
    target: Decimal
    actual: Decimal | None
    attainment: Decimal | None
    forecast: Decimal | None
    forecast_attainment: Decimal | None


class HistoryRead(BaseModel):
    """Attainment of each target at one month end of the period (and on the day)."""

    day: date
    attainment: dict[str, Decimal | None]


class ExpectedRead(BaseModel):
    """The forecast's inputs: expected lost ARR and logos of the renewals due before
    the period ends, and the scope's ARR and accounts now."""

    lost_arr: Decimal
    arr: Decimal
    lost_logos: Decimal
    accounts: int


class AttainmentRead(BaseModel):
    """Targets of a scope for a period with attainment to date and forecast attainment
    at the period's end; ``history`` has the attainment per metric at each month end."""

    period: str
    start: date
    end: date
    as_of: date
    scope: str
    id: str
    accounts: int
    rows: list[AttainmentRowRead]
    history: list[HistoryRead]
    expected: ExpectedRead


@router.get("/targets/attainment", response_model=AttainmentRead)
def attainment(
    ws: WorkspaceDep, user: CurrentUser, owner_scope: OwnerScope, period: PeriodQuery,
    scope: ScopeQuery = None, id: IdQuery = "", as_of: AsOfQuery = None,
) -> dict[str, Any]:  # fmt: skip
    """Attainment of the targets of a scope (default: the caller's own, by role)."""
    kind, ident = resolve_scope(ws, user, owner_scope, scope, id)
    return service.attainment(ws, period, _day(as_of), kind, ident)


class EffectRead(BaseModel):
    group: str
    mix: Decimal
    rate: Decimal
    total: Decimal
    weight0: Decimal | None
    weight1: Decimal | None
    rate0: Decimal | None
    rate1: Decimal | None


class TopAccountRead(BaseModel):
    account_id: str
    name: str
    change: Decimal


class ExplanationRead(BaseModel):
    """The change of a metric between two months; per dimension every group's mix and
    rate effects, which add up exactly to ``change``."""

    metric: str
    month: str
    vs: str
    value0: Decimal | None
    value1: Decimal | None
    change: Decimal
    dimensions: dict[str, list[EffectRead]]
    top_accounts: list[TopAccountRead]
    summary: str


@router.get("/metrics/explain", response_model=ExplanationRead, tags=["metrics"])
def explain(
    ws: WorkspaceDep, owner_scope: OwnerScope,
    metric: Annotated[str, Query(max_length=16, description=METRIC_HELP)],
    month: Annotated[date, Query(description="A day of the month to explain.")],
    vs: Annotated[date | None, Query(description="A day of the month to compare with.")] = None,
) -> dict[str, Any]:  # fmt: skip
    """Why did it move: mix and rate effects per segment, team, CSM, product, plan,
    industry and country (the whole book: managers and admins)."""
    service.check_scope("company", "", owner_scope)
    return service.explain_metric(ws, metric, month, vs)


class CostRowRead(BaseModel):
    segment: str | None = None
    tier: str | None = None
    accounts: int
    cost_to_serve: Decimal
    cost_per_account: Decimal
    renewal_revenue: Decimal
    cogs: Decimal
    renewal_margin: Decimal
    renewal_margin_share: Decimal | None
    new_accounts: int
    first_year_arr: Decimal
    cac_ratio: Decimal | None


class CostRead(BaseModel):
    """Cost to serve and renewal margin per segment and per tier over (start, as_of]."""

    as_of: date
    start: date
    inputs: dict[str, Decimal]
    segments: list[CostRowRead]
    tiers: list[CostRowRead]


@router.get("/team/costs", response_model=CostRead)
def costs(ws: WorkspaceDep, owner_scope: OwnerScope, as_of: AsOfQuery = None) -> dict[str, Any]:
    """Cost to serve and renewal margin (the whole book)."""
    service.check_scope("company", "", owner_scope)
    return service.cost_to_serve(ws, _day(as_of))


class ScorecardRowRead(BaseModel):
    scope: str
    id: str
    team: str | None
    accounts: int
    arr: Decimal
    renewals_due: int
    renewals_won: int
    renewal_rate: Decimal | None
    renewed_arr: Decimal
    expansion_arr: Decimal
    referenceable: int
    nrr: Decimal | None


@router.get("/team/scorecard", response_model=list[ScorecardRowRead])
def scorecard(
    ws: WorkspaceDep, owner_scope: OwnerScope, period: PeriodQuery, as_of: AsOfQuery = None
) -> list[dict[str, Any]]:
    """The leader's scorecard per team and CSM for a period."""
    service.check_scope("company", "", owner_scope)
    return service.scorecard(ws, period, _day(as_of))
