"""HTTP face of the customer's voice for the vendor: survey campaigns, shared plan
links, the customer's success measures and the plan's progress-meeting agenda.

Every account route honours the caller's scope (:data:`keepwell.web.deps.OwnerScope`):
another CSM's account is a 404, exactly like a missing one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from keepwell.contract.service import visible_account
from keepwell.voice import service
from keepwell.web.deps import CurrentUser, OwnerScope, SettingsDep, WorkspaceDep
from keepwell.web.errors import error_responses
from keepwell.web.ids import PathId

router = APIRouter(prefix="/api/v1", tags=["voice"], responses=error_responses(400))
_NOT_FOUND = error_responses(404)


def _now() -> datetime:
    return datetime.now(UTC)


class CampaignWrite(BaseModel):
    """A survey campaign: ``kind`` nps or csat, the ``question``, to contacts of
    ``role`` (any when null) at accounts of ``segment`` (any when null), again every
    ``every_days`` days (once when null), no contact asked twice within
    ``throttle_days`` days; it starts on ``starts_on`` (today when null)."""

    kind: service.SurveyKind
    question: str = Field(min_length=1, max_length=500)
    role: str | None = Field(default=None, max_length=64)
    segment: str | None = Field(default=None, max_length=64)
    every_days: int | None = Field(default=None, ge=1, le=3650)
    throttle_days: int = Field(default=90, ge=0, le=3650)
    starts_on: date | None = None


class CampaignRead(BaseModel):
    name: str
    kind: str
    question: str
    role: str | None
    segment: str | None
    every_days: int | None
    throttle_days: int
    created_on: date
    active: bool
    sends: int
    answers: int
    response_rate: float | None


class SurveyRunRead(BaseModel):
    """Survey emails queued in the outbox on ``as_of``, and those skipped and why."""

    as_of: date
    queued: int
    throttled: int
    unsubscribed: int
    already: int


class SegmentNpsRead(BaseModel):
    """Survey emails sent and answered (response rate, percent) and NPS (-100..100) of
    one segment (``all``: every account): the last 90 days and per quarter."""

    segment: str
    sent: int
    answered: int
    response_rate: float | None
    nps_90d: float | None
    answers_90d: int
    trend: dict[str, float | None]


class SurveySummaryRead(BaseModel):
    as_of: date
    quarters: list[str]
    segments: list[SegmentNpsRead]


class ShareCreate(BaseModel):
    shared_with: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    days: int = Field(default=90, ge=1, le=366)


class ShareRead(BaseModel):
    share_id: int
    plan_id: int
    account_id: str
    shared_with: str
    email: str | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    state: str
    url: str | None = None


class MeasureCreate(BaseModel):
    name: str = Field(min_length=1, max_length=250)
    unit: str = Field(min_length=1, max_length=60)
    baseline: float
    target: float
    started_on: date
    target_on: date
    plan_id: int | None = None


class ReadingCreate(BaseModel):
    taken_on: date
    value: float


class ReadingRead(BaseModel):
    taken_on: date
    value: float
    entered_by: str | None


class MeasureRead(BaseModel):
    """A success measure in the customer's unit; ``progress`` 0-1 toward the target."""

    measure_id: int
    account_id: str
    plan_id: int | None
    name: str
    unit: str
    baseline: float
    target: float
    started_on: date
    target_on: date
    latest: float | None
    latest_on: date | None
    progress: float | None
    readings: list[ReadingRead]


class AgendaRead(BaseModel):
    plan_id: int
    title: str
    next_meeting: date
    agenda: list[str]


@router.get("/surveys/campaigns", response_model=list[CampaignRead])
def list_campaigns(workspace: WorkspaceDep) -> list[dict[str, Any]]:
    """Survey campaigns with sends, answers and response rate."""
    return service.list_campaigns(workspace)


@router.put("/surveys/campaigns/{name}", response_model=CampaignRead)
def put_campaign(workspace: WorkspaceDep, name: str, body: CampaignWrite) -> dict[str, Any]:
    """Create or replace the campaign ``name``."""
    service.define_campaign(workspace, service.Campaign(
        name, body.kind.value, body.question, body.role, body.segment, body.every_days,
        body.throttle_days, body.starts_on or _now().date()))  # fmt: skip
    return next(c for c in service.list_campaigns(workspace) if c["name"] == name)


