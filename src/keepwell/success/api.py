"""HTTP face of customer-success operations: CTAs (list, detail, status), their tasks,
and success plans.

Every route honours ``request.state.owner_scope`` (set by the server's authentication):
a CSM limited to their book sees and changes only the CTAs and plans of their
accounts; anything else is a 404, exactly like a missing one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, cast

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from keepwell.contract.service import visible_account
from keepwell.core.errors import InputError
from keepwell.core.ids import PathId
from keepwell.core.workspace import Workspace
from keepwell.success import service

router = APIRouter(prefix="/api/v1", tags=["success"])


class CtaAction(StrEnum):
    START = "in_progress"
    SNOOZE = "snoozed"
    CLOSE = "closed"


class CtaUpdate(BaseModel):
    """A status change: ``in_progress``; ``snoozed`` with ``until``; ``closed`` with
    ``outcome`` (resolved, unresolved, won, lost, churned, not_needed) and ``reason``."""

    status: CtaAction
    until: date | None = None
    outcome: str | None = None
    reason: str | None = Field(default=None, max_length=2000)


class PlanCreate(BaseModel):
    """A plan from ``template`` (default: the template of the account's segment)."""

    template: str | None = None


class MilestoneUpdate(BaseModel):
    status: str


class ObjectiveUpdate(BaseModel):
    current: float | None = None
    baseline: float | None = None
    target: float | None = None


def _workspace(request: Request) -> Workspace:
    return cast(Workspace, request.app.state.workspace)


def _scope(request: Request) -> str | None:
    return cast(str | None, request.state.owner_scope)


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/ctas")
def list_ctas(
    request: Request,
    owner: str | None = None,
    overdue: bool = False,
    status: str | None = None,
    account_id: str | None = None,
    as_of: date | None = None,
) -> list[dict[str, Any]]:
    """CTAs (live ones unless ``status`` is given; ``all`` for every one), overdue and
    most urgent first."""
    return service.list_ctas(
        _workspace(request), as_of=as_of or _now().date(), owner=owner, overdue=overdue,
        status=status, account_id=account_id, scope=_scope(request),
    )  # fmt: skip


@router.get("/ctas/{cta_id}")
def cta_detail(request: Request, cta_id: PathId, as_of: date | None = None) -> dict[str, Any]:
    """One CTA with the values that triggered it and its playbook tasks."""
    return service.cta_detail(
        _workspace(request), cta_id, as_of=as_of or _now().date(), scope=_scope(request)
    )


@router.patch("/ctas/{cta_id}")
def update_cta(request: Request, cta_id: PathId, change: CtaUpdate) -> dict[str, Any]:
    """Start, snooze or close a CTA; returns it as it is now."""
    ws, scope, now = _workspace(request), _scope(request), _now()
    if change.status is CtaAction.START:
        service.start_cta(ws, cta_id, now, scope=scope)
    elif change.status is CtaAction.SNOOZE:
        if change.until is None:
            raise InputError("snoozing needs 'until' (a date)")
        service.snooze_cta(ws, cta_id, change.until, now, scope=scope)
    else:
        if change.outcome is None:
            raise InputError("closing needs an 'outcome'")
        service.close_cta(
            ws, cta_id, outcome=change.outcome, reason=change.reason, now=now, scope=scope
        )
    return service.cta_detail(ws, cta_id, as_of=now.date(), scope=scope)


@router.post("/tasks/{task_id}/complete")
def complete_task(request: Request, task_id: PathId) -> dict[str, Any]:
    """Mark a playbook task done; its CTA moves to in progress."""
    return service.complete_task(_workspace(request), task_id, _now(), scope=_scope(request))


def _visible(request: Request, account_id: str) -> Workspace:
    workspace = _workspace(request)
    visible_account(workspace, account_id, scope=_scope(request))
    return workspace


@router.get("/accounts/{account_id}/plan")
def show_plan(request: Request, account_id: str, as_of: date | None = None) -> dict[str, Any]:
    """The account's active success plan with objectives, milestones and progress (%)."""
    return service.show_plan(_visible(request, account_id), account_id, as_of or _now().date())


@router.post("/accounts/{account_id}/plan", status_code=201)
def create_plan(request: Request, account_id: str, body: PlanCreate) -> dict[str, Any]:
    """Create the account's success plan from a template."""
    ws = _visible(request, account_id)
    return service.create_plan(ws, account_id, as_of=_now().date(), template=body.template)


@router.patch("/plans/milestones/{milestone_id}", status_code=204)
def update_milestone(request: Request, milestone_id: PathId, body: MilestoneUpdate) -> None:
    """Set a milestone's status (planned, in_progress, done, blocked)."""
    service.update_milestone(
        _workspace(request), milestone_id, body.status, _now().date(), scope=_scope(request)
    )


@router.patch("/plans/objectives/{objective_id}", status_code=204)
def update_objective(request: Request, objective_id: PathId, body: ObjectiveUpdate) -> None:
    """Record an objective's current value, or restate its baseline and target."""
    service.update_objective(
        _workspace(request), objective_id, current=body.current, baseline=body.baseline,
        target=body.target, scope=_scope(request),
    )  # fmt: skip
