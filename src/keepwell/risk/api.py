"""HTTP face of churn risk: an account's stored prediction, the renewal forecast and the
model card.

Like the health routes, a route about one account first checks that the caller may see
it (``request.state.owner_scope``, set by the server's authentication): an account out
of scope is a 404, exactly like a missing one. The forecast of a CSM limited to their
own accounts covers those accounts only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Query, Request

from keepwell.contract.service import visible_account
from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from keepwell.risk import service

router = APIRouter(prefix="/api/v1", tags=["risk"])
MAX_WITHIN = 3660
MIN_DAY, MAX_DAY = date(1970, 1, 1), date(2200, 12, 31)


def _day(value: date | None) -> date:
    day = value or datetime.now(UTC).date()
    return min(max(day, MIN_DAY), MAX_DAY)


def _workspace(request: Request) -> Workspace:
    return cast(Workspace, request.app.state.workspace)


@router.get("/accounts/{account_id}/risk")
def account_risk(request: Request, account_id: str, as_of: date | None = None) -> dict[str, Any]:
    """The account's churn probability (0-1), ARR at risk (p x ARR) and drivers, from
    the latest health snapshot on or before ``as_of`` that has them."""
    workspace = _workspace(request)
    visible_account(workspace, account_id, scope=cast(str | None, request.state.owner_scope))
    return service.account_risk(workspace, account_id, _day(as_of) if as_of else None)


@router.get("/risk/forecast")
def renewal_forecast(
    request: Request,
    within: Annotated[int, Query(ge=1, le=MAX_WITHIN)] = 120,
    as_of: date | None = None,
) -> dict[str, Any]:
    """Expected renewed ARR of the renewals in the next ``within`` days by bucket, and
    the forecast made ``within`` days ago against what happened."""
    today = datetime.now(UTC).date()  # the data's now, a later day is a 400
    day = health_service.data_as_of(_workspace(request), as_of, today).day
    scope = cast(str | None, request.state.owner_scope)
    return service.renewal_forecast(_workspace(request), day, within, owner=scope)


@router.get("/risk/model")
def model_card(request: Request, version: int | None = None) -> dict[str, Any]:
    """The card of the churn model (latest version unless given)."""
    return service.model_card(_workspace(request), version)
