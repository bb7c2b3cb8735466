"""PostgreSQL for both stores (operational and analytics): two ``keepwell serve``
processes and a ``keepwell worker`` on one database, each running the scheduled cycle,
with CLI commands beside them. One cycle at a time (the lease), none repeated, no CTA
or notification doubled, both servers ready throughout."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from keepwell.contract.service import import_file
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace, init_workspace
from tests.factories import write_rows
from tests.notify.receivers import free_port
from tests.success.company import AS_OF, PLAYBOOKS, RULES

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROWS = {
    "accounts": [
        {"account_id": "A", "name": "Acme", "owner": "a@example.com", "created_at": "2024-01-01"},
        {"account_id": "B", "name": "Beta", "owner": "b@example.com", "created_at": "2024-06-01"},
    ],
    "subscriptions": [
        {"line_id": "a1", "account_id": "A", "product": "core", "mrr": "10000",
         "starts_on": "2024-10-01", "ends_on": "2025-10-01"},
        {"line_id": "b1", "account_id": "B", "product": "core", "mrr": "500",
         "starts_on": "2024-06-01"},
    ],
    "contacts": [
        {"contact_id": "c1", "account_id": "A", "role": "sponsor", "email": "s@acme.example",
         "is_active": "false", "left_on": "2025-07-15"},
        {"contact_id": "c3", "account_id": "B", "role": "admin", "email": "ad@beta.example"},
    ],
    "invoices": [
        {"invoice_id": "i1", "account_id": "B", "amount": "500", "issued_on": "2025-06-01",
         "due_on": "2025-06-16", "status": "open"},
    ],
}  # fmt: skip


def server_cycle_finished(ws: Workspace) -> bool:
    with ws.engine.connect() as conn:
        return bool(conn.execute(sa.text(
            "SELECT count(*) FROM success_cycle_runs"
            " WHERE holder LIKE 'serve:%' AND finished_at IS NOT NULL"
        )).scalar())  # fmt: skip


def test_two_servers_and_a_worker_share_one_postgresql_database(
    postgres_url: str, tmp_path: Path
) -> None:
    home = tmp_path / "ws"
    analytics = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    settings = Settings(home=home, database_url=postgres_url, analytics_url=analytics)
    ws = init_workspace(home, settings=settings)
    for entity, rows in ROWS.items():
        assert import_file(ws, entity, write_rows(tmp_path / f"{entity}.csv", rows)).rejected == 0
    (home / "rules.yaml").write_text(RULES, encoding="utf-8")
    (home / "playbooks.yaml").write_text(PLAYBOOKS, encoding="utf-8")
    env = {**os.environ, "KEEPWELL_HOME": str(home), "KEEPWELL_DATABASE_URL": postgres_url,
           "KEEPWELL_ANALYTICS_URL": analytics, "KEEPWELL_CYCLE_EVERY": "2",
           "KEEPWELL_SMTP_PORT": str(free_port())}  # fmt: skip
    keepwell = [sys.executable, "-m", "keepwell"]
    ports = [free_port(), free_port()]
    log = (tmp_path / "processes.log").open("ab")
    processes = [
        subprocess.Popen([*keepwell, "serve", "--port", str(p)], env=env, stdout=log,
                         stderr=subprocess.STDOUT)
        for p in ports
    ] + [subprocess.Popen([*keepwell, "worker", "--interval", "6", "--poll", "1"], env=env,
                          stdout=log, stderr=subprocess.STDOUT)]  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        for port in ports:
            while True:
                assert time.monotonic() < deadline, (tmp_path / "processes.log").read_text()
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
        commands = []
        # at least 30 s, and on until a server's own scheduled cycle has finished: the
        # servers' cycles are due 4 s before the worker's, but a busy 2-core machine can
        # still let the worker or a CLI run take a slot first
        until, latest = time.monotonic() + 30, time.monotonic() + 240
        while time.monotonic() < until or (
            not server_cycle_finished(ws) and time.monotonic() < latest
        ):
            for args in (("run", "--as-of", AS_OF.isoformat()), ("ctas", "list"), ("status",)):
                done = subprocess.run([*keepwell, *args], env=env, capture_output=True,
                                      text=True, timeout=300, check=False)  # fmt: skip
                commands.append((args[0], done.returncode, done.stderr, done.stdout))
            ready = [httpx.get(f"http://127.0.0.1:{p}/readyz", timeout=30).status_code
                     for p in ports]  # fmt: skip
            assert ready == [200, 200]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(120)

    assert [c[:3] for c in commands if c[1] != 0] == []
    status = next(c[3] for c in commands if c[0] == "status")
    assert all(f":{p}" in status for p in ports), status  # both servers listed
    with ws.engine.connect() as conn:
        runs = conn.execute(sa.text(
            "SELECT holder, started_at, finished_at FROM success_cycle_runs ORDER BY started_at"
        )).all()  # fmt: skip
        ctas = Counter(conn.execute(sa.text("SELECT account_id, rule FROM success_ctas")).all())
        keys = Counter(conn.execute(sa.text("SELECT dedupe_key FROM notifications")).scalars())
    ws.close()
    finished = [r for r in runs if r.finished_at is not None]
    assert len(finished) >= 3, runs
    assert {r.holder.split(":")[0] for r in finished} >= {"serve"}, runs
    for earlier, later in itertools.pairwise(finished):
        assert later.started_at >= earlier.finished_at, (earlier, later)  # one at a time
    assert [k for k, n in ctas.items() if n > 1] == []
    assert [k for k, n in keys.items() if n > 1] == []
    assert ctas  # the cycles acted
