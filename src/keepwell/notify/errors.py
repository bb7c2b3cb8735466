"""Errors of notifications."""

from __future__ import annotations

from keepwell.core.errors import KeepwellError


class DeliveryError(KeepwellError):
    """A channel did not accept a notification (SMTP refused, HTTP error, no URL…).

    Never shown as a crash: the notification is retried with backoff, then marked failed
    with this message as its ``last_error``.
    """
