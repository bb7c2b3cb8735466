"""HTTP face of health: snapshot dates, an account's explanation and score history.

Routes about one account first check that the caller may see it
(:data:`keepwell.web.deps.OwnerScope`): an account out of scope is a 404, exactly like a
missing one.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from keepwell.contract.queries import visible_account
from keepwell.core.workspace import Workspace
from keepwell.health import service
from keepwell.health.history import score_history
from keepwell.web.deps import OwnerScope, WorkspaceDep
from keepwell.web.errors import error_responses

router = APIRouter(prefix="/api/v1", tags=["health"])


class GroupScoreRead(BaseModel):
    """A measure group's score (0-100, null without data), its configured and effective
    weight (renormalised over groups with data) and band."""

    name: str
    score: float | None
    weight: float
    effective_weight: float
    capped_by_red: bool
    band: str


class MeasureScoreRead(BaseModel):
    """One measure: its value, points (0-100), weights and contribution to the score."""

    measure: str
    group: str
    value: float | None
    points: float | None
    weight: float
    effective_weight: float
    contribution: float
    band: str


class ChangeDriverRead(BaseModel):
    """A measure whose contribution changed since the previous snapshot."""

    measure: str
    contribution_change: float
    value_before: float | None
    value: float | None


class HealthChangeRead(BaseModel):
    """The previous snapshot of the account and what changed since."""

    as_of: date
    score: float | None
    band: str
    change: float | None
    drivers: list[ChangeDriverRead]


class RiskDriverRead(BaseModel):
    """A feature pushing the churn probability, its value and contribution (log-odds)."""

    feature: str
    value: bool | int | float | str | None
    contribution: float
    text: str


class SnapshotRiskRead(BaseModel):
    """The churn prediction stored with the snapshot: probability (0-1), ARR at risk
    (p x ARR, base currency per year) and the top drivers."""

    churn_probability: float
    arr_at_risk: float | None
    drivers: list[RiskDriverRead]


class HealthExplanationRead(BaseModel):
    """Why an account has its score on a snapshot day (see docs/metrics.md)."""

    account_id: str
    as_of: date
    segment: str
    scorecard: str
    stage: str | None
    stage_overdue: bool | None
    days_in_stage: float | None
    score: float | None
    band: str
    groups: list[GroupScoreRead]
    measures: list[MeasureScoreRead]
    missing: list[str]
    mrr: float | None = None
    arr: float | None = None
    previous: HealthChangeRead | None
    risk: SnapshotRiskRead | None


class ScorePointRead(BaseModel):
    """One stored health score of an account."""

    as_of: date
    score: float | None
    band: str
    segment: str
    stage: str | None


def _visible(workspace: Workspace, scope: str | None, account_id: str) -> Workspace:
    visible_account(workspace, account_id, scope=scope)
    return workspace


@router.get("/health/snapshots", response_model=list[date])
def snapshots(workspace: WorkspaceDep) -> list[date]:
    """The dates of the stored health snapshots, oldest first."""
    return service.list_snapshots(workspace)


@router.get(
    "/accounts/{account_id}/health",
    response_model=HealthExplanationRead,
    responses=error_responses(404),
)
def explanation(
    workspace: WorkspaceDep, scope: OwnerScope, account_id: str, as_of: date | None = None
) -> dict[str, Any]:
    """Why the account has its score: the latest snapshot on or before ``as_of`` with
    every measure's contribution and the change since the previous snapshot."""
    return service.explain_account(_visible(workspace, scope, account_id), account_id, as_of)


@router.get(
    "/accounts/{account_id}/health/history",
    response_model=list[ScorePointRead],
    responses=error_responses(404),
)
def history(workspace: WorkspaceDep, scope: OwnerScope, account_id: str) -> list[dict[str, Any]]:
    """Every stored health score of the account, oldest first."""
    return score_history(_visible(workspace, scope, account_id), account_id)
