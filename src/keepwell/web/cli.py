"""``keepwell serve``: the HTTP server (Uvicorn) on the workspace."""

from __future__ import annotations

from typing import Annotated

import typer

from keepwell.console import err, workspace
from keepwell.core.settings import Settings


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Start the server: REST API under /api/v1, tracking API under /v1, docs at /docs."""
    import uvicorn

    from keepwell.portfolio.service import warm
    from keepwell.web.app import create_app
    from keepwell.web.toolkit import today

    ws = workspace()
    app = create_app(ws, Settings())
    warm(ws, today(), lambda exc: err.print(f"warning: account directory not pre-built: {exc}"))
    err.print(f"Keepwell on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=True)
    finally:
        ws.close()


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the root ``app``."""
    app.command("serve")(serve)
