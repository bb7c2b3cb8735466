"""The server's process model, piece by piece: its record in the workspace, the
commands it runs for other processes, /readyz, ``keepwell status`` and ``worker``
beside it, and the scheduled cycle (due, not due, interrupted and resumed)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from keepwell.cli import execute
from keepwell.core.errors import StoreError, WorkspaceError
from keepwell.core.schedule import CycleSchedule
from keepwell.core.server_record import ServerClaim, ServerRecord, claim_server, running_servers
from keepwell.core.settings import Settings, get_settings
from keepwell.core.warehouse import AnalyticsStore
from keepwell.core.workspace import Workspace
from keepwell.ingest import service as ingest_service
from keepwell.notify import service as notify_service
from keepwell.server.app import create_app
from keepwell.server.forward import CONTROL_PATH, TOKEN_HEADER, absolute_paths
from keepwell.server.runtime import (
    CycleInterrupted,
    CycleScheduler,
    ServerRuntime,
    cycle_holder,
)
from keepwell.success import service as success_service
from tests.cli_runner import run_cli
from tests.success.company import AS_OF, load_company
from tests.web.helpers import make_settings

EVERY_HOUR = CycleSchedule(every=timedelta(hours=1), at=())


def _record(port: int = 8123, token: str = "t0ken") -> ServerRecord:
    return ServerRecord(pid=os.getpid(), host="0.0.0.0", port=port, started_at="2026-01-01",
                        token=token, cycle_every=3600.0)  # fmt: skip


@pytest.fixture
def claimed(sqlite_workspace: Workspace) -> Iterator[ServerClaim]:
    claim = claim_server(sqlite_workspace.root, _record())
    yield claim
    claim.release()


def test_the_record_says_a_server_runs_until_it_is_released(sqlite_workspace: Workspace) -> None:
    root = sqlite_workspace.root
    claim = claim_server(root, _record())
    (alive,) = running_servers(root)
    assert (alive.pid, alive.url) == (os.getpid(), "http://127.0.0.1:8123")
    assert oct((root / "run" / "server-8123.json").stat().st_mode & 0o777) == "0o600"
    with pytest.raises(WorkspaceError, match=f"already runs on port 8123 .*pid {os.getpid()}"):
        claim_server(root, _record())
    claim.release()
    assert running_servers(root) == []


def test_a_record_left_by_a_killed_server_is_ignored(sqlite_workspace: Workspace) -> None:
    run = sqlite_workspace.root / "run"
    run.mkdir()
    (run / "server-9000.json").write_text(json.dumps(_record(9000).__dict__))
    (run / "server-9000.lock").touch()  # nobody holds it: the process is gone
    assert running_servers(sqlite_workspace.root) == []
    claim_server(sqlite_workspace.root, _record(9000)).release()  # and it is replaced


def test_paths_sent_to_the_server_are_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert absolute_paths(["import", "events", "in/ev.csv", "--rejects", "bad.csv"]) == [
        "import", "events", str(tmp_path / "in/ev.csv"), "--rejects", str(tmp_path / "bad.csv"),
    ]  # fmt: skip
    assert absolute_paths(["export", "scores", "--to", "db:scores"]) == [
        "export", "scores", "--to", "db:scores",
    ]  # fmt: skip
    assert absolute_paths(["export", "scores", "--to=s.parquet", "--as-of", "2025-01-01"]) == [
        "export", "scores", f"--to={tmp_path / 's.parquet'}", "--as-of", "2025-01-01",
    ]  # fmt: skip
    assert absolute_paths(["ctas", "list", "--owner", "a@b.com"])[3] == "a@b.com"


def test_worker_is_refused_in_one_line_beside_a_server(
    claimed: ServerClaim,
    sqlite_workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = run_cli(["worker", "--once"], sqlite_workspace.root, capsys, monkeypatch)
    assert result.code == 2
    assert result.err.splitlines()[0] == (
        f"error: this workspace's server (pid {os.getpid()}, http://127.0.0.1:8123) runs the "
        "cycle itself; a worker beside it is not needed"
    )


def test_status_shows_the_server_cycle_queue_and_stores(
    claimed: ServerClaim,
    sqlite_workspace: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    load_company(sqlite_workspace, tmp_path)
    success_service.run_cycle(sqlite_workspace, AS_OF, clock=lambda: datetime.now(UTC),
                              deliver=False)  # fmt: skip
    result = run_cli(["status"], sqlite_workspace.root, capsys, monkeypatch)
    assert result.code == 0, result.err
    lines = dict(line.split(None, 1) for line in result.out.splitlines() if line.strip())
    assert lines["server"].startswith(f"pid {os.getpid()} at http://127.0.0.1:8123")
    assert lines["schedule"] == "every 1 h"
    assert lines["last"].startswith(f"cycle    as of {AS_OF}")
    assert "finished" in lines["last"]
    assert "3 opened" in lines["last"]
    queue = notify_service.queue_counts(sqlite_workspace)
    assert lines["notifications"] == f"{queue['pending']} pending, 0 sending, 0 sent, 0 failed"
    assert queue["pending"] > 0
    assert "keepwell.db" in lines["database"]
    assert "MB" in lines["database"]
    assert "analytics.duckdb" in lines["analytics"]


def _runtime(ws: Workspace, claim: ServerClaim) -> ServerRuntime:
    off = CycleSchedule(every=None, at=())
    scheduler = CycleScheduler(ws.root, Settings(home=ws.root), off, "test-holder")
    return ServerRuntime(claim, scheduler, grace=5, command=execute)


def test_the_control_endpoint_runs_commands_for_its_token_only(
    claimed: ServerClaim,
    sqlite_workspace: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = sqlite_workspace
    load_company(ws, tmp_path)
    monkeypatch.setenv("KEEPWELL_HOME", str(ws.root))
    get_settings.cache_clear()
    app = create_app(ws, make_settings(), _runtime(ws, claimed))
    try:
        with TestClient(app) as http:
            ws.analytics()  # the server holds the store, as `keepwell serve` does
            argv = {"argv": ["score", "--as-of", AS_OF.isoformat(), "--format", "json"]}
            assert http.post(CONTROL_PATH, json=argv).status_code == 404
            wrong = http.post(CONTROL_PATH, json=argv, headers={TOKEN_HEADER: "nope"})
            assert wrong.status_code == 404
            answer = http.post(CONTROL_PATH, json=argv, headers={TOKEN_HEADER: "t0ken"}).json()
            assert answer["exit_code"] == 0, answer["stderr"]
            scored = json.loads(answer["stdout"])  # the command's own output, as JSON
            assert (scored["as_of"], scored["accounts"]) == (AS_OF.isoformat(), 2)
            bad = {"argv": ["ctas", "show", "999999"]}
            answer = http.post(CONTROL_PATH, json=bad, headers={TOKEN_HEADER: "t0ken"}).json()
            assert answer["exit_code"] == 2  # a user error: its line (and hint), as at home
            assert answer["stderr"].startswith("error: ")
            assert "Traceback" not in answer["stderr"]
            assert CONTROL_PATH not in http.get("/openapi.json").json()["paths"]
    finally:
        get_settings.cache_clear()


def test_readyz_checks_both_stores(sqlite_workspace: Workspace) -> None:
    with TestClient(create_app(sqlite_workspace, make_settings())) as http:
        ready = http.get("/readyz")
        assert (ready.status_code, ready.json()["database"], ready.json()["analytics"]) == (
            200, "ok", "ok",
        )  # fmt: skip
        sqlite_workspace.close()  # the analytics store is gone: a directory now
        sqlite_workspace.analytics_url = f"duckdb:///{sqlite_workspace.root}"
        broken = http.get("/readyz")
        assert (broken.status_code, broken.json()["database"]) == (503, "ok")
        assert "cannot open the analytics store" in broken.json()["analytics"]


def test_readyz_leaves_the_analytics_store_usable(sqlite_workspace: Workspace) -> None:
    """A readiness probe reads its row: DuckDB refused every later query on a connection
    with a pending result (each analytics read after a probe was a 500)."""
    with TestClient(create_app(sqlite_workspace, make_settings())) as http:
        assert http.get("/readyz").status_code == 200
    assert sqlite_workspace.analytics().events().count().execute() == 0


def _runs(ws: Workspace) -> list[tuple[str, object]]:
    with ws.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.text("SELECT holder, finished_at FROM success_cycle_runs ORDER BY id")
        )]  # fmt: skip


def _cta_keys(ws: Workspace) -> list[tuple[str, str]]:
    with ws.engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(
            sa.text("SELECT account_id, rule FROM success_ctas")
        ))  # fmt: skip


class _StopsMidCycle(CycleScheduler):
    """A scheduler whose server starts stopping after the cycle's first steps."""

    calls = 0

    def clock(self) -> datetime:
        self.calls += 1
        if self.calls == 4:  # tick's own, the lease, the run record, then: stop
            self.request_stop()
        return super().clock()


