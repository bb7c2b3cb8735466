"""The audit middleware: every successful write by a signed-in user leaves a row.

Slices record richer rows of their own (users, tokens, Stripe events); this one makes
sure no write through the API goes unrecorded: who, which method and path, and when.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.middleware.base import RequestResponseEndpoint

from keepwell.auth import service as auth_service
from keepwell.web.deps import SAFE_METHODS
from keepwell.web.state import server_state


def install_audit(app: FastAPI) -> None:
    @app.middleware("http")
    async def audit_writes(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        principal = getattr(request.state, "principal", None)
        if request.method in SAFE_METHODS or principal is None or response.status_code >= 400:
            return response
        await run_in_threadpool(
            auth_service.audit,
            server_state(request).workspace,
            actor=principal.email,
            action=f"{request.method} {request.url.path}",
            target=request.url.path,
            now=datetime.now(UTC),
            details={"status": response.status_code, "query": str(request.url.query)[:1000]},
        )
        return response
