"""Web pages of customer-success work: My work (the signed-in user's CTAs, tasks,
renewals and milestones, the most at stake first), the team queue (every open CTA for
managers and admins, filterable, with bulk reassign), a CTA's page (start, snooze to a
day with a reason, reassign, close with one of its type's outcomes and a comment after
confirming; tasks completed, added and re-dated), the edits of Account 360 (owner,
contacts, plan milestones and objectives, check-ins, the renewal call), playbook
effectiveness and the product feedback board.

Every form carries the session's CSRF token; viewers cannot post; a CSM restricted to
their book sees and changes their accounts only; every change is audited by the
service that makes it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from keepwell.auth.errors import PermissionDeniedError
from keepwell.core.errors import InputError
from keepwell.success import service
from keepwell.team import service as team_service
from keepwell.web.ids import FormId, PathId
from keepwell.web.toolkit import (
    PageUser,
    check_form,
    page_user,
    render,
    safe_next,
    today,
    workspace_of,
)

router = APIRouter(include_in_schema=False)
User = Annotated[PageUser, Depends(page_user)]
Csrf = Annotated[str, Form(max_length=200)]
Back = Annotated[str, Form(max_length=2000)]
Short = Annotated[str, Form(max_length=255)]
LongText = Annotated[str, Form(max_length=2000)]
Filter = Annotated[str | None, Query(max_length=320)]
PRIORITIES = ("urgent", "high", "medium", "low")


def _day(value: str, field: str) -> date:
    """A day from a form field; :class:`InputError` naming the field otherwise."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"{field}: {value[:40]!r} is not a day", hint="YYYY-MM-DD") from None


def _now() -> datetime:
    return datetime.now(UTC)


def _back(back: str | None, default: str) -> RedirectResponse:
    return RedirectResponse(safe_next(back or default), status_code=303)


@router.get("/my-work", response_class=HTMLResponse)
def my_work(request: Request, user: User) -> HTMLResponse:
    """The user's open CTAs and tasks (the most at stake first), renewals of their
    accounts and plan milestones they own coming due."""
    work = service.my_work(workspace_of(request), user.principal.email, today())
    return render(request, user, "my_work.html", title="My work", v={"work": work})


#: CTAs per page of the team queue (each with its open tasks).
QUEUE_PAGE = 50


