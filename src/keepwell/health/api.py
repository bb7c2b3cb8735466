"""HTTP face of health: snapshot dates, an account's explanation and score history.

Routes about one account first check that the caller may see it
(:data:`keepwell.web.deps.OwnerScope`): an account out of scope is a 404, exactly like a
missing one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter

from keepwell.contract.service import visible_account
from keepwell.core.workspace import Workspace
from keepwell.health import service
from keepwell.health.api_schemas import HealthExplanationRead, ScorePointRead, StageSummaryRead
from keepwell.health.history import score_history
from keepwell.web.deps import OwnerScope, WorkspaceDep
from keepwell.web.errors import error_responses

router = APIRouter(prefix="/api/v1", tags=["health"])


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


@router.get("/health/stages", response_model=list[StageSummaryRead], responses=error_responses(400))
def stages(workspace: WorkspaceDep, as_of: date | None = None) -> list[dict[str, Any]]:
    """The journey stages as of ``as_of`` (default: the data's now, today or the data's
    last day when today is past it): accounts, days in the stage since they entered it,
    share on track, process KPIs and outcome KPI. A day after the data is a 400."""
    day = service.data_as_of(workspace, as_of, datetime.now(UTC).date()).day
    return service.stage_report(workspace, day)
