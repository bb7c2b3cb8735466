"""Sign-out for the web pages and ``/api/v1/me`` (the sign-in page is the web app's:
:mod:`keepwell.server.login`).

The server's state (workspace, session signer, cookie settings) and the signed-in
user come as typed dependencies (:mod:`keepwell.web.deps`).
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
from keepwell.web.deps import CurrentUser, StateDep, WorkspaceDep
from keepwell.web.errors import error_responses
from keepwell.web.ids import PathId

EmailPath = Annotated[str, Path(max_length=320, description="The user's email.")]

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
    service.close_session(state.workspace, session.sid, now=datetime.now(UTC))
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


def _admin(principal: Principal) -> Principal:
    if principal.role is not Role.ADMIN:
        raise PermissionDeniedError(f"{principal.email} is not an admin")
    return principal


@router.get("/users", response_model=list[UserRead], responses=error_responses())
def list_users(workspace: WorkspaceDep, principal: CurrentUser) -> list[dict[str, Any]]:
    """Every user with role and status (admins only)."""
    _admin(principal)
    return service.list_users(workspace)


@router.patch("/users/{email}", response_model=UserRead, responses=error_responses(400, 404))
def update_user(
    workspace: WorkspaceDep, principal: CurrentUser, email: EmailPath, change: UserUpdate
) -> dict[str, Any]:
    """Change a user's role and/or deactivate or reactivate them (admins only); it
    applies to their next request. The last active admin cannot be removed."""
    by, now = _admin(principal), datetime.now(UTC)
    if change.role is None and change.active is None:
        raise InputError("nothing to change", hint="give 'role' and/or 'active'")
    user = service.find_user(workspace, email)
    if change.role is not None:
        user = service.set_role(workspace, email, change.role.value, now=now, by=by)
    if change.active is False:
        user = service.deactivate_user(workspace, email, now=now, by=by)
    elif change.active is True:
        user = service.activate_user(workspace, email, now=now, by=by)
    return user


@router.post(
    "/users/{email}/password", response_model=UserRead, responses=error_responses(400, 404)
)
def reset_password(
    workspace: WorkspaceDep, principal: CurrentUser, email: EmailPath, body: PasswordReset
) -> dict[str, Any]:
    """Set a user's password (admins only) and end their sessions."""
    by = _admin(principal)
    return service.reset_password(workspace, email, body.password, now=datetime.now(UTC), by=by)


@router.get("/audit", response_model=list[AuditRead], responses=error_responses(400))
def list_audit(
    workspace: WorkspaceDep,
    principal: CurrentUser,
    user: Annotated[str | None, Query(max_length=320, description="Who acted.")] = None,
    account_id: Annotated[str | None, Query(max_length=255)] = None,
    kind: Annotated[str | None, Query(max_length=32, description="cta, user, import...")] = None,
    since: date | None = None,
    until: date | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """The audit trail, newest first, filtered (admins and managers)."""
    if principal.role not in (Role.ADMIN, Role.MANAGER):
        raise PermissionDeniedError(f"{principal.email} is not an admin or manager")
    return service.list_audit(
        workspace, limit, actor=user, account_id=account_id, kind=kind, since=since,
        until=until,
    )  # fmt: skip