@router.get("/queue", response_class=HTMLResponse)
def team_queue(
    request: Request,
    user: User,
    owner: Filter = None,
    team: Filter = None,
    type: Filter = None,
    priority: Filter = None,
    overdue: Annotated[bool, Query()] = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Every open CTA and task of the team (a CSM restricted to a book: theirs), the
    most at stake first, :data:`QUEUE_PAGE` CTAs a page; filtered by owner, team (its
    CSMs' CTAs), type, priority and overdue."""
    ws = workspace_of(request)
    teams = team_service.list_teams(ws)
    members = None
    if team:
        chosen = next((t for t in teams if t["team_id"] == team), None)
        if chosen is None:
            raise InputError(f"no team {team[:60]!r}", hint="pick a team from the list")
        members = chosen["csms"]
    work = service.work_items(ws, today(), owner=owner or None, scope=user.owner_scope,
                              owners=members, cta_type=type or None, priority=priority or None,
                              overdue=overdue, limit=QUEUE_PAGE,
                              offset=(page - 1) * QUEUE_PAGE)  # fmt: skip
    filters = {"owner": owner or "", "team": team or "", "type": type or "",
               "priority": priority or "", "overdue": overdue, "page": page,
               "pages": max(1, -(-work["ctas"] // QUEUE_PAGE))}  # fmt: skip
    options = {"owners": service.cta_owners(ws, scope=user.owner_scope),
               "teams": [(t["team_id"], t["name"]) for t in teams],
               "types": list(service.OUTCOMES), "priorities": PRIORITIES}  # fmt: skip
    return render(request, user, "queue.html", title="Team queue",
                  v={"work": work, "filters": filters, "options": options})  # fmt: skip


@router.post("/queue/reassign")
async def bulk_reassign(
    request: Request,
    user: User,
    csrf_token: Csrf,
    owner: Short,
    cta_ids: Annotated[list[int], Form(max_length=500)],
    back: Back = "/queue",
) -> Response:
    """Give the chosen CTAs to ``owner`` (managers and admins)."""
    check_form(user, csrf_token)
    _manager(user)
    await run_in_threadpool(service.reassign_cta, workspace_of(request), cta_ids, owner, _now(),
                            scope=user.owner_scope)  # fmt: skip
    return _back(back, "/queue")


@router.get("/ctas/{cta_id}", response_class=HTMLResponse)
def cta_page(request: Request, user: User, cta_id: PathId) -> HTMLResponse:
    """One CTA: why it is open and why its priority, its tasks, and its actions."""
    cta = service.cta_detail(workspace_of(request), cta_id, as_of=today(), scope=user.owner_scope)
    return render(request, user, "cta.html", title=f"CTA {cta_id}: {cta['title']}",
                  v={"cta": cta, "today": today()})  # fmt: skip


@router.post("/ctas/{cta_id}/start")
async def start(request: Request, user: User, cta_id: PathId, csrf_token: Csrf) -> Response:
    check_form(user, csrf_token)
    await run_in_threadpool(service.start_cta, workspace_of(request), cta_id, _now(),
                            scope=user.owner_scope)  # fmt: skip
    return _back(None, f"/ctas/{cta_id}")


@router.post("/ctas/{cta_id}/snooze")
async def snooze(
    request: Request, user: User, cta_id: PathId, csrf_token: Csrf, until: Short, reason: LongText
) -> Response:
    """Put the CTA aside until a chosen day, for a reason."""
    check_form(user, csrf_token)
    if not reason.strip():
        raise InputError("say why the CTA is snoozed", hint="fill in the reason")
    await run_in_threadpool(service.snooze_cta, workspace_of(request), cta_id,
                            _day(until, "until"), _now(), scope=user.owner_scope,
                            reason=reason.strip())  # fmt: skip
    return _back(None, f"/ctas/{cta_id}")


@router.post("/ctas/{cta_id}/reassign")
async def reassign(
    request: Request, user: User, cta_id: PathId, csrf_token: Csrf, owner: Short
) -> Response:
    check_form(user, csrf_token)
    await run_in_threadpool(service.reassign_cta, workspace_of(request), [cta_id], owner,
                            _now(), scope=user.owner_scope)  # fmt: skip
    return _back(None, f"/ctas/{cta_id}")


@router.post("/ctas/{cta_id}/close")
async def close(
    request: Request,
    user: User,
    cta_id: PathId,
    csrf_token: Csrf,
    outcome: Short,
    comment: LongText,
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Close the CTA with one of its type's outcomes and a comment, once confirmed."""
    check_form(user, csrf_token)
    if confirm != "yes":
        raise InputError("closing a CTA needs confirming", hint="tick 'I confirm' and close again")
    if not comment.strip():
        raise InputError("say how the CTA ended", hint="fill in the comment")
    await run_in_threadpool(service.close_cta, workspace_of(request), cta_id, outcome=outcome,
                            reason=comment.strip(), now=_now(), scope=user.owner_scope)  # fmt: skip
    return _back(None, f"/ctas/{cta_id}")


@router.post("/ctas/{cta_id}/tasks")
async def add_task(
    request: Request, user: User, cta_id: PathId, csrf_token: Csrf, title: Short, due_on: Short
) -> Response:
    check_form(user, csrf_token)
    await run_in_threadpool(service.add_task, workspace_of(request), cta_id, title,
                            _day(due_on, "due_on"), _now(), scope=user.owner_scope)  # fmt: skip
    return _back(None, f"/ctas/{cta_id}")


@router.post("/tasks/{task_id}/redate")
async def redate_task(
    request: Request, user: User, task_id: PathId, csrf_token: Csrf, due_on: Short, back: Back
) -> Response:
    check_form(user, csrf_token)
    await run_in_threadpool(service.redate_task, workspace_of(request), task_id,
                            _day(due_on, "due_on"), _now(), scope=user.owner_scope)  # fmt: skip
    return _back(back, "/my-work")


@router.post("/work/{kind}/{item_id}/{action}")
async def act(
    request: Request,
    user: User,
    kind: str,
    item_id: PathId,
    action: str,
    csrf_token: Csrf,
    cta_id: FormId,
    back: Back = "/my-work",
) -> Response:
    """Complete a task or start a CTA, then back to the page it came from."""
    check_form(user, csrf_token)
    await run_in_threadpool(service.act_on_work, workspace_of(request), kind, item_id, action,
                            cta_id=cta_id, scope=user.owner_scope, now=_now())  # fmt: skip
    return _back(back, "/my-work")


def _account(account_id: str) -> str:
    return f"/accounts/{account_id}"


@router.post("/accounts/{account_id}/owner")
async def account_owner(
    request: Request, user: User, account_id: str, csrf_token: Csrf, owner: Short
) -> Response:
    """Give the account to another owner (managers and admins)."""
    check_form(user, csrf_token)
    _manager(user)
    await run_in_threadpool(service.set_account_owner, workspace_of(request), account_id, owner,
                            scope=user.owner_scope)  # fmt: skip
    return _back(None, _account(account_id))


@router.post("/accounts/{account_id}/segment")
async def account_segment(
    request: Request, user: User, account_id: str, csrf_token: Csrf, segment: Short = ""
) -> Response:
    """Put the account in a segment by hand, or (empty) let the rules decide again
    (managers and admins); the next scoring uses it."""
    check_form(user, csrf_token)
    _manager(user)
    await run_in_threadpool(service.set_segment, workspace_of(request), account_id, segment,
                            scope=user.owner_scope)  # fmt: skip
    return _back(None, _account(account_id))


@router.post("/accounts/{account_id}/contacts/{contact_id}")
async def contact(
    request: Request,
    user: User,
    account_id: str,
    contact_id: str,
    csrf_token: Csrf,
    role: Short,
    left_on: Short = "",
) -> Response:
    """Set a contact's role, and the day they left the company (empty: still there)."""
    check_form(user, csrf_token)
    left = _day(left_on, "left_on") if left_on.strip() else None
    await run_in_threadpool(service.edit_contact, workspace_of(request), account_id, contact_id,
                            role=role, left_on=left, scope=user.owner_scope)  # fmt: skip
    return _back(None, _account(account_id) + "#contacts")


@router.post("/accounts/{account_id}/renewal-call")
async def renewal_call(
    request: Request,
    user: User,
    account_id: str,
    csrf_token: Csrf,
    call: Short,
    reason: LongText,
    renewal_on: Short = "",
    back: Back = "",
) -> Response:
    """Record the CSM's call on the account's next renewal (commit, likely, at risk)."""
    check_form(user, csrf_token)
    day = _day(renewal_on, "renewal_on") if renewal_on.strip() else None
    await run_in_threadpool(service.record_renewal_call, workspace_of(request), account_id,
                            call, reason, renewal_on=day, by=user.principal.email, now=_now(),
                            scope=user.owner_scope)  # fmt: skip
    return _back(back, _account(account_id))


@router.post("/milestones/{milestone_id}")
async def milestone(
    request: Request,
    user: User,
    milestone_id: PathId,
    csrf_token: Csrf,
    status: Short,
    due_on: Short,
    owner: Short = "",
    back: Back = "/my-work",
) -> Response:
    """Change a plan milestone's status, due day and owner."""
    check_form(user, csrf_token)
    await run_in_threadpool(lambda: service.update_milestone(
        workspace_of(request), milestone_id, status, today(), scope=user.owner_scope,
        due_on=_day(due_on, "due_on"), owner=owner))  # fmt: skip
    return _back(back, "/my-work")


@router.post("/objectives/{objective_id}")
async def objective(
    request: Request,
    user: User,
    objective_id: PathId,
    csrf_token: Csrf,
    current: Short,
    back: Back = "/my-work",
) -> Response:
    """Record where a plan objective's measure stands now."""
    check_form(user, csrf_token)
    value = _number(current, "current")
    await run_in_threadpool(lambda: service.update_objective(
        workspace_of(request), objective_id, current=value, scope=user.owner_scope))  # fmt: skip
    return _back(back, "/my-work")


@router.post("/accounts/{account_id}/checkins")
async def checkin(
    request: Request, user: User, account_id: str, csrf_token: Csrf, notes: LongText = ""
) -> Response:
    """Record today's check-in on the account's plan (its progress is measured now)."""
    check_form(user, csrf_token)
    ws = workspace_of(request)
    await run_in_threadpool(lambda: service.record_checkin(
        ws, account_id, today(), notes.strip() or None, scope=user.owner_scope))  # fmt: skip
    return _back(None, _account(account_id))


def _number(value: str, field: str) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        raise InputError(f"{field}: {value[:40]!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise InputError(f"{field}: {value[:40]!r} is not a number")
    return number


@router.get("/playbooks", response_class=HTMLResponse)
def playbooks(request: Request, user: User) -> HTMLResponse:
    """Which plays work: per playbook, CTAs by outcome and churn against comparables."""
    result = service.playbook_effectiveness(workspace_of(request), today())
    return render(request, user, "playbooks.html", title="Playbook effectiveness",
                  v={"result": result})  # fmt: skip


@router.get("/feedback", response_class=HTMLResponse)
def feedback(request: Request, user: User) -> HTMLResponse:
    """Product feedback: feature requests, most asked first, with the ARR asking for
    each and their status (a manager changes it here)."""
    board = service.feedback_board(workspace_of(request), today(), user.owner_scope)
    statuses = [s.value for s in service.RequestStatus]
    return render(request, user, "feedback.html", title="Product feedback", board=board,
                  statuses=statuses)  # fmt: skip


@router.get("/feedback/{request_id}", response_class=HTMLResponse)
def feature_request(request: Request, user: User, request_id: PathId) -> HTMLResponse:
    """One feature request: who asked, in their words, with the ARR behind it."""
    item = service.feature_request_view(workspace_of(request), request_id, user.owner_scope)
    statuses = [s.value for s in service.RequestStatus]
    return render(request, user, "feature_request.html", title=item["title"], item=item,
                  statuses=statuses)  # fmt: skip


@router.post("/feedback/{request_id}/status")
async def feature_status(
    request: Request,
    user: User,
    request_id: PathId,
    csrf_token: Annotated[str, Form(max_length=200)],
    status: Annotated[str, Form(max_length=16)],
) -> Response:
    """Set a request's status (managers and admins); shipped tells the customers once."""
    check_form(user, csrf_token)
    _manager(user)
    await run_in_threadpool(
        service.set_status, workspace_of(request), request_id, status, at=datetime.now(UTC)
    )
    return RedirectResponse(f"/feedback/{request_id}", status_code=303)


@router.post("/feedback/{request_id}/merge")
async def feature_merge(
    request: Request,
    user: User,
    request_id: PathId,
    csrf_token: Annotated[str, Form(max_length=200)],
    into: FormId,
) -> Response:
    """Merge a request into another (managers and admins)."""
    check_form(user, csrf_token)
    _manager(user)
    await run_in_threadpool(
        service.merge_requests, workspace_of(request), request_id, into, at=datetime.now(UTC)
    )
    return RedirectResponse(f"/feedback/{into}", status_code=303)


def _manager(user: PageUser) -> None:
    if not user.principal.can_manage:
        raise PermissionDeniedError(f"{user.principal.email} is not an admin or manager")
