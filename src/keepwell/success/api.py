"""HTTP face of customer-success operations: CTAs (list, detail, status), their tasks,
success plans and reference requests with their outcomes.

Every route honours the caller's scope (:data:`keepwell.web.deps.OwnerScope`):
a CSM limited to their book sees and changes only the CTAs and plans of their
accounts; anything else is a 404, exactly like a missing one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from keepwell.contract.service import visible_account
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.workspace import Workspace
from keepwell.success import service
from keepwell.web.deps import CurrentManager, CurrentUser, OwnerScope, WorkspaceDep
from keepwell.web.errors import error_responses
from keepwell.web.ids import PathId

router = APIRouter(prefix="/api/v1", tags=["success"], responses=error_responses(400))
_NOT_FOUND = error_responses(404)


class CtaAction(StrEnum):
    START = "in_progress"
    SNOOZE = "snoozed"
    CLOSE = "closed"


class CtaUpdate(BaseModel):
    """A status change: ``in_progress``; ``snoozed`` with ``until``; ``closed`` with
    ``outcome`` (one of the CTA type's, see keepwell.success.outcomes) and ``reason``."""

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


class CtaRead(BaseModel):
    """A call to action: why it opened, who owns it, when it is due (``overdue`` as of
    the request's day) and how it closed."""

    cta_id: int
    account_id: str
    type: str
    priority: str
    title: str
    reason: str | None
    owner: str | None
    segment: str | None
    status: str
    opened_on: date
    due_on: date | None
    overdue: bool
    snoozed_until: date | None
    outcome: str | None
    close_reason: str | None
    closed_on: date | None
    rule: str | None
    playbook: str | None
    #: ARR x churn probability x urgency x sponsor factor (docs/success.md), a year.
    stake: Decimal | None = None
    #: Why the CTA has its priority, in words.
    priority_why: str | None = None
    snooze_reason: str | None = None
    #: The outcomes it may close with (key: label).
    outcomes: dict[str, str] = {}


class TaskRead(BaseModel):
    """A playbook task of a CTA."""

    task_id: int
    position: int
    title: str
    owner_role: str | None
    owner: str | None
    due_on: date
    status: str
    completed_on: date | None
    overdue: bool


class CtaDetailRead(CtaRead):
    """A CTA with the values that triggered it (the rule's inputs, free-form) and its
    playbook tasks."""

    trigger_values: dict[str, Any] | None
    tasks: list[TaskRead]


class TaskCompleted(BaseModel):
    """The completed task, its CTA and how many of the CTA's tasks remain open."""

    task_id: int
    cta_id: int
    open_tasks: int


class ObjectiveRead(BaseModel):
    """A plan objective; ``attainment`` is the share of the way from baseline to target
    (null until a current value is recorded)."""

    objective_id: int
    metric: str
    unit: str | None
    baseline: float | None
    target: float | None
    current: float | None
    due_on: date | None
    attainment: float | None


class MilestoneRead(BaseModel):
    milestone_id: int
    position: int
    title: str
    side: str
    owner: str | None
    due_on: date | None
    status: str
    completed_on: date | None
    overdue: bool


class CheckinRead(BaseModel):
    held_on: date
    progress: float | None
    notes: str | None


class PlanRead(BaseModel):
    """An account's active success plan; ``progress`` in percent (null when nothing can
    be measured yet)."""

    plan_id: int
    account_id: str
    title: str
    template: str
    status: str
    created_on: date
    progress: float | None
    objectives: list[ObjectiveRead]
    milestones: list[MilestoneRead]
    checkins: list[CheckinRead]


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/ctas", response_model=list[CtaRead])
def list_ctas(
    workspace: WorkspaceDep,
    scope: OwnerScope,
    owner: str | None = None,
    overdue: bool = False,
    status: str | None = None,
    account_id: str | None = None,
    as_of: date | None = None,
) -> list[dict[str, Any]]:
    """CTAs (live ones unless ``status`` is given; ``all`` for every one), overdue and
    most urgent first."""
    return service.list_ctas(
        workspace, as_of=as_of or _now().date(), owner=owner, overdue=overdue,
        status=status, account_id=account_id, scope=scope,
    )  # fmt: skip


@router.get("/ctas/{cta_id}", response_model=CtaDetailRead, responses=_NOT_FOUND)
def cta_detail(
    workspace: WorkspaceDep, scope: OwnerScope, cta_id: PathId, as_of: date | None = None
) -> dict[str, Any]:
    """One CTA with the values that triggered it and its playbook tasks."""
    return service.cta_detail(workspace, cta_id, as_of=as_of or _now().date(), scope=scope)


@router.patch("/ctas/{cta_id}", response_model=CtaDetailRead, responses=_NOT_FOUND)
def update_cta(
    workspace: WorkspaceDep, scope: OwnerScope, cta_id: PathId, change: CtaUpdate
) -> dict[str, Any]:
    """Start, snooze or close a CTA; returns it as it is now."""
    now = _now()
    if change.status is CtaAction.START:
        service.start_cta(workspace, cta_id, now, scope=scope)
    elif change.status is CtaAction.SNOOZE:
        if change.until is None:
            raise InputError("snoozing needs 'until' (a date)")
        service.snooze_cta(workspace, cta_id, change.until, now, scope=scope)
    else:
        if change.outcome is None:
            raise InputError("closing needs an 'outcome'")
        service.close_cta(
            workspace, cta_id, outcome=change.outcome, reason=change.reason, now=now,
            scope=scope,
        )  # fmt: skip
    return service.cta_detail(workspace, cta_id, as_of=now.date(), scope=scope)


@router.post("/tasks/{task_id}/complete", response_model=TaskCompleted, responses=_NOT_FOUND)
def complete_task(workspace: WorkspaceDep, scope: OwnerScope, task_id: PathId) -> dict[str, Any]:
    """Mark a playbook task done; its CTA moves to in progress."""
    return service.complete_task(workspace, task_id, _now(), scope=scope)


def _visible(workspace: Workspace, scope: str | None, account_id: str) -> Workspace:
    visible_account(workspace, account_id, scope=scope)
    return workspace


@router.get("/accounts/{account_id}/plan", response_model=PlanRead, responses=_NOT_FOUND)
def show_plan(
    workspace: WorkspaceDep, scope: OwnerScope, account_id: str, as_of: date | None = None
) -> dict[str, Any]:
    """The account's active success plan with objectives, milestones and progress (%)."""
    ws = _visible(workspace, scope, account_id)
    return service.show_plan(ws, account_id, as_of or _now().date())


@router.post(
    "/accounts/{account_id}/plan",
    status_code=201,
    response_model=PlanRead,
    responses=_NOT_FOUND,
)
def create_plan(
    workspace: WorkspaceDep, scope: OwnerScope, account_id: str, body: PlanCreate
) -> dict[str, Any]:
    """Create the account's success plan from a template."""
    ws = _visible(workspace, scope, account_id)
    return service.create_plan(ws, account_id, as_of=_now().date(), template=body.template)


@router.patch(
    "/plans/milestones/{milestone_id}",
    status_code=204,
    response_class=Response,
    responses=_NOT_FOUND,
)
def update_milestone(
    workspace: WorkspaceDep, scope: OwnerScope, milestone_id: PathId, body: MilestoneUpdate
) -> None:
    """Set a milestone's status (planned, in_progress, done, blocked)."""
    service.update_milestone(workspace, milestone_id, body.status, _now().date(), scope=scope)


@router.patch(
    "/plans/objectives/{objective_id}",
    status_code=204,
    response_class=Response,
    responses=_NOT_FOUND,
)
def update_objective(
    workspace: WorkspaceDep, scope: OwnerScope, objective_id: PathId, body: ObjectiveUpdate
) -> None:
    """Record an objective's current value, or restate its baseline and target."""
    service.update_objective(
        workspace, objective_id, current=body.current, baseline=body.baseline,
        target=body.target, scope=scope,
    )  # fmt: skip


# ---- feature requests ---------------------------------------------------------------


class FeatureRequestRead(BaseModel):
    """A feature request on the board: accounts asking (distinct) and mentions up to
    ``as_of``, ARR of those accounts on ``as_of`` (base currency per year, exact)."""

    request_id: int
    request: str
    status: str
    accounts: int
    mentions: int
    arr: Decimal
    account_ids: list[str]
    first_at: datetime
    last_at: datetime


class FeatureAskRead(BaseModel):
    """One customer asking: account, contact, their words, ARR when they asked."""

    ask_id: int
    account_id: str
    account: str | None
    contact_id: str | None
    quote: str
    arr: Decimal | None
    asked_at: datetime
    author: str | None
    activity_id: str | None


class FeatureRequestDetailRead(BaseModel):
    """A feature request with every ask; ``merged`` lists the requests merged into it,
    ``merged_into`` the one it was merged into."""

    request_id: int
    title: str
    status: str
    merged_into: int | None
    created_at: datetime
    updated_at: datetime
    shipped_at: datetime | None
    accounts: int
    arr_when_asked: Decimal
    merged: list[int]
    asks: list[FeatureAskRead]


class FeatureAskCreate(BaseModel):
    """A customer asks for ``title`` (joins a request with a similar title, or
    ``request_id``); the ask also goes on the account's timeline as a note."""

    account_id: str = Field(max_length=255)
    title: str = Field(min_length=1, max_length=200)
    contact_id: str | None = Field(default=None, max_length=255)
    quote: str = Field(default="", max_length=4000)
    request_id: int | None = Field(default=None, ge=1)
    asked_at: datetime | None = None


class FeatureStatusUpdate(BaseModel):
    """A new status: open, planned, shipped (the asking customers are told) or declined."""

    status: service.RequestStatus


class FeatureMerge(BaseModel):
    """Merge this request into request ``into``."""

    into: int = Field(ge=1)


@router.get("/feedback/requests", response_model=list[FeatureRequestRead])
def list_feature_requests(
    workspace: WorkspaceDep,
    scope: OwnerScope,
    as_of: date | None = None,
    status: service.RequestStatus | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Feature requests, most asked first (accounts, then ARR)."""
    return service.list_requests(
        workspace, as_of or _now().date(), status=status.value if status else None,
        limit=limit, scope=scope,
    )  # fmt: skip


@router.get(
    "/feedback/requests/{request_id}",
    response_model=FeatureRequestDetailRead,
    responses=_NOT_FOUND,
)
def feature_request(workspace: WorkspaceDep, request_id: PathId) -> dict[str, Any]:
    """One feature request with every customer's ask."""
    return service.show_request(workspace, request_id)


@router.post(
    "/feedback/requests",
    response_model=FeatureRequestDetailRead,
    status_code=201,
    responses=_NOT_FOUND,
)
def ask_feature(
    workspace: WorkspaceDep, scope: OwnerScope, principal: CurrentUser, ask: FeatureAskCreate
) -> dict[str, Any]:
    """Record a customer's feature request; returns the request it joined."""
    visible_account(workspace, ask.account_id, scope=scope)
    at = ask.asked_at or _now()
    note = service.add_feedback(
        workspace, ask.account_id, ask.title, author=principal.email, occurred_at=at,
        body=ask.quote, contact_id=ask.contact_id, request_id=ask.request_id,
        as_of=min(at.date(), _now().date()),
    )  # fmt: skip
    return service.show_request(workspace, int(note["request_id"]))


@router.patch(
    "/feedback/requests/{request_id}",
    response_model=FeatureRequestDetailRead,
    responses=_NOT_FOUND,
)
def update_feature_request(
    workspace: WorkspaceDep, _manager: CurrentManager, request_id: PathId,
    change: FeatureStatusUpdate,
) -> dict[str, Any]:  # fmt: skip
    """Set the status (a manager or admin); shipping tells the asking customers once."""
    return service.set_status(workspace, request_id, change.status.value, at=_now())


@router.post(
    "/feedback/requests/{request_id}/merge",
    response_model=FeatureRequestDetailRead,
    responses=_NOT_FOUND,
)
def merge_feature_request(
    workspace: WorkspaceDep, _manager: CurrentManager, request_id: PathId, merge: FeatureMerge
) -> dict[str, Any]:
    """Merge this request into another (a manager or admin); returns the other."""
    return service.merge_requests(workspace, request_id, merge.into, at=_now())


# ---- references ---------------------------------------------------------------------


class ReferenceOutcome(StrEnum):
    GIVEN = "given"
    DECLINED = "declined"


class ReferenceRequestCreate(BaseModel):
    """A request to use the account as a reference (refused past its fatigue limit)."""

    purpose: str = Field(min_length=1, max_length=255)
    on: date | None = None


class ReferenceOutcomeCreate(BaseModel):
    """The customer gave (a use of ``kind`` is recorded) or declined the request."""

    outcome: ReferenceOutcome
    kind: str = Field(default="call", min_length=1, max_length=64)
    on: date | None = None


class ReferenceRequestRead(BaseModel):
    request_id: int
    account_id: str
    purpose: str
    requested_by: str | None
    requested_on: date
    status: str
    answered_on: date | None


class ReferenceUseRead(BaseModel):
    use_id: int
    used_on: date
    kind: str
    request_id: int | None


class AccountReferencesRead(BaseModel):
    """An account's reference requests and uses; ``stopped`` is the health measure
    ``references_stopped`` as of the day (1 stopped, 0 still giving, null never gave)."""

    account_id: str
    referenceable: bool
    stopped: float | None
    window_days: int
    requests: list[ReferenceRequestRead]
    uses: list[ReferenceUseRead]


@router.get(
    "/accounts/{account_id}/references",
    response_model=AccountReferencesRead,
    responses=_NOT_FOUND,
)
def account_references(
    workspace: WorkspaceDep, scope: OwnerScope, account_id: str, as_of: date | None = None
) -> dict[str, Any]:
    """The account's reference requests with their outcomes, its uses, and whether it
    stopped giving references."""
    ws = _visible(workspace, scope, account_id)
    return service.account_references(ws, account_id, as_of or _now().date())


@router.post(
    "/accounts/{account_id}/references/requests",
    status_code=201,
    response_model=ReferenceRequestRead,
    responses=_NOT_FOUND,
)
def request_reference(
    workspace: WorkspaceDep,
    scope: OwnerScope,
    principal: CurrentUser,
    account_id: str,
    body: ReferenceRequestCreate,
) -> dict[str, Any]:
    """Ask a referenceable customer for a reference."""
    ws = _visible(workspace, scope, account_id)
    request_id = service.request_reference(
        ws, account_id, purpose=body.purpose, requested_by=principal.email,
        on=body.on or _now().date(),
    )  # fmt: skip
    return service.reference_requests(ws, request_id=request_id)[0]


@router.post(
    "/references/requests/{request_id}/outcome",
    response_model=ReferenceRequestRead,
    responses=_NOT_FOUND,
)
def record_reference_outcome(
    workspace: WorkspaceDep,
    scope: OwnerScope,
    principal: CurrentUser,
    request_id: PathId,
    body: ReferenceOutcomeCreate,
) -> dict[str, Any]:
    """Record that the customer gave or declined a reference request."""
    found = service.reference_requests(workspace, request_id=request_id)
    if not found:
        raise NotFoundError(f"no reference request {request_id}")
    _visible(workspace, scope, found[0]["account_id"])
    return service.record_outcome(
        workspace, request_id, body.outcome.value, on=body.on or _now().date(),
        kind=body.kind, actor=principal.email,
    )  # fmt: skip
