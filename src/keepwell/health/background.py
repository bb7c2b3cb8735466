"""Back-tests run in the background: one at a time per workspace, the latest kept while
the process runs, so a page can start one and show it when it is done."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from keepwell.core.errors import KeepwellError
from keepwell.health.backtest import BacktestReport

log = logging.getLogger("keepwell.health")


@dataclass
class BacktestRun:
    """The back-test of one workspace: running (since ``started``), done or failed."""

    started: datetime
    data_end: date | None = None
    report: BacktestReport | None = None
    error: str | None = None

    @property
    def running(self) -> bool:
        return self.report is None and self.error is None


_runs: dict[tuple[str, str], BacktestRun] = {}
_lock = threading.Lock()


def latest_run(key: tuple[str, str]) -> BacktestRun | None:
    """The latest back-test of the workspace named ``key`` in this process."""
    with _lock:
        return _runs.get(key)


def start_run(
    key: tuple[str, str], started: datetime, work: Callable[[], tuple[date, BacktestReport]]
) -> BacktestRun:
    """Run ``work`` (which returns the data's end and the report) in a thread, unless a
    run of ``key`` is going already; returns the run going on."""
    with _lock:
        current = _runs.get(key)
        if current is not None and current.running:
            return current
        run = _runs[key] = BacktestRun(started=started)
    threading.Thread(target=_run, args=(run, work), daemon=True).start()
    return run


def _run(run: BacktestRun, work: Callable[[], tuple[date, BacktestReport]]) -> None:
    try:
        run.data_end, run.report = work()
    except KeepwellError as exc:
        run.error = exc.message
    except Exception as exc:  # a thread must not die silently: the page shows it
        log.exception("health back-test failed", exc_info=exc)
        run.error = "the back-test failed; the error has been logged"
