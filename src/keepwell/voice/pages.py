"""Pages of the customer's voice. Public (no sign-in; the signed link is the key): the
survey answer page and the shared success plan; plain HTML forms, no JavaScript, every
value escaped; each client address may make :data:`PUBLIC_LIMIT` requests a minute.
For the vendor (signed in): ``/accounts/{id}/voice`` (success measures and readings,
shared links, survey answers, the customer review's narrative) and the customer's
business review as a PDF.

A link we did not sign answers 403, an expired or revoked one 410, both showing only
the reason. Responses are never cached and send no referrer (the link is the key).
"""

from __future__ import annotations

import re
import threading
import time
import weakref
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from keepwell.contract.service import visible_account
from keepwell.core.errors import InputError, KeepwellError, NotFoundError
from keepwell.voice import service
from keepwell.voice.errors import LinkGoneError, LinkInvalidError
from keepwell.voice.ratelimit import SlidingWindow
from keepwell.web.deps import SettingsDep, StateDep, WorkspaceDep
from keepwell.web.ids import PathId
from keepwell.web.toolkit import (
    PageUser,
    check_form,
    page_user,
    render,
    render_html,
    today,
    workspace_of,
)

router = APIRouter(include_in_schema=False)
User = Annotated[PageUser, Depends(page_user)]
Csrf = Annotated[str | None, Form(max_length=200)]
#: Requests per minute one client address may make to the public pages.
PUBLIC_LIMIT = 30
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
            "X-Robots-Tag": "noindex", "X-Frame-Options": "DENY"}  # fmt: skip
_STATUS: list[tuple[type[KeepwellError], int, str]] = [
    (LinkInvalidError, 403, "This link is not valid"),
    (LinkGoneError, 410, "This link no longer works"),
    (NotFoundError, 404, "Not found"),
    (InputError, 400, "Please check your answer"),
]


def _page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(render_html(template, **context), status_code=status, headers=_HEADERS)


def _error(exc: KeepwellError) -> HTMLResponse:
    for kind, status, title in _STATUS:
        if isinstance(exc, kind):
            return _page("voice_message.html", status, title=title, text=exc.message, hint=exc.hint)
    raise exc


#: Each server's limiter, by the identity of its state (a weak reference checks that the
#: state is still that server's: an id may be reused once a state is gone).
_LIMITERS: dict[int, tuple[weakref.ref[Any], SlidingWindow]] = {}
_LIMITERS_LOCK = threading.Lock()


def _limiter(state: Any) -> SlidingWindow:
    with _LIMITERS_LOCK:
        found = _LIMITERS.get(id(state))
        if found is not None and found[0]() is state:
            return found[1]
        for key in [k for k, (ref, _) in _LIMITERS.items() if ref() is None]:
            del _LIMITERS[key]
        limiter = SlidingWindow(PUBLIC_LIMIT, 60.0)
        _LIMITERS[id(state)] = (weakref.ref(state), limiter)
        return limiter


def _limited(request: Request, state: StateDep) -> HTMLResponse | None:
    client = request.client.host if request.client else "unknown"
    wait = _limiter(state).hit(client, time.monotonic())
    if wait is None:
        return None
    page = _page("voice_message.html", 429, title="Too many requests",
                 text=f"Please wait {wait} seconds and try again.", hint=None)  # fmt: skip
    page.headers["Retry-After"] = str(wait)
    return page


#: The refusal page when the client is over the limit (the request is counted), else None.
Limit = Annotated[HTMLResponse | None, Depends(_limited)]


def _secret(settings: SettingsDep) -> str:
    return settings.secret_key.get_secret_value()


async def _survey(ws: WorkspaceDep, settings: SettingsDep, token: str, refused: HTMLResponse | None,
                  score: int | None, comment: str | None) -> Response:  # fmt: skip
    if refused is not None:
        return refused
    now, secret = datetime.now(UTC), _secret(settings)
    try:
        if score is not None:
            await run_in_threadpool(service.answer, ws, token, secret, now, score, comment)
        view = await run_in_threadpool(service.survey_view, ws, token, secret, now)
    except KeepwellError as exc:
        return _error(exc)
    return _page("voice_survey.html", title="Your answer", s=view, saved=score is not None,
                 action=f"/s/{token}")  # fmt: skip


