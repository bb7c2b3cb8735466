"""Errors of authentication and authorization (faces map them to 401 and 403)."""

from __future__ import annotations

from keepwell.core.errors import KeepwellError


class AuthenticationError(KeepwellError):
    """No credentials, or credentials that are not (or no longer) valid."""

    exit_code = 2


class PermissionDeniedError(KeepwellError):
    """Valid credentials that do not allow this action (role or token scope)."""

    exit_code = 2
