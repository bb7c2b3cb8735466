"""Errors of ingestion (faces map them to 413 and 503)."""

from __future__ import annotations

from keepwell.core.errors import InputError, StoreError


class PayloadTooLargeError(InputError):
    """A request or one message above the size limit."""

    http_status = 413
    error_code = "payload_too_large"


class SaturatedError(StoreError):
    """The event writer cannot take more work now; the sender should retry later."""

    http_status = 503
    error_code = "saturated"
