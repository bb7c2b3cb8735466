"""Errors as JSON ``{"error": {"code": ..., "message": ...}}``; never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException

from keepwell.core.database import store_failure
from keepwell.core.errors import KeepwellError

log = logging.getLogger("keepwell.web")


class ErrorDetail(BaseModel):
    """What went wrong: a stable ``code``, a one-line ``message`` and, when there is one,
    a ``hint`` saying what to do."""

    model_config = ConfigDict(extra="forbid")

    code: str
    message: str
    hint: str | None = None


class ErrorResponse(BaseModel):
    """The body of every error answer (4xx and 5xx)."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorDetail


_DESCRIPTIONS = {
    400: "Invalid input (code ``invalid_input`` or ``error``).",
    401: "No or invalid credentials (code ``unauthenticated``).",
    403: "Not allowed for this user, token scope or role, or a missing CSRF token "
    "(code ``forbidden``).",
    404: "No such resource, or not visible to the caller (code ``not_found``).",
    409: "Conflicts with the current state (code ``conflict``).",
    413: "The body is too large (code ``payload_too_large``).",
    422: "A parameter or the body does not match the schema (code ``invalid_request``).",
    429: "Too many attempts; retry after ``Retry-After`` seconds (code ``rate_limited``).",
    500: "The server is misconfigured (code ``configuration_error``).",
    503: "Busy or a store is unavailable; retry after ``Retry-After`` seconds.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting ``statuses`` with the :class:`ErrorResponse` body,
    for a route's or a router's ``responses=``."""
    return {
        status: {"model": ErrorResponse, "description": _DESCRIPTIONS[status]}
        for status in statuses
    }


def validation_errors_documented(app: FastAPI) -> None:
    """Make the OpenAPI of ``app`` say what a 422 really carries: FastAPI documents its
    own ``HTTPValidationError`` for every route with parameters, but
    :func:`install_error_handlers` answers with :class:`ErrorResponse` like every error."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        ours = {"$ref": "#/components/schemas/ErrorResponse"}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                invalid = operation.get("responses", {}).get("422")
                if invalid is not None:
                    invalid["description"] = _DESCRIPTIONS[422]
                    invalid["content"] = {"application/json": {"schema": ours}}
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        if "ErrorResponse" not in components:
            body = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(body.pop("$defs", {}))
            components["ErrorResponse"] = body
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def error_body(code: str, message: str, hint: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {"code": code, "message": message}
    if hint:
        body["hint"] = hint
    return {"error": body}


def status_of(exc: KeepwellError) -> tuple[int, str]:
    """The HTTP status and stable code of ``exc``, as its class declares them."""
    return exc.http_status, exc.error_code


async def _keepwell_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KeepwellError)
    status, code = status_of(exc)
    headers = {}
    if status == 401:
        basic = request.url.path.startswith("/v1/")
        headers["WWW-Authenticate"] = 'Basic realm="keepwell"' if basic else "Bearer"
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    elif status == 503:
        headers["Retry-After"] = "1"
    return JSONResponse(error_body(code, exc.message, exc.hint), status, headers=headers)


def validation_message(exc: RequestValidationError) -> str:
    """What was wrong with the request's parameters or body, each named by where it is
    (``query.as_of: Input should be a valid date ...``), at most 20."""
    problems = []
    for error in exc.errors()[:20]:
        where = ".".join(str(p) for p in error.get("loc", ()))
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(problems)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(error_body("invalid_request", validation_message(exc)), 422)


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
    """Map every error to the JSON body with its status (as each error class declares it)."""
    app.add_exception_handler(KeepwellError, _keepwell_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
