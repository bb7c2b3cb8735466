"""Which servers run on a workspace: a record per server, proven alive by a file lock.

``keepwell serve`` writes ``run/server-PORT.json`` in the workspace (pid, address,
start time, cycle schedule and a control token, readable by the owner only) and holds
an exclusive lock on ``run/server-PORT.lock`` for as long as it lives. The lock, not
the file, says whether the server runs: the operating system releases it when the
process ends however it ends, so a record left by a killed server is recognised as
stale and ignored (and replaced by the next server on that port).

Anyone who can read the workspace directory can read its SQLite database anyway, so
the control token grants nothing more than the directory already does.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from keepwell.core.errors import WorkspaceError

RUN_DIR = "run"


@dataclass(frozen=True)
class ServerRecord:
    """One running server: process id, where it listens, when it started (ISO UTC),
    its cycle schedule as configured and the token of its control endpoint."""

    pid: int
    host: str
    port: int
    started_at: str
    token: str
    cycle_every: float | None = None
    cycle_at: str | None = None

    @property
    def url(self) -> str:
        """Where a process on this machine reaches the server (a wildcard address
        becomes the loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"


class ServerClaim:
    """The lock and record of this process's server; :meth:`release` removes both."""

    def __init__(self, record: ServerRecord, lock: IO[bytes], path: Path) -> None:
        self.record = record
        self._lock: IO[bytes] | None = lock
        self._path = path

    def release(self) -> None:
        if self._lock is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()
        self._lock = None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def claim_server(root: Path, record: ServerRecord) -> ServerClaim:
    """Take the lock of ``record.port`` on the workspace at ``root`` and write the
    record; :class:`WorkspaceError` when a live server already holds that port's lock."""
    run = root / RUN_DIR
    run.mkdir(mode=0o700, exist_ok=True)
    lock = (run / f"server-{record.port}.lock").open("ab")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        other = _read(run / f"server-{record.port}.json")
        who = f" (pid {other.pid})" if other else ""
        raise WorkspaceError(
            f"a Keepwell server already runs on port {record.port} of this workspace{who}",
            hint="stop it first, or start this one with another --port",
        ) from None
    path = run / f"server-{record.port}.json"
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(record), out)
    temporary.replace(path)
    return ServerClaim(record, lock, path)


def running_servers(root: Path) -> list[ServerRecord]:
    """The servers alive on the workspace at ``root`` (stale records are skipped)."""
    run = root / RUN_DIR
    if not run.is_dir():
        return []
    alive = []
    for lock_path in sorted(run.glob("server-*.lock")):
        if _held(lock_path) and (record := _read(lock_path.with_suffix(".json"))) is not None:
            alive.append(record)
    return alive


def _held(lock_path: Path) -> bool:
    try:
        with lock_path.open("rb") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(lock, fcntl.LOCK_UN)
            return False
    except OSError:
        return False


def _read(path: Path) -> ServerRecord | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return ServerRecord(**data)
    except (OSError, ValueError, TypeError):
        return None
