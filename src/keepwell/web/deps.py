"""Request dependencies: who is asking (bearer token or session cookie) and may they,
and what the app holds for its requests, as typed ``Annotated`` dependencies.

:func:`authenticate` runs before every non-public route. It stores the principal in
``request.state.principal`` and the account owner the principal is limited to in
``request.state.owner_scope`` (None: every account). Routes and pages declare what they
need with the aliases below instead of reading ``request.app.state``:

- :data:`WorkspaceDep`: the workspace the server serves;
- :data:`SettingsDep`: the process settings (:class:`keepwell.core.settings.Settings`);
- :data:`CurrentUser`: the authenticated principal (the same call as the router's
  :func:`authenticate`, which FastAPI runs once per request);
- :data:`OwnerScope`: the account owner the caller is limited to, None for every account;
- :data:`AnalyticsLock`: the lock that serialises use of the analytics connection;
- :data:`StateDep`: everything at once (:class:`keepwell.web.state.ServerState`).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from keepwell.auth import service as auth_service
from keepwell.auth.errors import AuthenticationError, PermissionDeniedError
from keepwell.auth.principal import Principal
from keepwell.auth.sessions import CSRF_HEADER, SESSION_COOKIE, same_token
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace
from keepwell.web.state import ServerState, server_state

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Declared for the OpenAPI schema (the "Authorize" button of /docs); checked below.
_bearer_scheme = HTTPBearer(auto_error=False, description="A personal API token.")
_cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="The session cookie of a sign-in."
)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    kind, _, value = header.partition(" ")
    if kind.lower() != "bearer" or not value.strip():
        raise AuthenticationError("the Authorization header must be 'Bearer TOKEN'")
    return value.strip()


def authenticate(
    request: Request,
    _token: HTTPAuthorizationCredentials | None = Depends(_bearer_scheme),
    _cookie: str | None = Depends(_cookie_scheme),
) -> Principal:
    """The principal of this request; 401 without valid credentials, 403 when a read-only
    principal tries to write or a cookie-authenticated write lacks its CSRF token."""
    state = server_state(request)
    token = _bearer(request)
    if token is not None:
        principal = auth_service.authenticate_token(state.workspace, token, now=datetime.now(UTC))
    else:
        session = state.sessions.read(request.cookies.get(SESSION_COOKIE))
        if session is None:
            raise AuthenticationError(
                "sign in or send an API token", hint="Authorization: Bearer TOKEN"
            )
        principal = auth_service.principal_for(state.workspace, session.user_id, session.sid)
        if request.method not in SAFE_METHODS and not same_token(
            session.csrf, request.headers.get(CSRF_HEADER)
        ):
            raise PermissionDeniedError(f"missing or wrong {CSRF_HEADER} header")
    if request.method not in SAFE_METHODS and not principal.can_write:
        raise PermissionDeniedError(
            f"{principal.email} may not write ({principal.role} with a {principal.scope} scope)"
        )
    request.state.principal = principal
    auth_service.set_actor(principal.email)
    request.state.owner_scope = principal.owner_scope(state.settings.restrict_csm)
    return principal


def require_manager(principal: Principal = Depends(authenticate)) -> Principal:
    """Only admins and managers with a write scope (imports, user management)."""
    if not principal.can_manage:
        raise PermissionDeniedError(f"{principal.email} is not an admin or manager")
    return principal


#: The server's state (workspace, settings, session signer, analytics lock, parts).
StateDep = Annotated[ServerState, Depends(server_state)]


def _workspace(state: StateDep) -> Workspace:
    return state.workspace


def _settings(state: StateDep) -> Settings:
    return state.settings


def _analytics_lock(state: StateDep) -> threading.RLock:
    return state.analytics_lock


#: The workspace the server serves.
WorkspaceDep = Annotated[Workspace, Depends(_workspace)]
#: The settings the server was started with.
SettingsDep = Annotated[Settings, Depends(_settings)]
#: The signed-in principal (401/403 as :func:`authenticate`).
CurrentUser = Annotated[Principal, Depends(authenticate)]
#: Managers and admins only (403 for others).
CurrentManager = Annotated[Principal, Depends(require_manager)]
#: Guards the analytics connection shared with the event writer.
AnalyticsLock = Annotated[threading.RLock, Depends(_analytics_lock)]


def _owner_scope(principal: CurrentUser, settings: SettingsDep) -> str | None:
    return principal.owner_scope(settings.restrict_csm)


#: The account owner the caller is limited to (None: every account).
OwnerScope = Annotated[str | None, Depends(_owner_scope)]
