"""HTTP face of churn risk: an account's stored prediction, the renewal forecast and the
model card.

Like the health routes, a route about one account first checks that the caller may see
it (:data:`keepwell.web.deps.OwnerScope`): an account out of scope is a 404, exactly
like a missing one. The forecast of a CSM limited to their own accounts covers those
accounts only. Money here is in the base currency per year, as floats (an estimate).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from keepwell.contract.service import visible_account
from keepwell.health import service as health_service
from keepwell.health.api_schemas import RiskDriverRead
from keepwell.risk import service
from keepwell.web.deps import OwnerScope, WorkspaceDep
from keepwell.web.errors import error_responses

router = APIRouter(prefix="/api/v1", tags=["risk"], responses=error_responses(404))
MAX_WITHIN = 3660
MIN_DAY, MAX_DAY = date(1970, 1, 1), date(2200, 12, 31)


class AccountRiskRead(BaseModel):
    """An account's stored churn prediction: probability (0-1) of logo churn or a >20%
    contraction within the model's horizon, ARR at risk (p x ARR) and the drivers."""

    account_id: str
    as_of: date
    health_score: float | None
    band: str
    churn_probability: float
    arr_at_risk: float | None
    drivers: list[RiskDriverRead]


class ForecastThresholds(BaseModel):
    """Bucket edges: commit when p < ``commit_below``, at risk when p >= ``at_risk_from``."""

    commit_below: float
    at_risk_from: float


class ForecastBucketRead(BaseModel):
    """A bucket's renewal lines, ARR up for renewal and expected renewed ARR = Σ (1 − p) x
    ARR."""

    bucket: str
    lines: int
    arr: float
    expected_arr: float


class CheckedBucketRead(ForecastBucketRead):
    """A bucket of past renewals: also the actual renewed ARR and how many lines renewed
    (null when the bucket has no lines)."""

    actual_arr: float | None = None
    renewed_lines: int | None = None


class UpcomingRenewalRead(BaseModel):
    """A subscription line ending in the window, with its forecast."""

    account_id: str
    product: str
    line_id: str
    ends_on: date
    arr: float
    auto_renew: bool | None
    has_successor: bool
    churn_probability: float | None
    expected_arr: float
    bucket: str


class PastRenewalRead(BaseModel):
    """A subscription line that ended in the checked window: what was forecast and what
    happened (``actual_arr`` = 12 x min(successor, expiring MRR))."""

    account_id: str
    product: str
    line_id: str
    ends_on: date
    expiring_mrr: Decimal
    successor_mrr: Decimal
    outcome: str
    arr: float
    actual_arr: float
    churn_probability: float | None
    expected_arr: float
    bucket: str


class UpcomingForecastRead(BaseModel):
    buckets: list[ForecastBucketRead]
    lines: list[UpcomingRenewalRead]


class PastForecastRead(BaseModel):
    """The forecast made ``within`` days ago against what happened; ``out_of_sample``
    when the model had not learned those outcomes."""

    forecast_as_of: date
    model_learned_outcomes_until: date
    out_of_sample: bool
    buckets: list[CheckedBucketRead]
    lines: list[PastRenewalRead]


class MonthToMonthBucketRead(BaseModel):
    """Customers without a renewal date in a bucket: ARR and expected ARR kept =
    Σ (1 − p) x ARR, p over the model's horizon."""

    bucket: str
    accounts: int
    arr: float
    expected_arr: float


class MonthToMonthRead(BaseModel):
    horizon_days: int
    buckets: list[MonthToMonthBucketRead]


class RenewalForecastRead(BaseModel):
    as_of: date
    within_days: int
    thresholds: ForecastThresholds
    upcoming: UpcomingForecastRead
    month_to_month: MonthToMonthRead
    past: PastForecastRead


class DataWindowRead(BaseModel):
    first_snapshot: date
    last_snapshot: date
    last_outcome_day: date


class SplitRead(BaseModel):
    """Snapshot days of each part of the time-based split."""

    train: list[date]
    calibration: list[date]
    test: list[date]
    purged: list[date]


class SplitRowsRead(BaseModel):
    rows: int
    positives: int
    snapshots: int


class RowsRead(BaseModel):
    train: SplitRowsRead
    calibration: SplitRowsRead
    test: SplitRowsRead


class FeatureGainRead(BaseModel):
    feature: str
    gain: float


class CalibrationBinRead(BaseModel):
    bin: int
    rows: int
    mean_predicted: float | None
    observed_rate: float | None


class ModelMetricsRead(BaseModel):
    """Held-out metrics of a scorer (the model, or the health score alone)."""

    rows: int
    positives: int
    base_rate: float | None
    roc_auc: float | None
    pr_auc: float | None
    brier: float | None
    ece: float | None
    top_decile_lift: float | None
    calibration: list[CalibrationBinRead]
    roc_auc_churn_only: float | None = None


class ModelCardRead(BaseModel):
    """The card of a trained churn model (docs/risk.md): what it predicts, on which data,
    with which features and parameters, and how well on the held-out test snapshots.
    ``params`` are the estimator's hyper-parameters as trained (free-form)."""

    version: int
    trained_as_of: date
    outcomes_known_until: date
    target: str
    horizon_days: int
    data_window: DataWindowRead
    split: SplitRead
    rows: RowsRead
    features: list[str]
    categories: dict[str, list[str]]
    excluded_features: dict[str, str]
    algorithm: str
    params: dict[str, bool | int | float | str | None]
    top_features: list[FeatureGainRead]
    metrics: dict[str, ModelMetricsRead]


def _day(value: date | None) -> date:
    day = value or datetime.now(UTC).date()
    return min(max(day, MIN_DAY), MAX_DAY)


@router.get("/accounts/{account_id}/risk", response_model=AccountRiskRead)
def account_risk(
    workspace: WorkspaceDep, scope: OwnerScope, account_id: str, as_of: date | None = None
) -> dict[str, Any]:
    """The account's churn probability (0-1), ARR at risk (p x ARR) and drivers, from
    the latest health snapshot on or before ``as_of`` that has them."""
    visible_account(workspace, account_id, scope=scope)
    return service.account_risk(workspace, account_id, _day(as_of) if as_of else None)


@router.get("/risk/forecast", response_model=RenewalForecastRead, responses=error_responses(400))
def renewal_forecast(
    workspace: WorkspaceDep,
    scope: OwnerScope,
    within: Annotated[int, Query(ge=1, le=MAX_WITHIN)] = 120,
    as_of: date | None = None,
) -> dict[str, Any]:
    """Expected renewed ARR of the renewals in the next ``within`` days by bucket, and
    the forecast made ``within`` days ago against what happened."""
    today = datetime.now(UTC).date()  # the data's now, a later day is a 400
    day = health_service.data_as_of(workspace, as_of, today).day
    return service.renewal_forecast(workspace, day, within, owner=scope)


@router.get("/risk/model", response_model=ModelCardRead)
def model_card(workspace: WorkspaceDep, version: int | None = None) -> dict[str, Any]:
    """The card of the churn model (latest version unless given)."""
    return service.model_card(workspace, version)
