"""Errors as JSON ``{"error": {"code": ..., "message": ...}}``; never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from keepwell.auth.errors import AuthenticationError, PermissionDeniedError, RateLimitedError
from keepwell.core.database import store_failure
from keepwell.core.errors import (
    ConfigurationError,
    InputError,
    KeepwellError,
    NotFoundError,
    StoreError,
    WorkspaceError,
)
from keepwell.ingest.errors import PayloadTooLargeError, SaturatedError

log = logging.getLogger("keepwell.web")

#: status and stable code of each error class (the most specific class wins).
ERROR_STATUS: dict[type[KeepwellError], tuple[int, str]] = {
    AuthenticationError: (401, "unauthenticated"),
    PermissionDeniedError: (403, "forbidden"),
    RateLimitedError: (429, "rate_limited"),
    NotFoundError: (404, "not_found"),
    PayloadTooLargeError: (413, "payload_too_large"),
    InputError: (400, "invalid_input"),
    SaturatedError: (503, "saturated"),
    StoreError: (503, "store_unavailable"),
    WorkspaceError: (503, "workspace_unavailable"),
    ConfigurationError: (500, "configuration_error"),
    KeepwellError: (400, "error"),
}


def error_body(code: str, message: str, hint: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {"code": code, "message": message}
    if hint:
        body["hint"] = hint
    return {"error": body}


def status_of(exc: KeepwellError) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return 400, "error"  # pragma: no cover - KeepwellError is always in the table


async def _keepwell_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KeepwellError)
    status, code = status_of(exc)
    headers = {}
    if status == 401:
        basic = request.url.path.startswith("/v1/")
        headers["WWW-Authenticate"] = 'Basic realm="keepwell"' if basic else "Bearer"
    if isinstance(exc, RateLimitedError):
        headers["Retry-After"] = str(exc.retry_after)
    if status == 503:
        headers["Retry-After"] = "1"
    return JSONResponse(error_body(code, exc.message, exc.hint), status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors()[:20]:
        where = ".".join(str(p) for p in error.get("loc", ()))
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return JSONResponse(error_body("invalid_request", "; ".join(problems)), 422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        error_body(code, str(exc.detail)), exc.status_code, headers=dict(exc.headers or {})
    )


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    failure = store_failure(exc)  # read-only store, full disk: say so, without row data
    if failure is not None:
        log.error("store failure on %s %s: %s", request.method, request.url.path, failure)
        return await _keepwell_error(request, failure)
    log.exception("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        error_body("internal_error", "an internal error occurred; it has been logged"), 500
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map every error to the JSON body with its status (see :data:`ERROR_STATUS`)."""
    app.add_exception_handler(KeepwellError, _keepwell_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
