"""Errors of authentication and authorization (faces map them to 401 and 403)."""

from __future__ import annotations

from keepwell.core.errors import KeepwellError


class AuthenticationError(KeepwellError):
    """No credentials, or credentials that are not (or no longer) valid."""

    exit_code = 2
    http_status = 401
    error_code = "unauthenticated"


class PermissionDeniedError(KeepwellError):
    """Valid credentials that do not allow this action (role or token scope)."""

    exit_code = 2
    http_status = 403
    error_code = "forbidden"


class RateLimitedError(KeepwellError):
    """Too many failed attempts: refused without checking, for ``retry_after`` seconds
    (faces map it to 429 with a ``Retry-After`` header)."""

    exit_code = 2
    http_status = 429
    error_code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after: int | None = retry_after
