"""Use cases of the customer's voice: the public surface of ``voice``.

Surveys (campaigns queued through the notification outbox, answers stored as
``surveys`` rows), shared success plans (a signed, expiring, revocable link; the
customer marks their milestones done and comments, each change on the timeline under
their name), the customer's success measures (their progress is the health measure
``measure_progress``), the monthly progress meeting, and the customer's business
review. Nothing here reads the clock: ``now`` and ``as_of`` are given.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.core.audit import record_audit
from keepwell.core.database import transaction
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from keepwell.reports import service as reports_service
from keepwell.success import service as success_service
from keepwell.voice import agenda, links
from keepwell.voice.campaigns import Campaign, SurveyKind
from keepwell.voice.errors import LinkGoneError, LinkInvalidError
from keepwell.voice.measure_store import add_measure, progress_by_account, read_measures
from keepwell.voice.measure_store import record_reading as _record_reading
from keepwell.voice.models import ReviewNarrative
from keepwell.voice.share_store import create_share, list_shares, open_share, revoke_share
from keepwell.voice.survey_store import (
    answer,
    define_campaign,
    list_campaigns,
    list_sends,
    record_answer,
    run_campaigns,
    survey_summary,
    survey_view,
)

__all__ = [
    "Campaign",
    "LinkGoneError",
    "LinkInvalidError",
    "SurveyKind",
    "account_measures",
    "add_measure",
    "all_measures",
    "answer",
    "comment_on_plan",
    "customer_review",
    "customer_review_pdf",
    "define_campaign",
    "list_campaigns",
    "list_sends",
    "list_shares",
    "mark_milestone_done",
    "meeting_agenda",
    "narratives",
    "push_health_measures",
    "record_answer",
    "record_meeting",
    "record_reading",
    "revoke_share",
    "run_campaigns",
    "save_narrative",
    "share_plan",
    "shared_plan",
    "survey_summary",
    "survey_view",
]

#: Timeline tag of every change made through a shared plan.
SHARED_TAG = "shared-plan"
#: The health measure fed by the customer's success measures (``measures: external:``).
MEASURE = "measure_progress"
#: Health measures of overdue plan milestones: ours, and the customer's.
OVERDUE_OURS, OVERDUE_THEIRS = "plan_overdue_ours", "plan_overdue_customer"
NARRATIVE_SECTIONS = ("summary", "next_steps")


def share_plan(
    workspace: Workspace,
    account_id: str,
    *,
    shared_with: str,
    email: str | None,
    days: int,
    now: datetime,
    settings: Settings,
    actor: str | None = None,
) -> dict[str, Any]:
    """A link showing the account's active plan to ``shared_with`` for ``days`` days:
    the share and its ``url``."""
    settings = settings.check()
    plan = success_service.show_plan(workspace, account_id, now.date())
    share_id, nonce = create_share(
        workspace, plan_id=int(plan["plan_id"]), account_id=account_id, shared_with=shared_with,
        email=email, days=days, now=now, actor=actor,
    )  # fmt: skip
    token = links.share_token(share_id, nonce, settings.secret_key.get_secret_value())
    share = next(s for s in list_shares(workspace, account_id, now) if s["share_id"] == share_id)
    return share | {"url": f"{settings.base_url.rstrip('/')}/p/{token}"}


def _open(
    workspace: Workspace, token: str, secret: str, now: datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    share = open_share(workspace, token, secret, now)
    try:
        plan = success_service.show_plan(workspace, share["account_id"], now.date())
    except NotFoundError:
        raise LinkGoneError(
            "this plan is closed", hint="ask your contact for the new one"
        ) from None
    if plan["plan_id"] != share["plan_id"]:
        raise LinkGoneError("this plan is closed", hint="ask your contact for the new one")
    return share, plan


def shared_plan(workspace: Workspace, token: str, secret: str, now: datetime) -> dict[str, Any]:
    """What the customer sees through link ``token``: the plan's goals (objectives),
    both sides' milestones, their success measures, the conversation on the plan and
    the next progress meeting with its agenda. Only this plan's account's data."""
    share, plan = _open(workspace, token, secret, now)
    account_id = share["account_id"]
    measures = read_measures(workspace, now.date(), [account_id])
    comments = success_service.account_timeline(workspace, account_id, 50, tag=SHARED_TAG)
    return {
        "shared_with": share["shared_with"], "expires_at": share["expires_at"],
        "title": plan["title"], "progress": plan["progress"],
        "objectives": plan["objectives"],
        "milestones": [_milestone(m) for m in plan["milestones"]],
        "measures": [{k: m[k] for k in ("name", "unit", "baseline", "target", "target_on",
                                        "latest", "latest_on", "progress")} for m in measures],
        "comments": [{"author": c["author"], "at": c["occurred_at"], "subject": c["subject"],
                      "body": c["body"]} for c in comments],
        "next_meeting": agenda.next_meeting(plan["created_on"], now.date()),
        "agenda": agenda.agenda(plan, measures, now.date()),
    }  # fmt: skip


def _milestone(m: dict[str, Any]) -> dict[str, Any]:
    customer = m["side"] == "customer"
    return {"milestone_id": m["milestone_id"], "title": m["title"], "side": m["side"],
            "owner": m["owner"] if customer else "our team", "due_on": m["due_on"],
            "status": m["status"], "overdue": m["overdue"],
            "yours": customer and m["status"] != "done"}  # fmt: skip


def mark_milestone_done(
    workspace: Workspace, token: str, secret: str, now: datetime, milestone_id: int
) -> dict[str, Any]:
    """The customer marks their milestone ``milestone_id`` done; the change goes on the
    timeline under the name the plan was shared with. Only a customer-side milestone of
    the shared plan (else :class:`NotFoundError`)."""
    share, plan = _open(workspace, token, secret, now)
    found = next((m for m in plan["milestones"] if m["milestone_id"] == milestone_id), None)
    if found is None or found["side"] != "customer":
        raise NotFoundError(f"no milestone {milestone_id} of yours on this plan")
    if found["status"] != "done":
        success_service.update_milestone(workspace, milestone_id, "done", now.date())
        success_service.add_note(
            workspace, share["account_id"], share["shared_with"],
            f"Marked the milestone \"{found['title']}\" done on the shared plan.",
            [SHARED_TAG], "note", now, subject="Milestone done",
        )  # fmt: skip
    return {"milestone_id": milestone_id, "status": "done"}


def comment_on_plan(
    workspace: Workspace, token: str, secret: str, now: datetime, text: str
) -> dict[str, Any]:
    """The customer's comment on the shared plan, on the timeline under their name."""
    share, _ = _open(workspace, token, secret, now)
    body = text.strip()
    if not body:
        raise InputError("the comment is empty")
    if len(body) > 4000:
        raise InputError(f"a comment is at most 4000 characters, got {len(body)}")
    return success_service.add_note(
        workspace,
        share["account_id"],
        share["shared_with"],
        body,
        [SHARED_TAG],
        "note",
        now,
        subject="Comment on the shared plan",
    )


