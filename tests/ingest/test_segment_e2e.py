"""End to end: the real server (Uvicorn) and the official segment-analytics-python client."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from segment.analytics import Client

from keepwell.core.workspace import Workspace
from keepwell.ingest import service
from tests.web.helpers import NOW, add_user, load, make_app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(workspace: Workspace) -> Iterator[str]:
    """The server on a free 127.0.0.1 port, in a thread; yields its base URL."""
    port = _free_port()
    config = uvicorn.Config(make_app(workspace), host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=20)


def test_official_client_events_land_once_per_message_id(workspace: Workspace, server: str) -> None:
    load(workspace, "accounts", [{"account_id": "A1", "name": "Acme"}])
    key = service.add_source(workspace, "app", now=NOW, actor="test")
    token = add_user(workspace, "ops@example.com", "admin", scope="read")
    errors: list[Any] = []
    segment = Client(key, host=server, on_error=lambda e, batch: errors.append(e), max_retries=1)
    when = datetime(2026, 2, 3, 9, 30, tzinfo=UTC)
    segment.identify("u1", {"email": "u1@acme.test"}, timestamp=when)
    segment.group("u1", "A1", {"name": "Acme"}, timestamp=when)
    for _ in range(2):  # a retry by the sender: the same messageId twice
        segment.track("u1", "report_created", {"n": 1}, timestamp=when, message_id="dup-1")
    segment.track("u1", "login", timestamp=when)
    segment.track("u2", "login", timestamp=when, context={"groupId": "A1"})
    segment.flush()
    segment.join()
    usage = httpx.get(
        f"{server}/api/v1/accounts/A1/usage", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert errors == []
    assert {(r["day"], r["event"], r["count"]) for r in usage} == {
        ("2026-02-03", "report_created", 1),
        ("2026-02-03", "login", 2),
    }
