"""The one exception tree of Keepwell.

Every error a user can meet derives from :class:`KeepwellError` and carries a message
that says what was wrong and, in ``hint``, what to do about it. Faces map these to exit
codes (CLI) or status codes (HTTP): each class names its ``exit_code`` and its
``http_status`` and stable ``error_code`` once, here or in the slice that defines it,
and no face keeps a table of classes (the web toolkit then needs no slice's errors).

    KeepwellError
    ├── ConfigurationError       settings or configuration files are wrong
    ├── WorkspaceError           no workspace, or one that cannot be opened
    ├── StoreError               a database or analytics engine cannot be reached
    ├── InputError               user input that cannot be used at all (exit code 2)
    │   └── UnusableFileError    a file that cannot be read: missing, empty, bad encoding…
    └── NotFoundError            a named thing (account, entity…) does not exist
"""

from __future__ import annotations


class KeepwellError(Exception):
    """Base of every error Keepwell raises on purpose."""

    exit_code = 1
    #: the HTTP status and stable error code faces answer with
    http_status = 400
    error_code = "error"
    #: seconds a client should wait before trying again (``Retry-After``), when known
    retry_after: int | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigurationError(KeepwellError):
    """A setting or a configuration file is wrong."""

    exit_code = 2
    http_status = 500
    error_code = "configuration_error"


class WorkspaceError(KeepwellError):
    """The workspace is missing or cannot be opened."""

    exit_code = 2
    http_status = 503
    error_code = "workspace_unavailable"


class StoreError(KeepwellError):
    """A store (operational database or analytics engine) cannot be used."""

    exit_code = 2
    http_status = 503
    error_code = "store_unavailable"


class InputError(KeepwellError):
    """Input that cannot be used at all, as opposed to individual bad rows."""

    exit_code = 2
    http_status = 400
    error_code = "invalid_input"


class UnusableFileError(InputError):
    """A file that cannot be read: missing, empty, unknown format, unreadable encoding."""


class NotFoundError(KeepwellError):
    """A named thing does not exist."""

    exit_code = 2
    http_status = 404
    error_code = "not_found"
