"""HTTP face of the portfolio read model: the account detail, the contract's view of an
account with its health explanation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from keepwell.contract.api_schemas import AccountDetailRead
from keepwell.health.api_schemas import HealthExplanationRead
from keepwell.portfolio import service
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
    return service.account_detail(workspace, account_id, scope)