def record_reading(
    workspace: Workspace,
    measure_id: int,
    taken_on: date,
    value: float,
    entered_by: str | None,
    *,
    account_id: str | None = None,
) -> None:
    """Record a reading of a success measure (either side, or an import)."""
    _record_reading(workspace, measure_id, taken_on, value, entered_by, account_id=account_id)


def account_measures(workspace: Workspace, account_id: str, as_of: date) -> list[dict[str, Any]]:
    """The account's success measures with readings up to ``as_of`` and progress (0-1)."""
    return read_measures(workspace, as_of, [account_id])


def all_measures(workspace: Workspace, as_of: date) -> list[dict[str, Any]]:
    """Every account's success measures with readings up to ``as_of``."""
    return read_measures(workspace, as_of)


def push_health_measures(workspace: Workspace, as_of: date) -> dict[str, int]:
    """Store the customer's voice as external health measures on ``as_of``:
    :data:`MEASURE` (each account's progress toward its success measures, 0-100) and
    :data:`OVERDUE_OURS` / :data:`OVERDUE_THEIRS` (milestones of the active plan past
    due and not done, on our side and the customer's), and the references a customer
    stopped giving (``references_stopped``). The accounts written per measure."""
    progress = progress_by_account(workspace, as_of)
    written = {MEASURE: health_service.record_measure(workspace, MEASURE, progress, as_of,
                                                     complete=True)}  # fmt: skip
    ours: dict[str, float | None] = {}
    theirs: dict[str, float | None] = {}
    for account_id in success_service.plan_progress(workspace, as_of):
        plan = success_service.show_plan(workspace, account_id, as_of)
        late = [m["side"] for m in plan["milestones"] if m["overdue"]]
        ours[account_id] = float(sum(side != "customer" for side in late))
        theirs[account_id] = float(sum(side == "customer" for side in late))
    for name, values in ((OVERDUE_OURS, ours), (OVERDUE_THEIRS, theirs)):
        written[name] = health_service.record_measure(workspace, name, values, as_of,
                                                      complete=True)  # fmt: skip
    written[success_service.STOPPED_MEASURE] = success_service.push_stopped_measure(
        workspace, as_of
    )
    return written


