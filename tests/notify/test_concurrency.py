"""Exactly once under concurrency: two worker processes against one PostgreSQL database
queue the same notifications and deliver them at the same time; the receivers get each
one exactly once."""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from keepwell.core.database import transaction
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace
from keepwell.notify import service
from tests.conftest import make_workspace
from tests.notify.conftest import settings_for
from tests.notify.receivers import http_server, smtp_server

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WEBHOOKS, EMAILS = 60, 20


def _queue_all(ws: Workspace) -> int:
    queued = 0
    for i in range(WEBHOOKS + EMAILS):
        with transaction(ws.engine) as session:
            email = i >= WEBHOOKS
            queued += service.enqueue(
                session, channel="email" if email else "webhook",
                target=f"user{i}@acme.example" if email else "", subject=f"n{i}",
                body=f"notification {i}", dedupe_key=f"key-{i}",
            )  # fmt: skip
    return queued


def _worker(
    root: str, url: str, smtp_port: int, http_url: str, start: Any, queued_all: Any, results: Any
) -> None:
    """One worker process: queue every notification, wait for the other worker, then
    deliver until none is due."""
    ws = Workspace.at(Path(root), Settings(home=Path(root), database_url=url))
    settings = settings_for(smtp_port, http_url)
    start.wait(30)
    queued = _queue_all(ws)
    queued_all.wait(60)
    sent = 0
    while True:
        report = service.deliver_pending(ws, now=NOW, settings=settings, limit=5)
        sent += report.sent
        if report.claimed == 0:
            break
    results.put((queued, sent))
    ws.close()


@pytest.mark.postgres
def test_two_processes_queue_and_deliver_each_notification_once(
    tmp_path: Path, postgres_url: str
) -> None:
    make_workspace(tmp_path / "ws", postgres_url).close()
    context = multiprocessing.get_context("spawn")
    start, queued_all, results = context.Event(), context.Barrier(2), context.Queue()
    with smtp_server() as smtp, http_server() as receiver:
        receiver.delay = 0.005  # keep both workers busy at the same time
        workers = [
            context.Process(
                target=_worker,
                args=(
                    str(tmp_path / "ws"),
                    postgres_url,
                    smtp.port,
                    receiver.url,
                    start,
                    queued_all,
                    results,
                ),
            )
            for _ in range(2)
        ]
        for w in workers:
            w.start()
        time.sleep(0.5)
        start.set()
        outcomes = [results.get(timeout=120) for _ in workers]
        for w in workers:
            w.join(30)
        assert [w.exitcode for w in workers] == [0, 0]
        hooks = Counter(r.headers["X-Keepwell-Delivery"] for r in receiver.requests)
        mails = Counter(m["X-Keepwell-Dedupe-Key"] for m in smtp.messages)
    assert sum(q for q, _ in outcomes) == WEBHOOKS + EMAILS  # each queued by one worker
    assert hooks == Counter({f"key-{i}": 1 for i in range(WEBHOOKS)})
    assert mails == Counter({f"key-{i}": 1 for i in range(WEBHOOKS, WEBHOOKS + EMAILS)})
    sent = [s for _, s in outcomes]
    assert sum(sent) == WEBHOOKS + EMAILS
    assert min(sent) > 0, f"one worker did everything: {sent}"
