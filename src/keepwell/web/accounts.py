"""The account detail: the contract's view of an account with its health explanation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from keepwell.contract.api import AccountDetailRead
from keepwell.contract.queries import account_detail
from keepwell.core.errors import NotFoundError
from keepwell.health import service as health_service
from keepwell.health.api import HealthExplanationRead
from keepwell.web.deps import OwnerScope, WorkspaceDep
from keepwell.web.errors import error_responses

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class Account360Read(AccountDetailRead):
    """An account's detail with its latest health explanation (null before the first
    scoring)."""

    health: HealthExplanationRead | None


@router.get("/accounts/{account_id}", response_model=Account360Read, responses=error_responses(404))
def account(workspace: WorkspaceDep, scope: OwnerScope, account_id: str) -> dict[str, Any]:
    """An account with subscriptions, contacts, invoices, tickets, surveys, timeline and
    its latest health explanation (``health`` is null before the first scoring)."""
    detail = account_detail(workspace, account_id, scope=scope)
    try:
        detail["health"] = health_service.explain_account(workspace, account_id)
    except NotFoundError:
        detail["health"] = None
    return detail
