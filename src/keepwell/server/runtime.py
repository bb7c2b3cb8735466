"""What ``keepwell serve`` runs beside its routes: the scheduled cycle and the CLI
commands it runs for other processes (docs/deployment.md, "Process model").

On the embedded default the server's process owns the DuckDB file (DuckDB lets one
process open a file for writing). Inside that process every user gets a connection of
its own to the one database instance (DuckDB shares it among the connections of a
process), so the cycle and the commands read while the tracking API appends:

- :class:`CycleScheduler`, a thread, runs the cycle when it is due
  (:func:`keepwell.core.schedule.next_run`, from the last cycle finished as recorded
  in the store, under the cycle's lease, so workers and other servers agree), and
  delivers due notification retries in between. Its clock raises
  :class:`CycleInterrupted` once the server is stopping: the cycle stops at its next
  step, the step's transaction is rolled back, the lease is released, and the next
  server's scheduler finds the cycle unfinished and runs it again (CTAs and emails
  carry unique keys, so what the first run did is not done twice).
- :class:`CommandRunner` runs a CLI command (``keepwell run``, ``score``, ``import``,
  ...) sent by a ``keepwell`` process of the same workspace, one at a time, with its
  output captured; commands that write events or the rollup hold the event writer's
  lock, so tracked batches wait for them instead of conflicting.

Both run with Python's cyclic garbage collector paused (:func:`keepwell.core.heap.paused`):
a cycle at 50,000 accounts holds millions of small objects at once, and each full
collection, which walks them all while every other thread of the process waits,
stopped the tracking API for up to 1.5 s (``bench/bench_server.py --stalls``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.responses import JSONResponse

from keepwell.core import heap
from keepwell.core.database import check_connection
from keepwell.core.errors import KeepwellError
from keepwell.core.schedule import CycleSchedule, next_run
from keepwell.core.server_record import ServerClaim, running_servers
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace
from keepwell.notify import service as notify_service
from keepwell.portfolio import service as portfolio_service
from keepwell.success import service as success_service
from keepwell.voice import service as voice_service

log = logging.getLogger("keepwell.server")

#: Seconds between the scheduler's looks at the store (is a cycle due?).
POLL_SECONDS = 1.0
#: How much lower the cycle thread's CPU priority is than the requests' (nice value).
CYCLE_NICENESS = 10
#: Seconds before the scheduler tries again after a failed cycle (at most the interval).
RETRY_SECONDS = 300.0
#: Seconds ``/readyz`` waits for a write holding the analytics store.
READY_WAIT_SECONDS = 2.0
#: Seconds between deliveries of due notification retries when no cycle runs.
DELIVERY_SECONDS = 30.0


class CycleInterrupted(BaseException):
    """Raised by the scheduler's clock inside a cycle once the server is stopping.

    A ``BaseException``, so that no ``except Exception`` inside the cycle takes it for a
    failure of one step and goes on."""


def cycle_holder(root: Path, port: int) -> str:
    """The server's name in the cycle lease: the same after a restart on this host,
    port and workspace, so a restarted server takes over a lease its predecessor
    could not release (killed) instead of waiting for it to expire."""
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    return f"serve:{socket.gethostname()[:64]}:{port}:{digest}"


@dataclass
class CycleOutcome:
    """The last cycle this scheduler ran or tried: when, and how it ended."""

    at: datetime
    outcome: str  # finished | interrupted | failed: MESSAGE


class CycleScheduler:
    """A thread that runs the workspace's cycle on ``schedule``."""

    def __init__(
        self,
        root: Path,
        settings: Settings,
        schedule: CycleSchedule,
        holder: str,
        *,
        poll: float = POLL_SECONDS,
    ) -> None:
        self.schedule = schedule
        self.holder = holder
        self.last: CycleOutcome | None = None
        self._workspace = Workspace.at(root, settings)
        self._settings = settings
        self._poll = poll
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._running = threading.Event()
        self._not_before = 0.0  # monotonic; after a failed cycle, wait before the next try
        self._ticking: threading.Thread | None = None  # the thread running tick()

    @property
    def running(self) -> bool:
        """Whether a cycle runs in this scheduler now."""
        return self._running.is_set()

    def start(self) -> None:
        if not self.schedule.enabled:
            log.info("scheduled cycle off (KEEPWELL_CYCLE_EVERY / KEEPWELL_CYCLE_AT)")
            return
        log.info("scheduled cycle %s", self.schedule.describe())
        self._thread = threading.Thread(target=self._loop, name="keepwell-cycle", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask a running cycle to stop at its next step; start no other."""
        self._stopping.set()

    def stop(self, grace: float) -> bool:
        """Ask a running cycle to stop at its next step and wait up to ``grace``
        seconds for it; whether the thread ended."""
        self._stopping.set()
        if self._thread is None:
            return True
        self._thread.join(grace)
        ended = not self._thread.is_alive()
        if not ended:
            log.warning("the cycle did not reach a safe point within %.0f s", grace)
        self._workspace.close()
        return ended

    def clock(self) -> datetime:
        """The wall clock, or, in the thread running :meth:`tick` once the server stops,
        :class:`CycleInterrupted` (other threads of the cycle, such as its lease's
        heartbeat, read the time as usual and end with it)."""
        if self._stopping.is_set() and threading.current_thread() is self._ticking:
            raise CycleInterrupted
        return datetime.now(UTC)

    def next_due(self, last_finished: datetime | None, now: datetime) -> datetime:
        return next_run(self.schedule, last_finished, now)

    def _loop(self) -> None:
        with contextlib.suppress(OSError, AttributeError):  # Linux: per thread; else no-op
            # the cycle yields the CPU to requests (the tracking API) when both want it
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CYCLE_NICENESS)
        delivered = 0.0
        while not self._stopping.is_set():
            try:
                ran = self.tick()
                if not ran and time.monotonic() - delivered > DELIVERY_SECONDS:
                    delivered = time.monotonic()
                    notify_service.deliver_pending(self._workspace, now=self.clock())
            except CycleInterrupted:
                break
            except Exception as exc:  # the scheduler outlives a failed look at the store
                log.warning("scheduler: %s: %s", type(exc).__name__, exc)
            self._stopping.wait(self._poll)

    def tick(self) -> bool:
        """Run the cycle if it is due and the lease is free; whether one ran. After a
        failed cycle the next try waits :data:`RETRY_SECONDS` (or the interval)."""
        if time.monotonic() < self._not_before:
            return False
        self._ticking = threading.current_thread()
        now = self.clock()
        as_of = self.today(now)
        self._running.set()
        try:
            with heap.paused():
                report = success_service.scheduled_tick(
                    self._workspace, as_of=as_of, clock=self.clock, holder=self.holder,
                    is_due=lambda last: self.next_due(last, now) <= now,
                )  # fmt: skip
        except CycleInterrupted:
            self.last = CycleOutcome(datetime.now(UTC), "interrupted")
            log.warning("cycle as of %s interrupted by the shutdown; it runs again next start",
                        as_of)  # fmt: skip
            raise
        except KeepwellError as exc:
            self._failed(f"failed: {exc}")
            log.warning("cycle as of %s failed: %s", as_of, exc)
            return False
        except Exception as exc:
            self._failed(f"failed: {type(exc).__name__}: {exc}")
            log.exception("cycle as of %s failed", as_of)
            return False
        finally:
            self._running.clear()
        if report is None:
            return False
        self._queue_surveys(as_of)
        self.last = CycleOutcome(datetime.now(UTC), "finished")
        self.changed()
        log.info("cycle as of %s: %d accounts, %d CTAs opened, %d emails", as_of,
                 report.accounts, report.opened, report.tech_touch_emails)  # fmt: skip
        return True

    def changed(self) -> None:
        """The stores changed (a cycle or a command): the pages' kept directories and
        figures are dropped, so the next request shows the new scores and rows."""
        portfolio_service.forget(self._workspace)

    def _queue_surveys(self, as_of: date) -> None:
        """After a cycle, queue the survey emails due that day (delivered by the next
        cycle); a failure is logged, the cycle stands."""
        try:
            queued = voice_service.run_campaigns(self._workspace, as_of, self._settings)
        except KeepwellError as exc:
            log.warning("surveys as of %s not queued: %s", as_of, exc)
            return
        finally:
            self._workspace.close()
        if queued["queued"]:
            log.info("surveys as of %s: %d emails queued", as_of, queued["queued"])

    def _failed(self, outcome: str) -> None:
        self.last = CycleOutcome(datetime.now(UTC), outcome)
        wait = RETRY_SECONDS
        if self.schedule.every is not None:
            wait = min(wait, self.schedule.every.total_seconds())
        self._not_before = time.monotonic() + wait

    def today(self, now: datetime) -> date:
        """The cycle's ``as_of``: the day of ``now`` in the workspace's time zone."""
        return now.astimezone(ZoneInfo(self.schedule.timezone)).date()


#: Forwarded commands that change no store (the pages keep what they computed).
READS_ONLY = frozenset({"export", "qbr"})
#: Commands that write events or the rollup: run holding the event writer's lock.
WRITES_EVENTS = frozenset({"import", "events", "settings"})


@dataclass(frozen=True)
class CommandResult:
    exit_code: int
    stdout: str
    stderr: str


class CommandRunner:
    """Runs CLI commands for other ``keepwell`` processes, one at a time."""

    def __init__(
        self,
        main: Callable[[list[str]], int],
        writer_lock: contextlib.AbstractContextManager[bool],
        reopen: Callable[[], None] = lambda: None,
        changed: Callable[[], None] = lambda: None,
    ) -> None:
        self._main = main
        self._writer_lock = writer_lock
        self._reopen = reopen  # after `settings`: the server's stores reread the time zone
        self._changed = changed  # after a command that writes: pages drop what they kept
        self._one = threading.Lock()
        self._idle = threading.Condition()
        self._busy = 0
        self._stopping = False

    def run(self, argv: Sequence[str]) -> CommandResult:
        """Run ``keepwell ARGV`` here; stdout and stderr captured, stdin empty."""
        with self._idle:
            if self._stopping:
                return CommandResult(75, "", "error: the server is stopping; run it again "
                                     "once it is back (or stopped)\n")  # fmt: skip
            self._busy += 1
        try:
            with self._one:
                return self._run(list(argv))
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def _run(self, argv: list[str]) -> CommandResult:
        stdout, stderr = io.StringIO(), io.StringIO()
        lock = self._writer_lock if argv and argv[0] in WRITES_EVENTS else contextlib.nullcontext()
        saved_stdin = sys.stdin
        sys.stdin = io.StringIO("")
        try:
            with (
                lock,
                heap.paused(),
                contextlib.redirect_stdout(stdout),
                contextlib.redirect_stderr(stderr),
            ):
                code = self._main(argv)
                if argv[0] == "settings":
                    self._reopen()
                if argv[0] not in READS_ONLY:
                    self._changed()
        finally:
            sys.stdin = saved_stdin
        return CommandResult(code, stdout.getvalue(), stderr.getvalue())

    def stop(self, grace: float) -> bool:
        """Refuse new commands; wait up to ``grace`` seconds for those running."""
        deadline = time.monotonic() + grace
        with self._idle:
            self._stopping = True
            while self._busy and (left := deadline - time.monotonic()) > 0:
                self._idle.wait(left)
            return self._busy == 0


class ServerRuntime:
    """The server's record, scheduler and command runner, started and stopped with
    the app (its lifespan)."""

    def __init__(
        self,
        claim: ServerClaim,
        scheduler: CycleScheduler,
        *,
        grace: float,
        command: Callable[[list[str]], int],
    ) -> None:
        self.claim = claim
        self.scheduler = scheduler
        self.grace = grace
        self.runner: CommandRunner | None = None
        self._command = command  # the CLI's entry point (keepwell.cli.execute)

    def start(
        self,
        writer_lock: contextlib.AbstractContextManager[bool],
        reopen: Callable[[], None] = lambda: None,
    ) -> None:
        """Start the scheduler and take commands; ``writer_lock`` guards the server's
        analytics connection, ``reopen`` makes the server reopen its stores."""
        self.runner = CommandRunner(self._command, writer_lock, reopen, self.scheduler.changed)
        self.scheduler.start()

    def stop(self) -> None:
        """Stop taking commands, stop the cycle at a safe point, release the record.
        Each waits up to the grace period."""
        deadline = time.monotonic() + self.grace
        self.scheduler.request_stop()  # both stop at once; together they get the grace
        if self.runner is not None:
            self.runner.stop(self.grace)
        self.scheduler.stop(max(0.0, deadline - time.monotonic()))
        self.claim.release()


def readiness(app: Any) -> JSONResponse:
    """``/readyz``: the operational database and the analytics store each answer a
    trivial query (the analytics one waits up to :data:`READY_WAIT_SECONDS` for a
    write in progress; a store still busy after that is reported reachable but busy)."""
    workspace: Workspace = app.state.workspace
    checks: dict[str, str] = {}
    try:
        check_connection(workspace.engine)
        checks["database"] = "ok"
    except KeepwellError as exc:
        checks["database"] = exc.message
    lock = app.state.analytics_lock
    if lock.acquire(timeout=READY_WAIT_SECONDS):
        try:
            backend = workspace.analytics().con
            result = backend.raw_sql("SELECT 1")
            # read the row: DuckDB hands back its connection with the result pending, and
            # refuses every later query on it until that result is fetched
            if hasattr(result, "fetchall"):
                result.fetchall()
            # a cursor of its own is closed (PostgreSQL)
            if result is not getattr(backend, "con", None) and hasattr(result, "close"):
                result.close()
            checks["analytics"] = "ok"
        except KeepwellError as exc:
            checks["analytics"] = exc.message
        except Exception as exc:  # an engine's own error: not ready, say why
            checks["analytics"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        finally:
            lock.release()
    else:
        checks["analytics"] = "busy"
    ready = all(value in ("ok", "busy") for value in checks.values())
    runtime: ServerRuntime | None = app.state.runtime
    body: dict[str, Any] = {"status": "ready" if ready else "not ready", **checks}
    if runtime is not None:
        body["cycle"] = runtime.scheduler.schedule.describe()
        body["cycle_running"] = runtime.scheduler.running
    return JSONResponse(body, status_code=200 if ready else 503)


def workspace_status(workspace: Workspace, settings: Settings, now: datetime) -> dict[str, Any]:
    """What runs where on ``workspace``, for ``keepwell status``: the servers alive
    (pid, address, schedule), the last cycle and its outcome, when the next one is
    due, the notification queue by status and the stores with their sizes."""
    servers = running_servers(workspace.root)
    state = success_service.cycle_state(workspace)
    last, done = state["last"], state["last_finished"]
    if last is None:
        outcome = "never ran"
    elif last["finished_at"] is not None:
        outcome = "finished"
    elif state["lease_holder"] == last["holder"]:
        outcome = "running"
    else:
        outcome = "unfinished (failed or interrupted; the next cycle runs it again)"
    timezone = workspace.setting("timezone")
    if servers:
        record = servers[0]
        every = str(record.cycle_every) if record.cycle_every else None
        schedule = Settings(cycle_every=every, cycle_at=record.cycle_at or "off")
    else:
        schedule = settings
    plan = schedule.cycle_schedule(timezone)
    next_at: datetime | None = None
    if plan.enabled and servers:
        next_at = max(next_run(plan, done["finished_at"] if done else None, now), now)
    return {
        "servers": [{"pid": s.pid, "url": s.url, "started_at": s.started_at} for s in servers],
        "schedule": plan.describe() if servers else f"{plan.describe()} (when a server runs)",
        "last_cycle": last,
        "last_outcome": outcome,
        "next_cycle": next_at,
        "notifications": notify_service.queue_counts(workspace),
        "stores": store_sizes(workspace),
    }


def store_sizes(workspace: Workspace) -> list[dict[str, Any]]:
    """Each store: what it is, where, and its size on disk in bytes (files only)."""
    stores = []
    for name, url in (("database", workspace.database_url), ("analytics", workspace.analytics_url)):
        path = _file_of(url)
        size = None
        if path is not None:
            size = sum(p.stat().st_size for p in _with_logs(path) if p.exists())
        stores.append({"store": name, "location": str(path) if path else _redacted(url),
                       "bytes": size})  # fmt: skip
    return stores


def _file_of(url: str) -> Path | None:
    for prefix in ("sqlite:///", "duckdb:///"):
        if url.startswith(prefix) and len(url) > len(prefix):
            return Path(url.removeprefix(prefix))
    return None


def _with_logs(path: Path) -> list[Path]:
    return [path, *(path.with_name(path.name + s) for s in (".wal", "-wal", "-shm"))]


def _redacted(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)