@router.get("/s/{token}", response_class=HTMLResponse)
async def survey_page(
    ws: WorkspaceDep, settings: SettingsDep, token: str, refused: Limit
) -> Response:
    """The survey's answer page."""
    return await _survey(ws, settings, token, refused, None, None)


@router.get("/s/{token}/{score}", response_class=HTMLResponse)
async def survey_one_click(
    ws: WorkspaceDep, settings: SettingsDep, token: str, score: int, refused: Limit
) -> Response:
    """One click in the email: records ``score`` and offers to add a comment."""
    return await _survey(ws, settings, token, refused, score, None)


@router.post("/s/{token}", response_class=HTMLResponse)
async def survey_answer(
    ws: WorkspaceDep,
    settings: SettingsDep,
    token: str,
    refused: Limit,
    score: Annotated[int, Form()],
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The answer form: score and an optional comment (answering again updates)."""
    return await _survey(ws, settings, token, refused, score, comment)


@router.get("/p/{token}", response_class=HTMLResponse)
async def shared_plan(
    ws: WorkspaceDep, settings: SettingsDep, token: str, refused: Limit, done: str = ""
) -> Response:
    """The shared success plan."""
    if refused is not None:
        return refused
    try:
        view = await run_in_threadpool(
            service.shared_plan, ws, token, _secret(settings), datetime.now(UTC)
        )
    except KeepwellError as exc:
        return _error(exc)
    notice = {"milestone": "The milestone is marked done.", "comment": "Your comment is added."}
    return _page("voice_plan.html", title=view["title"], p=view, base=f"/p/{token}",
                 done=notice.get(done))  # fmt: skip


@router.post("/p/{token}/milestones/{milestone_id}/done")
async def milestone_done(
    ws: WorkspaceDep, settings: SettingsDep, token: str, milestone_id: PathId, refused: Limit
) -> Response:
    """The customer marks their milestone done."""
    if refused is not None:
        return refused
    try:
        await run_in_threadpool(service.mark_milestone_done, ws, token, _secret(settings),
                                datetime.now(UTC), milestone_id)  # fmt: skip
    except KeepwellError as exc:
        return _error(exc)
    return RedirectResponse(f"/p/{token}?done=milestone", status_code=303, headers=_HEADERS)


@router.post("/p/{token}/comments")
async def plan_comment(
    ws: WorkspaceDep,
    settings: SettingsDep,
    token: str,
    refused: Limit,
    comment: Annotated[str, Form(max_length=4000)],
) -> Response:
    """The customer's comment on the plan."""
    if refused is not None:
        return refused
    try:
        await run_in_threadpool(service.comment_on_plan, ws, token, _secret(settings),
                                datetime.now(UTC), comment)  # fmt: skip
    except KeepwellError as exc:
        return _error(exc)
    return RedirectResponse(f"/p/{token}?done=comment", status_code=303, headers=_HEADERS)


def _account_view(request: Request, user: PageUser, account_id: str,
                  new_link: dict[str, Any] | None = None) -> HTMLResponse:  # fmt: skip
    ws, day = workspace_of(request), today()
    account = visible_account(ws, account_id, scope=user.owner_scope)
    try:
        agenda = service.meeting_agenda(ws, account_id, day)
    except NotFoundError:
        agenda = None
    view = {
        "account": {"account_id": account.account_id, "name": account.name},
        "measures": service.account_measures(ws, account_id, day),
        "shares": service.list_shares(ws, account_id, datetime.now(UTC)),
        "agenda": agenda, "sends": service.list_sends(ws, account_id=account_id),
        "narrative": service.narratives(ws, account_id),
        "sections": service.NARRATIVE_SECTIONS, "new_link": new_link,
    }  # fmt: skip
    return render(request, user, "voice_account.html", title=f"Voice · {account.name}", v=view)


@router.get("/accounts/{account_id}/voice", response_class=HTMLResponse)
def account_voice(request: Request, user: User, account_id: str) -> HTMLResponse:
    """The account's success measures, shared links, survey answers and review narrative."""
    return _account_view(request, user, account_id)


def _back(account_id: str, anchor: str) -> RedirectResponse:
    return RedirectResponse(f"/accounts/{account_id}/voice#{anchor}", status_code=303)


def _writable(request: Request, user: PageUser, account_id: str, csrf: str | None) -> None:
    check_form(user, csrf)
    visible_account(workspace_of(request), account_id, scope=user.owner_scope)


@router.post("/accounts/{account_id}/voice/measures")
def add_measure(
    request: Request,
    user: User,
    account_id: str,
    name: Annotated[str, Form(max_length=250)],
    unit: Annotated[str, Form(max_length=60)],
    baseline: Annotated[float, Form()],
    target: Annotated[float, Form()],
    target_on: Annotated[date, Form()],
    csrf_token: Csrf = None,
) -> Response:
    _writable(request, user, account_id, csrf_token)
    service.add_measure(workspace_of(request), account_id, name=name, unit=unit,
                        baseline=baseline, target=target, started_on=today(),
                        target_on=target_on)  # fmt: skip
    return _back(account_id, "measures")


@router.post("/accounts/{account_id}/voice/measures/{measure_id}/readings")
def add_reading(
    request: Request,
    user: User,
    account_id: str,
    measure_id: PathId,
    value: Annotated[float, Form()],
    csrf_token: Csrf = None,
) -> Response:
    _writable(request, user, account_id, csrf_token)
    service.record_reading(workspace_of(request), measure_id, today(), value,
                           user.principal.email, account_id=account_id)  # fmt: skip
    return _back(account_id, "measures")


@router.post("/accounts/{account_id}/voice/shares", response_class=HTMLResponse)
def share(
    request: Request,
    user: User,
    settings: SettingsDep,
    account_id: str,
    shared_with: Annotated[str, Form(max_length=200)],
    days: Annotated[int, Form(ge=1, le=366)] = 90,
    csrf_token: Csrf = None,
) -> HTMLResponse:
    """A new link, shown once on the page that answers."""
    _writable(request, user, account_id, csrf_token)
    link = service.share_plan(workspace_of(request), account_id, shared_with=shared_with,
                              email=None, days=days, now=datetime.now(UTC), settings=settings,
                              actor=user.principal.email)  # fmt: skip
    return _account_view(request, user, account_id, new_link=link)


@router.post("/accounts/{account_id}/voice/shares/{share_id}/revoke")
def revoke(
    request: Request, user: User, account_id: str, share_id: PathId, csrf_token: Csrf = None
) -> Response:
    _writable(request, user, account_id, csrf_token)
    service.revoke_share(workspace_of(request), share_id, datetime.now(UTC),
                         scope_accounts={account_id})  # fmt: skip
    return _back(account_id, "plan")


@router.post("/accounts/{account_id}/voice/narrative/{section}")
def save_narrative(
    request: Request,
    user: User,
    account_id: str,
    section: str,
    text: Annotated[str, Form(max_length=8000)] = "",
    csrf_token: Csrf = None,
) -> Response:
    _writable(request, user, account_id, csrf_token)
    service.save_narrative(workspace_of(request), account_id, section, text,
                           datetime.now(UTC), user.principal.email)  # fmt: skip
    return _back(account_id, "narrative")


@router.get("/accounts/{account_id}/qbr-customer.pdf")
async def customer_pdf(request: Request, user: User, account_id: str) -> Response:
    """The business review the customer can be given, as a PDF download."""
    ws = workspace_of(request)
    review = await run_in_threadpool(
        service.customer_review, ws, account_id, today(), scope=user.owner_scope
    )
    pdf = await run_in_threadpool(
        service.customer_review_pdf, review, generated_at=datetime.now(UTC)
    )
    name = re.sub(r"[^A-Za-z0-9._-]", "_", f"review-{account_id}-{review['as_of']}")[:120]
    headers = {"Content-Disposition": f'attachment; filename="{name}.pdf"',
               "Cache-Control": "no-store"}  # fmt: skip
    return Response(pdf, media_type="application/pdf", headers=headers)
