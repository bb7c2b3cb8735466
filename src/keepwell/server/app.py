"""The HTTP server: :func:`create_app` assembles every slice's router over one workspace.

Public routes: ``/healthz`` (liveness), ``/readyz`` (readiness: the stores answer),
``/docs``, ``/openapi.json``, the sign-in form, the tracking API (its own write-key auth)
and the Stripe webhook (its own signature). Every other route runs
:func:`keepwell.web.deps.authenticate` first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from keepwell import __version__
from keepwell.auth import api as auth_api
from keepwell.auth import pages as auth_pages
from keepwell.auth.sessions import SessionSigner
from keepwell.contract import api as contract_api
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace
from keepwell.health import api as health_api
from keepwell.health import service as health_service
from keepwell.ingest import api as ingest_api
from keepwell.ingest.writer import EventWriter
from keepwell.notify import api as notify_api
from keepwell.portfolio import api as portfolio_api
from keepwell.portfolio import pages as portfolio_pages
from keepwell.portfolio import service as portfolio_service
from keepwell.reports import pages as report_pages
from keepwell.revenue import api as revenue_api
from keepwell.revenue import pages as revenue_pages
from keepwell.risk import api as risk_api
from keepwell.risk import pages as risk_pages
from keepwell.server import control, login
from keepwell.server.audit import install_audit
from keepwell.server.dates import iso_days
from keepwell.server.freshness import ForgetKeptAfterWrites
from keepwell.server.nul import RejectNulMiddleware
from keepwell.server.runtime import ServerRuntime, readiness
from keepwell.success import api as success_api
from keepwell.success import pages as success_pages
from keepwell.team import api as team_api
from keepwell.team import pages as team_pages
from keepwell.voice import api as voice_api
from keepwell.voice import pages as voice_pages
from keepwell.web.deps import authenticate, require_manager
from keepwell.web.errors import (
    error_responses,
    install_error_handlers,
    validation_errors_documented,
)
from keepwell.web.state import ServerState
from keepwell.web.toolkit import install_pages


def create_app(
    workspace: Workspace,
    settings: Settings | None = None,
    runtime: ServerRuntime | None = None,
) -> FastAPI:
    """The Keepwell server over ``workspace``; refuses default secrets outside development.

    ``runtime`` (``keepwell serve`` gives one) is started and stopped with the app: the
    scheduled cycle and the commands other processes send (:mod:`keepwell.server.runtime`).
    On shutdown it stops first (the cycle at a safe point), then the event writer
    commits what is queued."""
    settings = (settings or Settings()).check()
    writer = EventWriter(workspace.analytics, max_pending=settings.ingest_queue)
    state = ServerState(
        workspace=workspace,
        settings=settings,
        sessions=SessionSigner(
            settings.secret_key.get_secret_value(), max_age=settings.session_max_age
        ),
        analytics_lock=writer.lock,
        data_day=health_service.data_as_of,
        parts={ingest_api.Tracking: ingest_api.Tracking(writer)},
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:
            runtime.start(writer.lock, reopen=workspace.close)
        try:
            yield
        finally:
            if runtime is not None:
                await run_in_threadpool(runtime.stop)
            await run_in_threadpool(writer.close)
            if runtime is not None:  # the server's own stores: closed cleanly (checkpoint)
                await run_in_threadpool(workspace.close)

    app = FastAPI(
        title="Keepwell",
        version=__version__,
        description="Customer success for subscription businesses: REST API, "
        "Segment-compatible tracking API and Stripe webhooks.",
        lifespan=lifespan,
        dependencies=[Depends(iso_days)],
    )
    app.state.keepwell = state
    app.state.workspace = workspace
    app.state.analytics_lock = writer.lock
    app.state.runtime = runtime
    install_error_handlers(app)
    install_audit(app)
    _pages(app)
    app.add_middleware(RejectNulMiddleware)
    app.add_middleware(ForgetKeptAfterWrites, forget=lambda: portfolio_service.forget(workspace))
    _routes(app)
    if runtime is not None:
        app.include_router(control.router)
    validation_errors_documented(app)
    return app


class Readiness(BaseModel):
    """Whether both stores answer: ``ok``, ``busy`` (a write holds the analytics store;
    still ready) or why not; with the server's cycle schedule and whether it runs now."""

    status: str
    database: str
    analytics: str
    cycle: str | None = None
    cycle_running: bool | None = None


class Liveness(BaseModel):
    status: str
    version: str


def _pages(app: FastAPI) -> None:
    """Mount the pages, their static files and plotly.js; routers in the order they are
    matched (the sign-in page first, so it takes ``/login`` over auth's bare form)."""
    install_pages(
        app,
        [
            login.router,
            voice_pages.router,  # public: the signed link is the key
            portfolio_pages.router,
            revenue_pages.router,
            success_pages.router,
            risk_pages.router,
            team_pages.router,
            report_pages.router,
            auth_pages.router,
        ],
    )


def _routes(app: FastAPI) -> None:
    signed_in: dict[str, Any] = {
        "dependencies": [Depends(authenticate)],
        "responses": error_responses(401, 403),
    }
    managers: dict[str, Any] = {
        "dependencies": [Depends(require_manager)],
        "responses": error_responses(401, 403),
    }

    @app.get("/healthz", tags=["server"], response_model=Liveness)
    def healthz() -> dict[str, Any]:
        """Liveness: the server answers (no authentication)."""
        return {"status": "ok", "version": __version__}

    @app.get(
        "/readyz",
        tags=["server"],
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "A store does not answer."}},
    )
    def readyz(request: Request) -> JSONResponse:
        """Readiness: both stores answer (no authentication); 503 naming the one that
        does not."""
        return readiness(request.app)

    app.include_router(auth_api.pages)
    app.include_router(auth_api.router, **signed_in)
    app.include_router(ingest_api.tracking)
    app.include_router(ingest_api.webhooks)
    app.include_router(ingest_api.sources, **signed_in)
    app.include_router(notify_api.public)
    app.include_router(contract_api.router, **signed_in)
    app.include_router(portfolio_api.router, **signed_in)
    app.include_router(contract_api.imports, **managers)
    app.include_router(revenue_api.router, **signed_in)
    app.include_router(health_api.router, **signed_in)
    app.include_router(risk_api.router, **signed_in)
    app.include_router(success_api.router, **signed_in)
    app.include_router(team_api.router, **signed_in)
    app.include_router(voice_api.router, **signed_in)
