"""Errors of the customer's voice. The public pages map them to status codes: a link
that is not ours (tampered) 403, one that expired or was revoked 410."""

from __future__ import annotations

from keepwell.core.errors import KeepwellError


class LinkInvalidError(KeepwellError):
    """A public link that was not signed by this server (altered or made up)."""

    exit_code = 2


class LinkGoneError(KeepwellError):
    """A public link that was valid but expired or was revoked."""

    exit_code = 2
