"""Sign-out for the web pages and ``/api/v1/me`` (the sign-in page is the web app's:
:mod:`keepwell.web.login`).

The server's state (workspace, session signer, cookie settings) and the signed-in
user come as typed dependencies (:mod:`keepwell.web.deps`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from keepwell.auth import service
from keepwell.auth.errors import AuthenticationError, PermissionDeniedError
from keepwell.auth.sessions import SESSION_COOKIE, same_token
from keepwell.web.deps import CurrentUser, StateDep, WorkspaceDep
from keepwell.web.errors import error_responses
from keepwell.web.ids import PathId

#: Public: sign-out.
pages = APIRouter(tags=["auth"])
#: Authenticated: who am I.
router = APIRouter(prefix="/api/v1", tags=["auth"])


def client_address(request: Request) -> str:
    """The peer address of the request (the proxy's, behind a reverse proxy)."""
    return request.client.host if request.client else "unknown"


@pages.post("/logout", include_in_schema=False)
def logout(request: Request, state: StateDep, csrf_token: str = Form(max_length=200)) -> Response:
    session = state.sessions.read(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise AuthenticationError("not signed in")
    if not same_token(session.csrf, csrf_token):
        raise PermissionDeniedError("missing or wrong CSRF token")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


class MeRead(BaseModel):
    """The signed-in user: ``role`` (admin, manager, csm, viewer), the ``scope`` of the
    credentials (read, write) and, for a session, its CSRF token."""

    email: str
    role: str
    scope: str
    csrf_token: str | None


@router.get("/me", response_model=MeRead)
def me(request: Request, principal: CurrentUser, state: StateDep) -> dict[str, Any]:
    """The signed-in user, their role and scope, and their session's CSRF token (send it
    as ``X-CSRF-Token`` on writes made with the session cookie)."""
    session = state.sessions.read(request.cookies.get(SESSION_COOKIE))
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


@router.get("/tokens", response_model=list[TokenRead], responses=error_responses(404))
def list_tokens(
    workspace: WorkspaceDep, principal: CurrentUser, email: str | None = None
) -> list[dict[str, Any]]:
    """The API tokens of ``email`` (default: yours; others' for admins), never secrets."""
    return service.list_tokens(workspace, email or principal.email, by=principal)


@router.post(
    "/tokens",
    status_code=201,
    response_model=TokenCreated,
    responses=error_responses(400, 404),
)
def create_token(
    workspace: WorkspaceDep, principal: CurrentUser, body: TokenCreate
) -> dict[str, Any]:
    """Create a personal API token for yourself (admins: for anyone). A read-scope token
    cannot create a write-scope one."""
    return service.issue_token(
        workspace, body.email or principal.email, body.scope,
        now=datetime.now(UTC), actor=principal.email, by=principal,
    )  # fmt: skip


@router.delete(
    "/tokens/{token_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(404),
)
def revoke_token(workspace: WorkspaceDep, principal: CurrentUser, token_id: PathId) -> Response:
    """Revoke a token (yours; admins: anyone's); it stops working with the next request."""
    service.revoke_token(
        workspace, token_id, now=datetime.now(UTC), actor=principal.email, by=principal
    )
    return Response(status_code=204)
