"""HTTP face of the portfolio read model: the account detail, the contract's view of an
account with its health explanation."""

from __future__ import annotations

from typing import Any, cast

from fastapi import APIRouter, Request

from keepwell.core.workspace import Workspace
from keepwell.portfolio import service

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.get("/accounts/{account_id}")
def account(request: Request, account_id: str) -> dict[str, Any]:
    """An account with subscriptions, contacts, invoices, tickets, surveys, timeline and
    its latest health explanation (``health`` is null before the first scoring)."""
    workspace = cast(Workspace, request.app.state.workspace)
    return service.account_detail(workspace, account_id, request.state.owner_scope)
