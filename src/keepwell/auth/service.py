"""Use cases of auth: users, passwords, API tokens and the audit log.

The public surface of the auth slice. Nothing here reads the clock: every ``now`` is
passed in by a face (timezone-aware UTC).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from keepwell.auth import throttle
from keepwell.auth.errors import AuthenticationError, PermissionDeniedError, RateLimitedError
from keepwell.auth.models import ApiToken, AuditEntry, User, UserSession
from keepwell.auth.principal import Principal, Role, Scope
from keepwell.auth.views import delete_view, save_view, saved_views
from keepwell.core.audit import (
    AUDIT_FIELDS,
    audit_csv,
    audit_query,
    audit_row,
    begin_acting,
    change_text,
    changed,
    cli_actor,
    current_actor,
    details_text,
    record_audit,
    set_actor,
)
from keepwell.core.database import transaction
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.workspace import Workspace

__all__ = [
    "AUDIT_FIELDS",
    "audit_csv",
    "begin_acting",
    "change_text",
    "changed",
    "cli_actor",
    "current_actor",
    "delete_view",
    "details_text",
    "record_audit",
    "save_view",
    "saved_views",
    "set_actor",
]

TOKEN_PREFIX = "kw_"
#: ``last_used_at`` is rewritten at most this often per token (one write per minute).
LAST_USED_RESOLUTION = timedelta(seconds=60)
MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()
#: A hash to verify against when the user is unknown, so timing does not reveal emails.
_DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")


def hash_secret(secret: str) -> str:
    """SHA-256 hex digest of a high-entropy secret (tokens, write keys)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def audit(
    workspace: Workspace,
    *,
    action: str,
    target: str | None,
    now: datetime,
    actor: str | None = None,
    account_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Record one audit row in a transaction of its own (see :func:`record_audit`)."""
    with transaction(workspace.engine) as session:
        record_audit(
            session, actor=actor, action=action, target=target, now=now,
            account_id=account_id, details=details,
        )  # fmt: skip


def list_audit(
    workspace: Workspace,
    limit: int | None = 100,
    *,
    actor: str | None = None,
    account_id: str | None = None,
    kind: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> list[dict[str, Any]]:
    """Audit rows, newest first: by who (``actor``), account, kind (``cta``, ``user``,
    ``import``...) and days (``since``/``until`` included, UTC); the newest ``limit``
    (None: all of them, for an export)."""
    query = audit_query(
        actor=actor, account_id=account_id, kind=kind, since=since, until=until, limit=limit
    )
    with Session(workspace.engine) as session:
        return [audit_row(r) for r in session.execute(query).scalars()]


def audit_kinds(workspace: Workspace) -> list[str]:
    """The kinds present in the audit log (for the filter of the admin page)."""
    with Session(workspace.engine) as session:
        kinds = session.execute(sa.select(AuditEntry.kind).distinct().order_by(AuditEntry.kind))
        return [k for (k,) in kinds if k]


def _normal_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320 or email.startswith("@") or email.endswith("@"):
        raise InputError(f"{email!r} is not an email address")
    return email


def _check_password(password: str | None) -> None:
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InputError(
            f"unknown role {value!r}", hint=f"use one of {', '.join(r.value for r in Role)}"
        ) from None


def add_user(
    workspace: Workspace,
    email: str,
    role: str,
    *,
    password: str | None,
    now: datetime,
    actor: str,
) -> dict[str, Any]:
    """Create a user with an argon2 hash of ``password`` (None: tokens only)."""
    email, checked = _normal_email(email), parse_role(role)
    _check_password(password)
    with transaction(workspace.engine) as session:
        if session.execute(sa.select(User.user_id).where(User.email == email)).first():
            raise InputError(f"a user {email} already exists")
        hashed = _hasher.hash(password) if password is not None else None
        session.add(User(email=email, role=checked.value, password_hash=hashed, created_at=now))
        record_audit(
            session, actor=actor, action="user.add", target=email, now=now,
            after={"role": checked.value, "active": True},
        )  # fmt: skip
    return {"email": email, "role": checked.value}


def list_users(workspace: Workspace) -> list[dict[str, Any]]:
    """Every user with role and whether a password is set."""
    with Session(workspace.engine) as session:
        users = session.execute(sa.select(User).order_by(User.email)).scalars().all()
    return [
        {"email": u.email, "role": u.role, "password": u.password_hash is not None,
         "active": u.is_active}
        for u in users
    ]  # fmt: skip


def _principal(user: User, scope: Scope) -> Principal:
    return Principal(user.user_id, user.email, Role(user.role), scope)


def verify_password(workspace: Workspace, email: str, password: str) -> Principal:
    """The user of ``email`` if ``password`` is theirs; :class:`AuthenticationError` else
    (the same message whether the email or the password was wrong)."""
    with Session(workspace.engine) as session:
        user = session.execute(
            sa.select(User).where(User.email == email.strip().lower())
        ).scalar_one_or_none()
    stored = user.password_hash if user is not None and user.is_active else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
        ok = stored is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        raise AuthenticationError("wrong email or password")
    return _principal(user, Scope.WRITE)


#: Audit actions of sign-ins (the actor is ``ip:<client address>``, the target the email).
LOGIN_FAILED = "login.failed"
LOGIN_OK = "login"


def sign_in(
    workspace: Workspace, email: str, password: str, *, client: str, now: datetime
) -> Principal:
    """:func:`verify_password` with a limit per email and client address (see
    :mod:`keepwell.auth.throttle`: 5 failures in 5 minutes, then refused).

    Every attempt is an audit row (``login`` or ``login.failed``, actor
    ``ip:<client>``), which is also where failures are counted, so the limit holds
    across server processes. Raises :class:`RateLimitedError` (with ``retry_after``
    seconds) before checking the password when the limit is reached, and
    :class:`AuthenticationError` when the password is wrong.
    """
    target, actor = email.strip().lower()[:320], f"ip:{client}"[:320]
    wait = throttle.retry_after(_failures(workspace, target, actor, now), now)
    if wait is not None:
        raise RateLimitedError(
            f"too many failed sign-ins for {target}; try again in {wait} seconds",
            retry_after=wait,
        )
    try:
        principal = verify_password(workspace, email, password)
    except AuthenticationError:
        audit(workspace, actor=actor, action=LOGIN_FAILED, target=target, now=now)
        raise
    audit(workspace, actor=actor, action=LOGIN_OK, target=target, now=now)
    return principal


def _failures(workspace: Workspace, target: str, actor: str, now: datetime) -> list[datetime]:
    """Times of failed sign-ins of (target, actor) within the window, since the last
    success."""
    query = (
        sa.select(AuditEntry.action, AuditEntry.at)
        .where(
            AuditEntry.at > now - throttle.LOGIN_WINDOW,
            AuditEntry.action.in_([LOGIN_FAILED, LOGIN_OK]),
            AuditEntry.target == target,
            AuditEntry.actor == actor,
        )
        .order_by(AuditEntry.entry_id)
    )
    with Session(workspace.engine) as session:
        rows = session.execute(query).all()
    failures: list[datetime] = []
    for action, at in rows:
        failures = [*failures, at] if action == LOGIN_FAILED else []
    return failures


def open_session(
    workspace: Workspace, user_id: int, *, now: datetime, max_age: timedelta | None = None
) -> str:
    """A new server-side session of ``user_id``: the secret id the cookie carries (only
    its SHA-256 is stored). Records older than ``max_age`` (their cookies have expired)
    are deleted on the way, so the table holds only live sessions."""
    sid = secrets.token_urlsafe(32)
    with transaction(workspace.engine) as session:
        if max_age is not None:
            session.execute(sa.delete(UserSession).where(UserSession.created_at < now - max_age))
        session.add(UserSession(session_hash=hash_secret(sid), user_id=user_id, created_at=now))
    return sid


def principal_for(workspace: Workspace, user_id: int, sid: str) -> Principal:
    """The principal of a signed-in session; :class:`AuthenticationError` when the
    session was signed out or revoked, or its user is gone or deactivated."""
    with Session(workspace.engine) as session:
        row = session.execute(
            sa.select(UserSession, User)
            .join(User, User.user_id == UserSession.user_id)
            .where(UserSession.session_hash == hash_secret(sid), User.user_id == user_id)
        ).first()
    if row is None or row[0].revoked_at is not None:
        raise AuthenticationError("the session has ended", hint="sign in again")
    if not row[1].is_active:
        raise AuthenticationError("the session's user is deactivated", hint="ask an admin")
    return _principal(row[1], Scope.WRITE)


def close_session(workspace: Workspace, sid: str, *, now: datetime) -> None:
    """Sign out: the session's cookie stops working at once, wherever it was copied."""
    with transaction(workspace.engine) as session:
        row = session.get(UserSession, hash_secret(sid))
        if row is None or row.revoked_at is not None:
            return
        row.revoked_at = now
        user = session.get(User, row.user_id)
        email = user.email if user is not None else str(row.user_id)
        record_audit(session, action="session.logout", target=email, now=now, actor=email)


def _revoke_sessions(session: Session, user_id: int, now: datetime) -> int:
    result = session.execute(
        sa.update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _check_admin(by: Principal | None) -> None:
    """User management is for admins (None: the CLI, a local operator)."""
    if by is not None and (by.role is not Role.ADMIN or not by.can_write):
        raise PermissionDeniedError(f"{by.email} is not an admin with a write scope")


def _keeps_an_admin(session: Session, user: User) -> None:
    """Refuse a change that would leave no active admin (no one could manage users)."""
    others = session.execute(
        sa.select(sa.func.count())
        .select_from(User)
        .where(
            User.role == Role.ADMIN.value, User.is_active.is_(True), User.user_id != user.user_id
        )
    ).scalar_one()
    if user.role == Role.ADMIN.value and user.is_active and not others:
        raise InputError(
            f"{user.email} is the last active admin", hint="make another user admin first"
        )


def _user_row(user: User) -> dict[str, Any]:
    return {"email": user.email, "role": user.role, "active": user.is_active,
            "password": user.password_hash is not None}  # fmt: skip


def deactivate_user(
    workspace: Workspace, email: str, *, now: datetime, by: Principal | None = None
) -> dict[str, Any]:
    """Deactivate a user: their sign-in, sessions and API tokens stop working with the
    next request (every request checks the user), and their accounts show as
    unassigned. Idempotent. ``by`` (None: the CLI) must be an admin."""
    _check_admin(by)
    with transaction(workspace.engine) as session:
        user = _user(session, email)
        if user.is_active:
            _keeps_an_admin(session, user)
            user.is_active = False
            ended = _revoke_sessions(session, user.user_id, now)
            record_audit(
                session, action="user.deactivate", target=user.email, now=now,
                before={"active": True}, after={"active": False},
                details={"sessions_ended": ended},
            )  # fmt: skip
        return _user_row(user)


def activate_user(
    workspace: Workspace, email: str, *, now: datetime, by: Principal | None = None
) -> dict[str, Any]:
    """Let a deactivated user sign in again (their old sessions stay ended; revoked
    tokens stay revoked, others work again). ``by`` as in :func:`deactivate_user`."""
    _check_admin(by)
    with transaction(workspace.engine) as session:
        user = _user(session, email)
        if not user.is_active:
            user.is_active = True
            record_audit(
                session, action="user.activate", target=user.email, now=now,
                before={"active": False}, after={"active": True},
            )  # fmt: skip
        return _user_row(user)


def set_role(
    workspace: Workspace, email: str, role: str, *, now: datetime, by: Principal | None = None
) -> dict[str, Any]:
    """Change a user's role; it applies to their next request (sessions and tokens are
    checked against the user on every request). ``by`` as in :func:`deactivate_user`."""
    _check_admin(by)
    checked = parse_role(role)
    with transaction(workspace.engine) as session:
        user = _user(session, email)
        if user.role != checked.value:
            if checked is not Role.ADMIN:
                _keeps_an_admin(session, user)
            record_audit(
                session, action="user.role", target=user.email, now=now,
                before={"role": user.role}, after={"role": checked.value},
            )  # fmt: skip
            user.role = checked.value
        return _user_row(user)


def reset_password(
    workspace: Workspace,
    email: str,
    password: str | None,
    *,
    now: datetime,
    by: Principal | None = None,
) -> dict[str, Any]:
    """Set a new password (None: remove it, tokens only) and end the user's sessions, so
    whoever knew the old one is signed out. ``by`` as in :func:`deactivate_user`."""
    _check_admin(by)
    _check_password(password)
    with transaction(workspace.engine) as session:
        user = _user(session, email)
        user.password_hash = _hasher.hash(password) if password is not None else None
        ended = _revoke_sessions(session, user.user_id, now)
        record_audit(
            session, action="user.password", target=user.email, now=now,
            details={"password": "set" if password is not None else "removed",
                     "sessions_ended": ended},
        )  # fmt: skip
        return _user_row(user)


def find_user(workspace: Workspace, email: str) -> dict[str, Any]:
    """One user (:class:`NotFoundError` when there is none)."""
    with Session(workspace.engine) as session:
        return _user_row(_user(session, email))


def inactive_owners(workspace: Workspace) -> set[str]:
    """Emails of deactivated users: accounts they own are shown as unassigned."""
    with Session(workspace.engine) as session:
        return set(
            session.execute(sa.select(User.email).where(User.is_active.is_(False))).scalars()
        )


def create_token(workspace: Workspace, email: str, scope: str, *, now: datetime, actor: str) -> str:
    """A new personal API token for ``email``; the secret is returned once and only its
    SHA-256 is stored."""
    return str(issue_token(workspace, email, scope, now=now, actor=actor)["token"])


def issue_token(
    workspace: Workspace,
    email: str,
    scope: str,
    *,
    now: datetime,
    actor: str,
    by: Principal | None = None,
) -> dict[str, Any]:
    """:func:`create_token` with the new token's id, prefix, scope and owner; ``by`` (a
    principal of the API; None: the CLI) must be an admin or ``email`` themselves, and
    cannot give a scope it lacks itself."""
    try:
        checked = Scope(scope)
    except ValueError:
        raise InputError(f"unknown scope {scope!r}", hint="use read or write") from None
    _check_manages(by, email)
    if by is not None and checked is Scope.WRITE and by.scope is not Scope.WRITE:
        raise PermissionDeniedError("a read-scope token cannot create a write-scope token")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction(workspace.engine) as session:
        user = _user(session, email)
        token = ApiToken(
            user_id=user.user_id, token_hash=hash_secret(secret), prefix=secret[:10],
            scope=checked.value, created_at=now,
        )  # fmt: skip
        session.add(token)
        session.flush()
        record_audit(
            session, actor=actor, action="token.create", target=user.email, now=now,
            details={"token_id": token.token_id, "scope": checked.value},
        )  # fmt: skip
        return {"token": secret, "token_id": token.token_id, "prefix": token.prefix,
                "scope": checked.value, "email": user.email}  # fmt: skip


def _check_manages(by: Principal | None, email: str) -> None:
    """Only admins manage other users' tokens (None: the CLI, a local operator)."""
    if by is None or by.role is Role.ADMIN or by.email == email.strip().lower():
        return
    raise PermissionDeniedError(f"{by.email} may manage only their own API tokens")


def _user(session: Session, email: str) -> User:
    user = session.execute(
        sa.select(User).where(User.email == email.strip().lower())
    ).scalar_one_or_none()
    if user is None:
        raise NotFoundError(f"no user {email!r}", hint="create one with `keepwell users add`")
    return user


def list_tokens(
    workspace: Workspace, email: str, *, by: Principal | None = None
) -> list[dict[str, Any]]:
    """The tokens of ``email`` (never their secrets); ``by`` as in :func:`issue_token`."""
    _check_manages(by, email)
    with Session(workspace.engine) as session:
        user = _user(session, email)
        tokens = session.execute(
            sa.select(ApiToken).where(ApiToken.user_id == user.user_id).order_by(ApiToken.token_id)
        ).scalars()
        return [
            {"token_id": t.token_id, "prefix": t.prefix, "scope": t.scope,
             "created_at": t.created_at, "last_used_at": t.last_used_at,
             "revoked_at": t.revoked_at}
            for t in tokens
        ]  # fmt: skip


def revoke_token(
    workspace: Workspace,
    token_id: int,
    *,
    now: datetime,
    actor: str,
    by: Principal | None = None,
) -> None:
    """Revoke a token: it stops working with the next request (tokens are checked
    against the database on every request). ``by`` (None: the CLI) must be an admin or
    the token's owner; another user's token is reported as not found."""
    with transaction(workspace.engine) as session:
        token = session.get(ApiToken, token_id)
        allowed = token is not None and (
            by is None or by.role is Role.ADMIN or token.user_id == by.user_id
        )
        if token is None or not allowed:
            raise NotFoundError(f"no API token {token_id}")
        if token.revoked_at is None:
            token.revoked_at = now
        record_audit(session, actor=actor, action="token.revoke", target=str(token_id), now=now)


def authenticate_token(workspace: Workspace, secret: str, *, now: datetime) -> Principal:
    """The principal of a bearer token; :class:`AuthenticationError` when it is unknown,
    revoked or its user inactive. Keeps ``last_used_at`` (to the minute)."""
    with transaction(workspace.engine) as session:
        row = session.execute(
            sa.select(ApiToken, User)
            .join(User, User.user_id == ApiToken.user_id)
            .where(ApiToken.token_hash == hash_secret(secret))
        ).first()
        if row is None or row[0].revoked_at is not None or not row[1].is_active:
            raise AuthenticationError("the API token is not valid (unknown or revoked)")
        token, user = row
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            token.last_used_at = now
        return _principal(user, Scope(token.scope))


def accounts_of_inactive_owners(workspace: Workspace) -> dict[str, int]:
    """How many accounts each deactivated user owns (now unassigned), by email."""
    accounts = sa.table("accounts", sa.column("owner"))
    query = (
        sa.select(User.email, sa.func.count())
        .join(accounts, sa.func.lower(accounts.c.owner) == User.email)
        .where(User.is_active.is_(False))
        .group_by(User.email)
    )
    with Session(workspace.engine) as session:
        return {email: int(n) for email, n in session.execute(query).all()}
