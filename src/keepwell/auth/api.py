"""Sign-out for the web pages and ``/api/v1/me`` (the sign-in page is the web app's:
:mod:`keepwell.web.login`).

The server's state (workspace, session signer, cookie settings) is reached through
``request.app.state.keepwell`` as set by :func:`keepwell.web.app.create_app`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from keepwell.auth import service
from keepwell.auth.errors import AuthenticationError, PermissionDeniedError
from keepwell.auth.principal import Principal
from keepwell.auth.sessions import SESSION_COOKIE, same_token
from keepwell.core.ids import PathId

#: Public: sign-out.
pages = APIRouter(tags=["auth"])
#: Authenticated: who am I.
router = APIRouter(prefix="/api/v1", tags=["auth"])


def _state(request: Request) -> Any:
    return request.app.state.keepwell


def client_address(request: Request) -> str:
    """The peer address of the request (the proxy's, behind a reverse proxy)."""
    return request.client.host if request.client else "unknown"


@pages.post("/logout", include_in_schema=False)
def logout(request: Request, csrf_token: str = Form(max_length=200)) -> Response:
    state = _state(request)
    session = state.sessions.read(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise AuthenticationError("not signed in")
    if not same_token(session.csrf, csrf_token):
        raise PermissionDeniedError("missing or wrong CSRF token")
    service.close_session(state.workspace, session.sid, now=datetime.now(UTC))
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


class TokenCreate(BaseModel):
    """A new personal API token: for ``email`` (admins only; default: yourself)."""

    email: str | None = Field(default=None, max_length=320)
    scope: Literal["read", "write"] = "read"


class TokenCreated(BaseModel):
    """The new token: ``token`` is shown this once (only its hash is stored)."""

    token: str
    token_id: int
    prefix: str
    scope: str
    email: str


class TokenRead(BaseModel):
    """A token without its secret."""

    token_id: int
    prefix: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _principal(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


@router.get("/tokens", response_model=list[TokenRead])
def list_tokens(request: Request, email: str | None = None) -> list[dict[str, Any]]:
    """The API tokens of ``email`` (default: yours; others' for admins), never secrets."""
    principal = _principal(request)
    return service.list_tokens(_state(request).workspace, email or principal.email, by=principal)


@router.post("/tokens", status_code=201, response_model=TokenCreated)
def create_token(request: Request, body: TokenCreate) -> dict[str, Any]:
    """Create a personal API token for yourself (admins: for anyone). A read-scope token
    cannot create a write-scope one."""
    principal = _principal(request)
    return service.issue_token(
        _state(request).workspace, body.email or principal.email, body.scope,
        now=datetime.now(UTC), actor=principal.email, by=principal,
    )  # fmt: skip


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(request: Request, token_id: PathId) -> Response:
    """Revoke a token (yours; admins: anyone's); it stops working with the next request."""
    principal = _principal(request)
    service.revoke_token(
        _state(request).workspace, token_id, now=datetime.now(UTC), actor=principal.email,
        by=principal,
    )  # fmt: skip
    return Response(status_code=204)