def test_a_cycle_stopped_mid_way_runs_again_on_the_next_start_without_doubling(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    ws = sqlite_workspace
    load_company(ws, tmp_path)
    holder = cycle_holder(ws.root, 8000)
    settings = Settings(home=ws.root)
    first = _StopsMidCycle(ws.root, settings, EVERY_HOUR, holder)
    with pytest.raises(CycleInterrupted):
        first.tick()
    assert [finished for _, finished in _runs(ws)] == [None]  # started, never finished
    assert success_service.cycle_state(ws)["lease_holder"] is None  # released on the way out
    cut_short = _cta_keys(ws)

    restarted = CycleScheduler(ws.root, settings, EVERY_HOUR, holder)
    assert restarted.tick() is True  # the unfinished cycle is due at once
    assert restarted.tick() is False  # and then not before an hour
    assert [finished is not None for _, finished in _runs(ws)] == [False, True]
    after = _cta_keys(ws)
    assert set(cut_short) <= set(after)
    assert len(after) == len(set(after))  # no CTA opened twice
    first.stop(1)
    restarted.stop(1)


def test_a_store_held_by_another_process_is_one_line_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "analytics.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,sys,time; c=duckdb.connect({str(path)!r}); "
         "print('held', flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreError) as caught:
            AnalyticsStore.open(f"duckdb:///{path}")
    finally:
        holder.kill()
        holder.wait()
    assert caught.value.message == (
        f"the analytics store {path} is in use by another process (pid {holder.pid})"
    )
    assert "keepwell status" in (caught.value.hint or "")


def test_a_batch_not_committed_within_the_wait_is_a_503_and_its_retry_is_stored_once(
    sqlite_workspace: Workspace,
) -> None:
    ws = sqlite_workspace
    key = ingest_service.add_source(ws, "web", now=datetime.now(UTC), actor="test")
    event = {"type": "track", "event": "login", "userId": "u", "messageId": "m-1",
             "context": {"groupId": "A"}, "timestamp": "2025-07-30T10:00:00Z"}  # fmt: skip
    batch = {"batch": [event]}
    app = create_app(ws, make_settings(ingest_wait_seconds=0.5))
    with TestClient(app, raise_server_exceptions=False) as http:
        with app.state.analytics_lock:  # the store busy (a long write) past the wait
            busy = http.post("/v1/batch", json=batch, auth=(key, ""))
        assert (busy.status_code, busy.json()["error"]["code"]) == (503, "saturated")
        again = http.post("/v1/batch", json=batch, auth=(key, ""))
        assert again.status_code == 200
    raw = ws.analytics().con.con
    assert raw.execute("SELECT count(*) FROM events").fetchall() == [(1,)]


def test_the_scheduled_cycle_runs_with_the_collector_paused(
    sqlite_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []

    def tick(*args: object, **kwargs: object) -> None:
        seen.append(gc.isenabled())

    monkeypatch.setattr(success_service, "scheduled_tick", tick)
    ws = sqlite_workspace
    scheduler = CycleScheduler(ws.root, Settings(home=ws.root), EVERY_HOUR, "test")
    assert scheduler.tick() is False  # the fake ran no cycle
    assert seen == [False]
    assert gc.isenabled()
