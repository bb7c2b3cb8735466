"""Signed session cookies and CSRF tokens (itsdangerous).

A session cookie carries the user id, the id of the session's server-side record (see
:func:`keepwell.auth.service.open_session`; sign-out revokes it) and the session's CSRF
token, signed with the server's secret key and valid for ``max_age`` seconds. Before
sign-in, the login form's CSRF token is bound to a signed cookie of its own (double submit).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "keepwell_session"
CSRF_COOKIE = "keepwell_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class SessionData:
    user_id: int
    sid: str
    csrf: str


class SessionSigner:
    """Issues and reads session cookies and pre-login CSRF cookies."""

    def __init__(self, secret_key: str, *, max_age: int) -> None:
        self.max_age = max_age
        self._sessions = URLSafeTimedSerializer(secret_key, salt="keepwell.session")
        self._csrf = URLSafeTimedSerializer(secret_key, salt="keepwell.csrf")

    def issue(self, user_id: int, sid: str) -> tuple[str, str]:
        """A new session cookie value for ``user_id``'s session ``sid`` and its CSRF token."""
        csrf = secrets.token_urlsafe(24)
        return str(self._sessions.dumps({"uid": user_id, "sid": sid, "csrf": csrf})), csrf

    def read(self, cookie: str | None) -> SessionData | None:
        """The session in ``cookie``, or None when absent, forged or expired."""
        data = _loads(self._sessions, cookie, self.max_age)
        if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
            return None
        if not isinstance(data.get("sid"), str):
            return None  # a cookie of a version without server-side sessions
        return SessionData(user_id=data["uid"], sid=data["sid"], csrf=str(data.get("csrf", "")))

    def login_csrf(self) -> tuple[str, str]:
        """A pre-login CSRF cookie value and the token the form must send back."""
        token = secrets.token_urlsafe(24)
        return str(self._csrf.dumps(token)), token

    def check_login_csrf(self, cookie: str | None, submitted: str | None) -> bool:
        expected = _loads(self._csrf, cookie, 3600)
        return isinstance(expected, str) and same_token(expected, submitted)


def same_token(expected: str, submitted: str | None) -> bool:
    """Constant-time comparison of CSRF tokens."""
    return bool(submitted) and hmac.compare_digest(expected.encode(), (submitted or "").encode())


def _loads(serializer: URLSafeTimedSerializer, value: str | None, max_age: int) -> Any:
    if not value:
        return None
    try:
        return serializer.loads(value, max_age=max_age)
    except BadSignature:
        return None
