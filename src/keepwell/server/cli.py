"""``keepwell serve``: the HTTP server (Uvicorn) on the workspace, with its scheduled
cycle; ``keepwell status``: what runs where on the workspace."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from keepwell.console import OutputFormat, err, opened_workspace, out, print_json, workspace
from keepwell.core.settings import get_settings


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Start the server: REST API under /api/v1, tracking API under /v1, docs at /docs,
    and the scheduled cycle (KEEPWELL_CYCLE_EVERY / KEEPWELL_CYCLE_AT)."""
    import uvicorn

    from keepwell.cli import execute
    from keepwell.core import heap
    from keepwell.core.server_record import ServerRecord, claim_server, new_token
    from keepwell.portfolio.service import warm
    from keepwell.server.app import create_app
    from keepwell.server.runtime import CycleScheduler, ServerRuntime, cycle_holder
    from keepwell.web.toolkit import today

    settings = get_settings()
    server_settings = settings.check()
    ws = workspace()
    try:
        schedule = settings.cycle_schedule(ws.setting("timezone"))
        every = schedule.every.total_seconds() if schedule.every else None
        record = ServerRecord(
            pid=os.getpid(), host=host, port=port, token=new_token(),
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            cycle_every=every, cycle_at=None if every else settings.cycle_at,
        )  # fmt: skip
        claim = claim_server(ws.root, record)
        try:
            ws.analytics()  # the server owns the embedded store from now on
            scheduler = CycleScheduler(ws.root, settings, schedule, cycle_holder(ws.root, port))
            runtime = ServerRuntime(
                claim, scheduler, grace=settings.shutdown_grace, command=execute
            )
            app = create_app(ws, server_settings, runtime)
            heap.enable()  # long-lived structures are frozen once built (core.heap)
            heap.settle()  # the first: what the start built (modules, the app)
            warm(
                ws,
                today(),
                lambda exc: err.print(f"warning: account directory not pre-built: {exc}"),
            )
            _log_to_stderr()
            err.print(f"Keepwell on http://{host}:{port}  (API docs: http://{host}:{port}/docs)"
                      f"  cycle: {schedule.describe()}")  # fmt: skip
            uvicorn.run(
                app, host=host, port=port, log_level="info", proxy_headers=True,
                timeout_graceful_shutdown=int(settings.shutdown_grace),
            )  # fmt: skip
        finally:
            claim.release()
    finally:
        ws.close()


def _log_to_stderr() -> None:
    logger = logging.getLogger("keepwell")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def status(
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table or json.")] = (
        OutputFormat.TABLE
    ),
) -> None:
    """What runs where: the server (pid, address), the last and next cycle and its
    outcome, the queue of outgoing notifications, the stores and their sizes."""
    from keepwell.server.runtime import workspace_status

    now = datetime.now(UTC)
    with opened_workspace() as ws:
        state = workspace_status(ws, get_settings(), now)
    if fmt is OutputFormat.JSON:
        print_json(state)
        return
    for label, value in _lines(state):
        out.print(f"{label:<14}{value}", highlight=False, markup=False)


def _lines(state: dict[str, Any]) -> list[tuple[str, str]]:
    servers = state["servers"]
    lines = [
        ("server", f"pid {s['pid']} at {s['url']}, since {s['started_at']}") for s in servers
    ] or [("server", "none running (start one: keepwell serve)")]
    lines.append(("schedule", state["schedule"]))
    last = state["last_cycle"]
    if last is None:
        lines.append(("last cycle", "never ran"))
    else:
        summary = last["summary"]
        counts = ", ".join(f"{summary[k]} {k.replace('_', ' ')}" for k in
                           ("accounts", "opened", "tech_touch_emails") if k in summary)  # fmt: skip
        finished = f" {_t(last['finished_at'])}" if last["finished_at"] else ""
        text = f"as of {last['as_of']}, started {_t(last['started_at'])}, "
        text += f"{state['last_outcome']}{finished}" + (f": {counts}" if counts else "")
        lines.append(("last cycle", text))
    nxt = state["next_cycle"]
    lines.append(("next cycle", _t(nxt) if nxt else "none scheduled"))
    queue = state["notifications"]
    lines.append(("notifications", ", ".join(f"{v} {k}" for k, v in queue.items())))
    for store in state["stores"]:
        size = f", {store['bytes'] / 1e6:,.1f} MB" if store["bytes"] is not None else ""
        lines.append((store["store"], f"{store['location']}{size}"))
    return lines


def _t(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``status`` to the root ``app``."""
    app.command("serve")(serve)
    app.command("status")(status)
