"""Public pages of the customer's voice (no sign-in; the signed link is the key): the
survey answer page and the shared success plan. Plain HTML forms, no JavaScript, every
value escaped; each client address may make :data:`PUBLIC_LIMIT` requests a minute.

A link we did not sign answers 403, an expired or revoked one 410, both showing only
the reason. Responses are never cached and send no referrer (the link is the key).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from keepwell.core.errors import InputError, KeepwellError, NotFoundError
from keepwell.voice import service
from keepwell.voice.errors import LinkGoneError, LinkInvalidError
from keepwell.voice.ratelimit import SlidingWindow
from keepwell.web.deps import SettingsDep, WorkspaceDep
from keepwell.web.ids import PathId
from keepwell.web.toolkit import render_html

router = APIRouter(include_in_schema=False)
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


def _limited(request: Request) -> HTMLResponse | None:
    limiter = getattr(request.app.state, "voice_limiter", None)
    if limiter is None:
        limiter = request.app.state.voice_limiter = SlidingWindow(PUBLIC_LIMIT, 60.0)
    client = request.client.host if request.client else "unknown"
    wait = limiter.hit(client, time.monotonic())
    if wait is None:
        return None
    page = _page("voice_message.html", 429, title="Too many requests",
                 text=f"Please wait {wait} seconds and try again.", hint=None)  # fmt: skip
    page.headers["Retry-After"] = str(wait)
    return page


def _secret(settings: SettingsDep) -> str:
    return settings.secret_key.get_secret_value()


async def _survey(ws: WorkspaceDep, settings: SettingsDep, token: str, request: Request,
                  score: int | None, comment: str | None) -> Response:  # fmt: skip
    if (refused := _limited(request)) is not None:
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
    ws: WorkspaceDep, settings: SettingsDep, token: str, request: Request
) -> Response:
    """The survey's answer page."""
    return await _survey(ws, settings, token, request, None, None)


@router.get("/s/{token}/{score}", response_class=HTMLResponse)
async def survey_one_click(
    ws: WorkspaceDep, settings: SettingsDep, token: str, score: int, request: Request
) -> Response:
    """One click in the email: records ``score`` and offers to add a comment."""
    return await _survey(ws, settings, token, request, score, None)


@router.post("/s/{token}", response_class=HTMLResponse)
async def survey_answer(
    ws: WorkspaceDep,
    settings: SettingsDep,
    token: str,
    request: Request,
    score: Annotated[int, Form()],
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The answer form: score and an optional comment (answering again updates)."""
    return await _survey(ws, settings, token, request, score, comment)


@router.get("/p/{token}", response_class=HTMLResponse)
async def shared_plan(
    ws: WorkspaceDep, settings: SettingsDep, token: str, request: Request, done: str = ""
) -> Response:
    """The shared success plan."""
    if (refused := _limited(request)) is not None:
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
    ws: WorkspaceDep, settings: SettingsDep, token: str, milestone_id: PathId, request: Request
) -> Response:
    """The customer marks their milestone done."""
    if (refused := _limited(request)) is not None:
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
    request: Request,
    comment: Annotated[str, Form(max_length=4000)],
) -> Response:
    """The customer's comment on the plan."""
    if (refused := _limited(request)) is not None:
        return refused
    try:
        await run_in_threadpool(service.comment_on_plan, ws, token, _secret(settings),
                                datetime.now(UTC), comment)  # fmt: skip
    except KeepwellError as exc:
        return _error(exc)
    return RedirectResponse(f"/p/{token}?done=comment", status_code=303, headers=_HEADERS)
