"""Sign-out for the web pages and ``/api/v1/me`` (the sign-in page is the web app's:
:mod:`keepwell.web.login`).

The server's state (workspace, session signer, cookie settings) is reached through
``request.app.state.keepwell`` as set by :func:`keepwell.web.app.create_app`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from keepwell.auth import service
from keepwell.auth.errors import AuthenticationError, PermissionDeniedError
from keepwell.auth.principal import Principal, Role
from keepwell.auth.sessions import SESSION_COOKIE, same_token
from keepwell.core.errors import InputError
from keepwell.core.ids import PathId

EmailPath = Annotated[str, Path(max_length=320, description="The user's email.")]

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


class UserRead(BaseModel):
    """A user: their role, whether they may sign in, whether a password is set."""

    email: str
    role: Role
    active: bool
    password: bool


class UserUpdate(BaseModel):
    """A change to a user (admins only): a new ``role``, or ``active`` false to stop
    their sign-in, sessions and tokens at once (true: let them sign in again)."""

    role: Role | None = None
    active: bool | None = None


class PasswordReset(BaseModel):
    """A new password (at least 12 characters; null removes it: API tokens only). Every
    session of the user ends."""

    password: str | None = Field(min_length=12, max_length=1024)


class AuditRead(BaseModel):
    """One audit row: who did what, when, on which account; ``details`` holds
    ``before`` and ``after`` for a change."""

    at: datetime
    actor: str
    kind: str
    action: str
    account_id: str | None
    target: str | None
    details: dict[str, Any]


def _admin(request: Request) -> Principal:
    principal = _principal(request)
    if principal.role is not Role.ADMIN:
        raise PermissionDeniedError(f"{principal.email} is not an admin")
    return principal


@router.get("/users", response_model=list[UserRead])
def list_users(request: Request) -> list[dict[str, Any]]:
    """Every user with role and status (admins only)."""
    _admin(request)
    return service.list_users(_state(request).workspace)


@router.patch("/users/{email}", response_model=UserRead)
def update_user(request: Request, email: EmailPath, change: UserUpdate) -> dict[str, Any]:
    """Change a user's role and/or deactivate or reactivate them (admins only); it
    applies to their next request. The last active admin cannot be removed."""
    by, ws, now = _admin(request), _state(request).workspace, datetime.now(UTC)
    if change.role is None and change.active is None:
        raise InputError("nothing to change", hint="give 'role' and/or 'active'")
    user = service.find_user(ws, email)
    if change.role is not None:
        user = service.set_role(ws, email, change.role.value, now=now, by=by)
    if change.active is False:
        user = service.deactivate_user(ws, email, now=now, by=by)
    elif change.active is True:
        user = service.activate_user(ws, email, now=now, by=by)
    return user


@router.post("/users/{email}/password", response_model=UserRead)
def reset_password(request: Request, email: EmailPath, body: PasswordReset) -> dict[str, Any]:
    """Set a user's password (admins only) and end their sessions."""
    by = _admin(request)
    return service.reset_password(
        _state(request).workspace, email, body.password, now=datetime.now(UTC), by=by
    )


@router.get("/audit", response_model=list[AuditRead])
def list_audit(
    request: Request,
    user: Annotated[str | None, Query(max_length=320, description="Who acted.")] = None,
    account_id: Annotated[str | None, Query(max_length=255)] = None,
    kind: Annotated[str | None, Query(max_length=32, description="cta, user, import...")] = None,
    since: date | None = None,
    until: date | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """The audit trail, newest first, filtered (admins and managers)."""
    principal = _principal(request)
    if not principal.can_manage and principal.role is not Role.ADMIN:
        raise PermissionDeniedError(f"{principal.email} is not an admin or manager")
    return service.list_audit(
        _state(request).workspace, limit, actor=user, account_id=account_id, kind=kind,
        since=since, until=until,
    )  # fmt: skip