def meeting_agenda(workspace: Workspace, account_id: str, as_of: date) -> dict[str, Any]:
    """The next monthly progress meeting of the account's plan and its agenda."""
    plan = success_service.show_plan(workspace, account_id, as_of)
    measures = read_measures(workspace, as_of, [account_id])
    return {"plan_id": plan["plan_id"], "title": plan["title"],
            "next_meeting": agenda.next_meeting(plan["created_on"], as_of),
            "agenda": agenda.agenda(plan, measures, as_of),
            "meetings": plan["checkins"]}  # fmt: skip


def record_meeting(workspace: Workspace, account_id: str, held_on: date, notes: str) -> float:
    """Keep the notes of a progress meeting (a plan check-in); the plan's progress then."""
    return success_service.record_checkin(workspace, account_id, held_on, notes.strip() or None)


def save_narrative(
    workspace: Workspace,
    account_id: str,
    section: str,
    text: str,
    now: datetime,
    saved_by: str | None,
) -> None:
    """Save an edited narrative section of the customer business review."""
    if section not in NARRATIVE_SECTIONS:
        raise InputError(f"unknown section {section!r}", hint=", ".join(NARRATIVE_SECTIONS))
    if len(text) > 8000:
        raise InputError(f"a section is at most 8000 characters, got {len(text)}")
    with transaction(workspace.engine) as session:
        if session.execute(sa.text("SELECT 1 FROM accounts WHERE account_id = :a"),
                           {"a": account_id}).first() is None:  # fmt: skip
            raise NotFoundError(f"no account {account_id!r}")
        row = session.get(ReviewNarrative, (account_id, section)) or ReviewNarrative(
            account_id=account_id, section=section
        )
        row.text, row.saved_at, row.saved_by = text.strip(), now, saved_by
        session.add(row)
        record_audit(session, action="review.narrative", target=f"{account_id}:{section}",
                     account_id=account_id)  # fmt: skip


def narratives(workspace: Workspace, account_id: str) -> dict[str, str]:
    """The saved narrative sections of the account's customer business review."""
    return _narratives(workspace, account_id)


def _narratives(workspace: Workspace, account_id: str) -> dict[str, str]:
    query = sa.select(ReviewNarrative).where(ReviewNarrative.account_id == account_id)
    with Session(workspace.engine) as session:
        return {n.section: n.text for n in session.execute(query).scalars()}


def customer_review(
    workspace: Workspace, account_id: str, as_of: date, *, scope: str | None = None
) -> dict[str, Any]:
    """The business review the customer can be given (see
    :func:`keepwell.reports.service.customer_review`), with their success measures and
    the saved narrative."""
    return reports_service.customer_review(
        workspace, account_id, as_of, scope=scope,
        measures=read_measures(workspace, as_of, [account_id]),
        narrative=_narratives(workspace, account_id),
    )  # fmt: skip


def customer_review_pdf(review: dict[str, Any], *, generated_at: datetime) -> bytes:
    return reports_service.customer_review_pdf(review, generated_at=generated_at)
