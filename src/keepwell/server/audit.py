"""Who acts in each request, and a safety net: no successful write goes unrecorded.

Each request gets its own :class:`keepwell.auth.audit.Acting`; authentication names the
signed-in user in it, and the services record their changes (with before and after) in
the audit log under that name. A successful write by a signed-in user for which no
service recorded anything still leaves a plain ``http`` row: who, method, path, when.
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
        acting = auth_service.begin_acting()
        response = await call_next(request)
        principal = getattr(request.state, "principal", None)
        if request.method in SAFE_METHODS or principal is None or response.status_code >= 400:
            return response
        if acting.recorded:
            return response
        await run_in_threadpool(
            auth_service.audit,
            server_state(request).workspace,
            actor=principal.email,
            action=f"{request.method} {request.url.path}"[:64],
            target=request.url.path,
            now=datetime.now(UTC),
            details={"status": response.status_code, "query": str(request.url.query)[:1000]},
        )
        return response
