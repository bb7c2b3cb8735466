"""The cycle's lease: renewed by a heartbeat while a cycle runs, taken over soon after
its holder stops renewing; a cycle killed with SIGKILL mid-delivery is followed by one
that starts within seconds and sends nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from keepwell.core.errors import ConfigurationError
from keepwell.core.workspace import Workspace
from keepwell.success.cycle import acquire_lease, cycle_settings, heartbeat, renew_lease
from tests.conftest import make_workspace
from tests.notify.receivers import http_server, smtp_server
from tests.success.company import AS_OF, OWNER_A, OWNER_B, load_company


def _wall() -> datetime:
    return datetime.now(UTC)


def test_the_heartbeat_keeps_the_lease_and_a_silent_holder_loses_it(
    sqlite_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = sqlite_workspace
    monkeypatch.setenv("KEEPWELL_CYCLE_LEASE_SECONDS", "0.6")
    monkeypatch.setenv("KEEPWELL_CYCLE_HEARTBEAT_SECONDS", "0.15")
    assert acquire_lease(ws, "alive", _wall())
    with heartbeat(ws, "alive", _wall) as beat:
        time.sleep(1.5)  # more than twice the lease: only the heartbeat keeps it
        assert not acquire_lease(ws, "other", _wall())
    assert beat.renewals >= 3
    assert not beat.lost
    # "alive" stops renewing (as a killed process would): taken over within the lease
    started = time.monotonic()
    while not acquire_lease(ws, "other", _wall()):
        assert time.monotonic() - started < 5, "the silent holder kept the lease"
        time.sleep(0.05)
    assert time.monotonic() - started <= 0.6 + 0.3
    assert not renew_lease(ws, "alive", _wall())  # and cannot renew it any more


def test_a_heartbeat_that_finds_its_lease_taken_stops_and_says_so(
    sqlite_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = sqlite_workspace
    monkeypatch.setenv("KEEPWELL_CYCLE_LEASE_SECONDS", "0.6")
    monkeypatch.setenv("KEEPWELL_CYCLE_HEARTBEAT_SECONDS", "0.1")
    assert acquire_lease(ws, "slow", _wall())
    with heartbeat(ws, "slow", _wall) as beat:
        with ws.engine.begin() as conn:  # as if "slow" froze and "fast" took over
            conn.execute(sa.text("UPDATE success_leases SET holder = 'fast'"))
        time.sleep(0.5)
    assert beat.lost
    with ws.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT holder FROM success_leases")).scalar() == "fast"


def test_the_cycle_reports_the_time_of_each_step(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    from keepwell.success import service

    load_company(sqlite_workspace, tmp_path)
    report = service.run_cycle(sqlite_workspace, AS_OF, clock=_wall, deliver=False)
    assert list(report.seconds) == ["scoring", "rules", "actions"]
    assert list(report.cpu_seconds) == list(report.seconds)
    assert all(v >= 0 for v in [*report.seconds.values(), *report.cpu_seconds.values()])
    assert report.opened == 3


def test_lease_settings_must_leave_room_for_late_beats(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEPWELL_CYCLE_LEASE_SECONDS", "10")
    monkeypatch.setenv("KEEPWELL_CYCLE_HEARTBEAT_SECONDS", "5")
    with pytest.raises(ConfigurationError, match="at most a third"):
        cycle_settings()
    monkeypatch.setenv("KEEPWELL_CYCLE_HEARTBEAT_SECONDS", "-1")
    with pytest.raises(ConfigurationError, match="greater than 0"):
        cycle_settings()


@pytest.mark.slow
def test_a_cycle_killed_mid_delivery_is_followed_within_seconds_and_nothing_twice(
    tmp_path: Path,
) -> None:
    root = tmp_path / "ws"
    ws = make_workspace(root)
    load_company(ws, tmp_path)
    ws.close()
    arrived, killed = threading.Event(), threading.Event()
    first = [True]

    def accept() -> bool:
        """The first email reaches the server, which holds its answer until the cycle
        is killed: that email was never accepted, the rest are accepted normally."""
        if first[0]:
            first[0] = False
            arrived.set()
            killed.wait(60)
            return False
        return True

    with smtp_server() as smtp, http_server() as receiver:
        smtp.before_accept = accept
        env = {
            **os.environ, "KEEPWELL_HOME": str(root),
            "KEEPWELL_SMTP_HOST": "127.0.0.1", "KEEPWELL_SMTP_PORT": str(smtp.port),
            "KEEPWELL_WEBHOOK_URL": f"{receiver.url}/hook",
            "KEEPWELL_SLACK_WEBHOOK_URL": f"{receiver.url}/slack",
            "KEEPWELL_CYCLE_LEASE_SECONDS": "3", "KEEPWELL_CYCLE_HEARTBEAT_SECONDS": "1",
            "KEEPWELL_CLAIM_LEASE_SECONDS": "2",
        }  # fmt: skip
        env.pop("KEEPWELL_DATABASE_URL", None)
        command = [sys.executable, "-m", "keepwell", "run", "--as-of", AS_OF.isoformat()]
        doomed = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert arrived.wait(120), "the first cycle never reached delivery"
        finally:
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(30)
            killed_at = _wall()
            killed.set()
        assert doomed.returncode == -signal.SIGKILL
        assert smtp.messages == []
        nxt = subprocess.run(command, env=env, capture_output=True, timeout=120)
        assert nxt.returncode == 0, nxt.stderr.decode()
        mails = Counter(str(m["X-Keepwell-Dedupe-Key"]) for m in smtp.messages)
        received = Counter(str(m["To"]) for m in smtp.messages)
    engine = sa.create_engine(f"sqlite:///{root / 'keepwell.db'}")
    with engine.connect() as conn:
        runs = conn.execute(
            sa.text("SELECT started_at, finished_at FROM success_cycle_runs ORDER BY id")
        ).all()
        keys = conn.execute(sa.text("SELECT dedupe_key, status FROM notifications")).all()
        ctas = conn.execute(sa.text("SELECT count(*), count(DISTINCT open_key) FROM success_ctas"))
        cta_counts = tuple(ctas.one())
    engine.dispose()
    assert len(runs) == 2
    assert runs[0][1] is None  # the killed cycle never finished
    started = datetime.fromisoformat(str(runs[1][0])).replace(tzinfo=UTC)
    assert (started - killed_at).total_seconds() < 60
    assert cta_counts == (3, 3)
    assert {status for _, status in keys} == {"sent"}
    assert mails == Counter({key: 1 for key, _ in keys})  # every email once, none twice
    assert received == {OWNER_A: 1, OWNER_B: 1, "ad@beta.example": 1,
                        "ad2@beta.example": 1}  # fmt: skip
