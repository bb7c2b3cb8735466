"""HTTP face of health: snapshot dates, an account's explanation and score history.

Routes about one account first check that the caller may see it
(``request.state.owner_scope``, set by the server's authentication): an account out of
scope is a 404, exactly like a missing one.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from fastapi import APIRouter, Request

from keepwell.contract.service import visible_account
from keepwell.core.workspace import Workspace
from keepwell.health import service
from keepwell.health.history import score_history

router = APIRouter(prefix="/api/v1", tags=["health"])


def _visible(request: Request, account_id: str) -> Workspace:
    workspace = cast(Workspace, request.app.state.workspace)
    visible_account(workspace, account_id, scope=cast(str | None, request.state.owner_scope))
    return workspace


@router.get("/health/snapshots")
def snapshots(request: Request) -> list[date]:
    """The dates of the stored health snapshots, oldest first."""
    return service.list_snapshots(cast(Workspace, request.app.state.workspace))


@router.get("/accounts/{account_id}/health")
def explanation(request: Request, account_id: str, as_of: date | None = None) -> dict[str, Any]:
    """Why the account has its score: the latest snapshot on or before ``as_of`` with
    every measure's contribution and the change since the previous snapshot."""
    return service.explain_account(_visible(request, account_id), account_id, as_of)


@router.get("/accounts/{account_id}/health/history")
def history(request: Request, account_id: str) -> list[dict[str, Any]]:
    """Every stored health score of the account, oldest first."""
    return score_history(_visible(request, account_id), account_id)
