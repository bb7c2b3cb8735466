"""The sign-in page, on the auth slice's sessions: a pre-login CSRF cookie bound to the
form (double submit), argon2 password check, then the HTTP-only session cookie."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from keepwell.auth import service as auth_service
from keepwell.auth.api import client_address
from keepwell.auth.errors import AuthenticationError, PermissionDeniedError, RateLimitedError
from keepwell.auth.sessions import CSRF_COOKIE, SESSION_COOKIE
from keepwell.web.state import server_state
from keepwell.web.toolkit import render, safe_next

router = APIRouter(include_in_schema=False)


def _form(request: Request, next_path: str, error: str | None, status: int) -> HTMLResponse:
    state = server_state(request)
    cookie, token = state.sessions.login_csrf()
    response = render(
        request, None, "login.html", status, token=token, next_path=next_path, error=error
    )
    response.set_cookie(
        CSRF_COOKIE,
        cookie,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=state.settings.cookie_secure,
    )
    return response


def _holds(request: Request, user_id: int, sid: str) -> bool:
    """Whether a session cookie still stands for a signed-in user (not signed out)."""
    try:
        auth_service.principal_for(server_state(request).workspace, user_id, sid)
    except AuthenticationError:
        return False
    return True


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None, error: str | None = None) -> Response:
    """The sign-in form (already signed in: straight to the page asked for)."""
    request.state.page = True
    state = server_state(request)
    session = state.sessions.read(request.cookies.get(SESSION_COOKIE))
    if session is not None and not error and _holds(request, session.user_id, session.sid):
        return RedirectResponse(safe_next(next), status_code=303)
    return _form(request, safe_next(next), error, 200)


@router.post("/login")
def login(
    request: Request,
    email: str = Form(max_length=320),
    password: str = Form(max_length=1024),
    csrf_token: str = Form(max_length=200),
    next: str = Form("/", max_length=2000),
) -> Response:
    """Check the form's CSRF token and the password; set the session cookie."""
    request.state.page = True
    state = server_state(request)
    if not state.sessions.check_login_csrf(request.cookies.get(CSRF_COOKIE), csrf_token):
        raise PermissionDeniedError("the sign-in form expired or was not sent by this site")
    try:
        principal = auth_service.sign_in(
            state.workspace, email, password, client=client_address(request), now=datetime.now(UTC)
        )
    except RateLimitedError as exc:
        limited = _form(request, safe_next(next), exc.message, 429)
        limited.headers["Retry-After"] = str(exc.retry_after)
        return limited
    except AuthenticationError as exc:
        return _form(request, safe_next(next), exc.message, 401)
    sid = auth_service.open_session(
        state.workspace, principal.user_id, now=datetime.now(UTC),
        max_age=timedelta(seconds=state.sessions.max_age),
    )  # fmt: skip
    cookie, _ = state.sessions.issue(principal.user_id, sid)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=state.sessions.max_age,
        httponly=True,
        samesite="lax",
        secure=state.settings.cookie_secure,
    )
    response.delete_cookie(CSRF_COOKIE)
    return response