@router.get("/surveys/summary", response_model=SurveySummaryRead)
def survey_summary(workspace: WorkspaceDep, as_of: date | None = None) -> dict[str, Any]:
    """Response rate and NPS by segment, with the trend over the last four quarters."""
    return service.survey_summary(workspace, as_of or _now().date())


@router.post("/surveys/run", response_model=SurveyRunRead)
def run_surveys(
    workspace: WorkspaceDep, settings: SettingsDep, as_of: date | None = None
) -> dict[str, Any]:
    """Queue the survey emails due on ``as_of`` (today by default) in the outbox."""
    day = as_of or _now().date()
    return {"as_of": day, **service.run_campaigns(workspace, day, settings)}


@router.post("/accounts/{account_id}/plan/shares", response_model=ShareRead,
             responses=_NOT_FOUND)  # fmt: skip
def share_plan(
    workspace: WorkspaceDep,
    settings: SettingsDep,
    scope: OwnerScope,
    user: CurrentUser,
    account_id: str,
    body: ShareCreate,
) -> dict[str, Any]:
    """A signed link showing the account's active plan to a person of the customer."""
    visible_account(workspace, account_id, scope=scope)
    return service.share_plan(workspace, account_id, shared_with=body.shared_with,
                              email=body.email, days=body.days, now=_now(), settings=settings,
                              actor=user.email)  # fmt: skip


@router.get("/accounts/{account_id}/plan/shares", response_model=list[ShareRead],
            responses=_NOT_FOUND)  # fmt: skip
def list_shares(
    workspace: WorkspaceDep, scope: OwnerScope, account_id: str
) -> list[dict[str, Any]]:
    visible_account(workspace, account_id, scope=scope)
    return service.list_shares(workspace, account_id, _now())


@router.post("/accounts/{account_id}/plan/shares/{share_id}/revoke", response_model=ShareRead,
             responses=_NOT_FOUND)  # fmt: skip
def revoke_share(
    workspace: WorkspaceDep, scope: OwnerScope, account_id: str, share_id: PathId
) -> dict[str, Any]:
    """Withdraw a shared link at once (its page answers 410 from then on)."""
    visible_account(workspace, account_id, scope=scope)
    return service.revoke_share(workspace, share_id, _now(), scope_accounts={account_id})


@router.get("/accounts/{account_id}/measures", response_model=list[MeasureRead],
            responses=_NOT_FOUND)  # fmt: skip
def list_measures(
    workspace: WorkspaceDep, scope: OwnerScope, account_id: str, as_of: date | None = None
) -> list[dict[str, Any]]:
    visible_account(workspace, account_id, scope=scope)
    return service.account_measures(workspace, account_id, as_of or _now().date())


@router.post("/accounts/{account_id}/measures", response_model=MeasureRead,
             responses=_NOT_FOUND)  # fmt: skip
def add_measure(
    workspace: WorkspaceDep, scope: OwnerScope, account_id: str, body: MeasureCreate
) -> dict[str, Any]:
    """What the customer measures success in, with baseline and target."""
    visible_account(workspace, account_id, scope=scope)
    measure_id = service.add_measure(workspace, account_id, **body.model_dump())
    return _measure(workspace, account_id, measure_id)


def _measure(workspace: Any, account_id: str, measure_id: int) -> dict[str, Any]:
    far = date.max
    return next(m for m in service.account_measures(workspace, account_id, far)
                if m["measure_id"] == measure_id)  # fmt: skip


@router.post("/accounts/{account_id}/measures/{measure_id}/readings", response_model=MeasureRead,
             responses=_NOT_FOUND)  # fmt: skip
def add_reading(
    workspace: WorkspaceDep,
    scope: OwnerScope,
    user: CurrentUser,
    account_id: str,
    measure_id: PathId,
    body: ReadingCreate,
) -> dict[str, Any]:
    """Record a reading of the measure (replacing that day's)."""
    visible_account(workspace, account_id, scope=scope)
    service.record_reading(workspace, measure_id, body.taken_on, body.value, user.email,
                           account_id=account_id)  # fmt: skip
    return _measure(workspace, account_id, measure_id)


@router.get("/accounts/{account_id}/plan/agenda", response_model=AgendaRead, responses=_NOT_FOUND)
def plan_agenda(
    workspace: WorkspaceDep, scope: OwnerScope, account_id: str, as_of: date | None = None
) -> dict[str, Any]:
    """The next monthly progress meeting of the account's plan and its agenda."""
    visible_account(workspace, account_id, scope=scope)
    return service.meeting_agenda(workspace, account_id, as_of or _now().date())
