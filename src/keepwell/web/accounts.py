"""The account detail: the contract's view of an account with its health explanation."""

from __future__ import annotations

from typing import Any, cast

from fastapi import APIRouter, Request

from keepwell.contract.service import account_detail
from keepwell.core.errors import NotFoundError
from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.get("/accounts/{account_id}")
def account(request: Request, account_id: str) -> dict[str, Any]:
    """An account with subscriptions, contacts, invoices, tickets, surveys, timeline and
    its latest health explanation (``health`` is null before the first scoring)."""
    workspace = cast(Workspace, request.app.state.workspace)
    detail = account_detail(workspace, account_id, scope=request.state.owner_scope)
    try:
        detail["health"] = health_service.explain_account(workspace, account_id)
    except NotFoundError:
        detail["health"] = None
    return detail
