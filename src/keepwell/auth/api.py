"""Sign-in for the web pages (form with CSRF token, session cookie) and ``/api/v1/me``.

The server's state (workspace, session signer, cookie settings) is reached through
``request.app.state.keepwell`` as set by :func:`keepwell.web.app.create_app`.
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from keepwell.auth import service
from keepwell.auth.errors import AuthenticationError, PermissionDeniedError
from keepwell.auth.sessions import CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE, same_token

#: Public: the sign-in form and sign-out.
pages = APIRouter(tags=["auth"])
#: Authenticated: who am I.
router = APIRouter(prefix="/api/v1", tags=["auth"])

_LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · Keepwell</title></head>
<body><main><h1>Sign in to Keepwell</h1>{error}
<form method="post" action="/login">
<input type="hidden" name="{field}" value="{token}">
<label>Email <input type="email" name="email" required autocomplete="username"></label>
<label>Password <input type="password" name="password" required
 autocomplete="current-password"></label>
<button type="submit">Sign in</button>
</form></main></body></html>
"""


def _state(request: Request) -> Any:
    return request.app.state.keepwell


@pages.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, error: str | None = None) -> HTMLResponse:
    state = _state(request)
    cookie, token = state.sessions.login_csrf()
    message = f"<p role='alert'>{html.escape(error)}</p>" if error else ""
    page = _LOGIN_PAGE.format(error=message, field=CSRF_FIELD, token=html.escape(token))
    response = HTMLResponse(page)
    response.set_cookie(
        CSRF_COOKIE, cookie, max_age=3600, httponly=True, samesite="strict",
        secure=state.settings.cookie_secure,
    )  # fmt: skip
    return response


@pages.post("/login", include_in_schema=False)
def login(
    request: Request,
    email: str = Form(max_length=320),
    password: str = Form(max_length=1024),
    csrf_token: str = Form(max_length=200),
) -> Response:
    """Check the password and set the session cookie (HTTP-only, SameSite=Lax)."""
    state = _state(request)
    if not state.sessions.check_login_csrf(request.cookies.get(CSRF_COOKIE), csrf_token):
        raise PermissionDeniedError("the sign-in form expired or was not sent by this site")
    principal = service.verify_password(state.workspace, email, password)
    cookie, _ = state.sessions.issue(principal.user_id)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE, cookie, max_age=state.sessions.max_age, httponly=True,
        samesite="lax", secure=state.settings.cookie_secure,
    )  # fmt: skip
    response.delete_cookie(CSRF_COOKIE)
    return response


@pages.post("/logout", include_in_schema=False)
def logout(request: Request, csrf_token: str = Form(max_length=200)) -> Response:
    state = _state(request)
    session = state.sessions.read(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise AuthenticationError("not signed in")
    if not same_token(session.csrf, csrf_token):
        raise PermissionDeniedError("missing or wrong CSRF token")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/me")
def me(request: Request) -> dict[str, Any]:
    """The signed-in user, their role and scope, and their session's CSRF token (send it
    as ``X-CSRF-Token`` on writes made with the session cookie)."""
    principal = request.state.principal
    session = _state(request).sessions.read(request.cookies.get(SESSION_COOKIE))
    return {
        "email": principal.email,
        "role": principal.role.value,
        "scope": principal.scope.value,
        "csrf_token": session.csrf if session else None,
    }
