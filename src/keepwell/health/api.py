"""HTTP face of health: snapshot dates, an account's explanation and score history.

Routes about one account first check that the caller may see it
(:data:`keepwell.web.deps.OwnerScope`): an account out of scope is a 404, exactly like a
missing one.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter

from keepwell.contract.service import visible_account
from keepwell.core.workspace import Workspace
from keepwell.health import service
from keepwell.health.api_schemas import HealthExplanationRead, ScorePointRead
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
