"""Web pages of customer-success work: the signed-in CSM's CTAs and tasks by due date
(complete, snooze, close), and the product feedback board."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from keepwell.auth.errors import PermissionDeniedError
from keepwell.success import service
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


@router.get("/my-work", response_class=HTMLResponse)
def my_work(request: Request, user: User) -> HTMLResponse:
    """The user's open CTAs and tasks, soonest due first."""
    work = service.my_work(workspace_of(request), user.principal.email, today())
    return render(request, user, "my_work.html", title="My work", v={"work": work})


@router.post("/work/{kind}/{item_id}/{action}")
async def act(
    request: Request,
    user: User,
    kind: str,
    item_id: PathId,
    action: str,
    csrf_token: Annotated[str, Form(max_length=200)],
    cta_id: FormId,
    back: Annotated[str, Form(max_length=2000)] = "/my-work",
) -> Response:
    """Complete, snooze or close a CTA or task, then back to the page it came from."""
    check_form(user, csrf_token)
    await run_in_threadpool(
        service.act_on_work,
        workspace_of(request),
        kind,
        item_id,
        action,
        cta_id=cta_id,
        scope=user.owner_scope,
        now=datetime.now(UTC),
    )
    return RedirectResponse(safe_next(back), status_code=303)


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
