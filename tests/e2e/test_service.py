"""The embedded default run as a service: ``keepwell serve`` (a real process) with its
scheduled cycle, browsed, tracked into and driven from the CLI at the same time, then
stopped with SIGTERM in the middle of a cycle and started again.

What must hold: every CLI command exits 0 (the store commands run through the server),
no page answers 5xx, every event the tracking API acknowledged is stored exactly once,
no CTA is opened twice and no email is sent twice (a real SMTP receiver counts them),
and a cycle cut short by SIGTERM runs again on the next start without duplicating
anything.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from keepwell.auth import service as auth_service
from keepwell.core.workspace import Workspace
from keepwell.ingest import service as ingest_service
from tests.conftest import make_workspace
from tests.factories import write_rows
from tests.notify.receivers import SmtpSink, free_port, smtp_server
from tests.success.company import AS_OF, load_company

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery staple"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
#: How long the load runs at once (the issue asks for at least 60 s).
LOAD_SECONDS = 60.0


@dataclass
class Service:
    home: Path
    port: int
    env: dict[str, str]
    write_key: str
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "keepwell", "serve", "--port", str(self.port)],
            env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"server not ready in 120 s:\n{self.log.read_text()}")

    def stop(self, timeout: float = 120) -> None:
        """SIGTERM, then the server shuts down gracefully (Uvicorn re-raises the signal
        once done, so the exit status is -SIGTERM, which systemd and Docker take for a
        clean stop)."""
        assert self.process is not None
        pid = self.process.pid
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self.process = None
        assert code in (0, -signal.SIGTERM), code
        assert f"Finished server process [{pid}]" in self.log.read_text()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "keepwell", *args], env=self.env, capture_output=True,
            text=True, timeout=300, check=False,
        )  # fmt: skip


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[Service, SmtpSink]]:
    home = tmp_path / "ws"
    ws = make_workspace(home)
    load_company(ws, tmp_path)
    auth_service.add_user(ws, "boss@example.com", "admin", password=PASSWORD, now=NOW,
                          actor="test")  # fmt: skip
    write_key = ingest_service.add_source(ws, "web", now=NOW, actor="test")
    ws.close()
    with smtp_server() as sink:
        env = {
            **os.environ,
            "KEEPWELL_HOME": str(home),
            "KEEPWELL_CYCLE_EVERY": "4",
            "KEEPWELL_COOKIE_SECURE": "false",
            "KEEPWELL_SMTP_HOST": "127.0.0.1",
            "KEEPWELL_SMTP_PORT": str(sink.port),
            "KEEPWELL_SHUTDOWN_GRACE": "30",
        }
        env.pop("KEEPWELL_DATABASE_URL", None)
        env.pop("KEEPWELL_ANALYTICS_URL", None)
        svc = Service(home, free_port(), env, write_key, tmp_path / "server.log")
        try:
            yield svc, sink
        finally:
            if svc.process is not None:
                svc.process.kill()
                svc.process.wait()


@dataclass
class Load:
    """What the clients did and saw."""

    accepted: set[str] = field(default_factory=set)
    refused: int = 0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    commands: list[tuple[str, int, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _track(svc: Service, load: Load, stop: threading.Event) -> None:
    with httpx.Client(auth=(svc.write_key, ""), timeout=30) as http:
        while not stop.is_set():
            ids = [uuid.uuid4().hex for _ in range(20)]
            batch = [{"type": "track", "event": "login", "userId": f"u{i % 3}", "messageId": m,
                      "context": {"groupId": "A"}, "timestamp": "2025-07-30T10:00:00Z"}
                     for i, m in enumerate(ids)]  # fmt: skip
            try:
                answer = http.post(f"{svc.base}/v1/batch", json={"batch": batch})
            except httpx.HTTPError as exc:
                load.errors.append(f"batch: {exc!r}")
                continue
            if answer.status_code == 200:
                load.accepted.update(ids)
            else:
                load.refused += 1
                load.statuses[("/v1/batch", answer.status_code)] += 1
            time.sleep(0.05)


def _browse(svc: Service, load: Load, stop: threading.Event) -> None:
    with httpx.Client(base_url=svc.base, timeout=60) as http:
        form = http.get("/login").text
        csrf = form.split('name="csrf_token" value="')[1].split('"')[0]
        signed = http.post("/login", data={"email": "boss@example.com", "password": PASSWORD,
                                           "csrf_token": csrf})  # fmt: skip
        assert signed.status_code in (200, 303), signed.text
        while not stop.is_set():
            for page in ("/", "/accounts", "/accounts/A", "/accounts/B"):
                try:
                    answer = http.get(page)
                except httpx.HTTPError as exc:
                    load.errors.append(f"{page}: {exc!r}")
                    continue
                load.statuses[(page, answer.status_code)] += 1


def _commands(svc: Service, load: Load, stop: threading.Event, tmp: Path) -> None:
    n = 0
    while not stop.is_set() or n == 0:
        n += 1
        ids = [f"imp-{n}-{i}" for i in range(5)]
        events = write_rows(tmp / f"events-{n}.csv", [
            {"timestamp": "2025-07-29T09:00:00Z", "account_id": "B", "user_id": "imp",
             "event": "export", "message_id": m} for m in ids
        ])  # fmt: skip
        for args in (
            ("score", "--as-of", AS_OF.isoformat()),
            ("run", "--as-of", AS_OF.isoformat()),
            ("import", "events", str(events)),
            ("ctas", "list", "--status", "all", "--format", "json"),
        ):
            done = svc.cli(*args)
            load.commands.append((" ".join(args), done.returncode, done.stderr))
            if args[0] == "import" and done.returncode == 0:
                load.accepted.update(ids)


def _run_load(svc: Service, tmp: Path, seconds: float) -> Load:
    load, stop = Load(), threading.Event()
    workers = [
        threading.Thread(target=_track, args=(svc, load, stop)),
        threading.Thread(target=_browse, args=(svc, load, stop)),
        threading.Thread(target=_commands, args=(svc, load, stop, tmp)),
    ]
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join(600)
    return load


def _stored(home: Path) -> dict[str, Any]:
    """Counts read straight from the stores (the server stopped)."""
    ws = Workspace.at(home)
    try:
        raw = ws.analytics().con.con
        events, distinct = raw.execute(
            "SELECT count(*), count(DISTINCT message_id) FROM events"
        ).fetchall()[0]
        ids = {row[0] for row in raw.execute("SELECT message_id FROM events").fetchall()}
        with ws.engine.connect() as conn:
            ctas = conn.execute(sa.text("SELECT account_id, rule FROM success_ctas")).all()
            keys = conn.execute(sa.text("SELECT dedupe_key FROM notifications")).scalars().all()
            runs = conn.execute(
                sa.text("SELECT holder, finished_at FROM success_cycle_runs ORDER BY id")
            ).all()
    finally:
        ws.close()
    return {"events": events, "distinct": distinct, "ids": ids, "ctas": Counter(ctas),
            "notifications": Counter(keys), "runs": runs}  # fmt: skip


def _served_cycles(runs: list[Any]) -> list[Any]:
    return [r for r in runs if str(r[0]).startswith("serve:")]


def _assert_nothing_lost_or_doubled(
    load: Load, stored: dict[str, Any], sink: SmtpSink, *, server_stopped: bool = False
) -> None:
    errors = load.errors
    if server_stopped:  # batches sent while the server stopped: never acknowledged
        cut = ("ConnectError", "RemoteProtocolError", "ReadError", "WriteError")
        errors = [e for e in errors if not any(name in e for name in cut)]
    assert not errors, errors[:5]
    assert [c for c in load.commands if c[1] != 0] == []
    assert all("Traceback" not in c[2] and "internal error" not in c[2] for c in load.commands)
    assert {key: n for key, n in load.statuses.items() if key[1] >= 500} == {}
    assert load.accepted <= stored["ids"]  # every acknowledged event is stored...
    assert stored["events"] == stored["distinct"]  # ...exactly once
    assert [k for k, n in stored["ctas"].items() if n > 1] == []  # no CTA opened twice
    assert [k for k, n in stored["notifications"].items() if n > 1] == []
    sent = Counter(m["X-Keepwell-Dedupe-Key"] for m in sink.messages)
    assert [k for k, n in sent.items() if n > 1] == []  # no email sent twice


def test_server_cycle_cli_pages_and_tracking_together(
    service: tuple[Service, SmtpSink], tmp_path: Path
) -> None:
    svc, sink = service
    svc.start()
    load = _run_load(svc, tmp_path, LOAD_SECONDS)
    status = svc.cli("status", "--format", "json")
    svc.stop()
    assert status.returncode == 0, status.stderr
    assert '"pid": ' in status.stdout
    assert str(svc.port) in status.stdout

    stored = _stored(svc.home)
    _assert_nothing_lost_or_doubled(load, stored, sink)
    commands = Counter(c[0].split()[0] for c in load.commands)
    assert {"score", "run", "import", "ctas"} <= set(commands), commands
    assert load.statuses[("/accounts/A", 200)] > 0
    assert load.statuses[("/", 200)] > 0
    assert len(load.accepted) > 100
    served = _served_cycles(stored["runs"])
    assert len([r for r in served if r[1] is not None]) >= 2, stored["runs"]  # on schedule
    assert stored["ctas"]
    assert sink.messages


def test_sigterm_mid_cycle_then_restart_loses_and_doubles_nothing(
    service: tuple[Service, SmtpSink], tmp_path: Path
) -> None:
    svc, sink = service
    svc.env["KEEPWELL_CYCLE_EVERY"] = "1"
    svc.start()
    load, stop = Load(), threading.Event()
    tracker = threading.Thread(target=_track, args=(svc, load, stop))
    tracker.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait for a cycle in progress, then SIGTERM
        ready = httpx.get(f"{svc.base}/readyz", timeout=10).json()
        if ready.get("cycle_running"):
            break
        time.sleep(0.05)
    else:
        raise AssertionError("no cycle seen running within 60 s")
    started = time.monotonic()
    svc.stop()
    stopped_in = time.monotonic() - started
    stop.set()
    tracker.join(60)
    before = _stored(svc.home)
    assert load.accepted <= before["ids"]  # acknowledged before the stop: stored

    svc.env["KEEPWELL_CYCLE_EVERY"] = "3600"  # only the cycle due at start: the resumed one
    svc.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = svc.cli("status", "--format", "json")
        if '"last_outcome": "finished"' in state.stdout:
            break
        time.sleep(1)
    svc.stop()
    after = _stored(svc.home)

    assert stopped_in < 30, stopped_in  # the cycle stopped at a safe point, not after grace
    assert after["events"] == before["events"]  # nothing arrived, nothing lost
    _assert_nothing_lost_or_doubled(load, after, sink, server_stopped=True)
    assert set(before["ctas"]) <= set(after["ctas"])
    assert set(before["notifications"]) <= set(after["notifications"])
    assert _served_cycles(after["runs"])[-1][1] is not None  # the last cycle finished
