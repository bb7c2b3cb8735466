"""The event writer: one thread that appends event batches to the analytics store.

Requests hand their batch to :meth:`EventWriter.submit` and wait on the returned
future; the writer drains every waiting batch, appends them in one transaction
(group commit) and resolves each future only once the transaction is committed, so
a caller that got a result knows its events are durable. A commit, once it holds
the store, waits a little for batches still arriving (up to :data:`LINGER_SECONDS`
after the last one, at most :data:`MAX_LINGER_SECONDS` in all): fewer, larger
transactions carry more events per second, since each one's cost is mostly fixed
(the dedupe and rollup passes).
Checkpoints (writing the engine's write-ahead log into its file) stall the commit that
triggers them, so the writer lets the log grow to :data:`WAL_CHECKPOINT_SIZE` and
checkpoints when idle: after :data:`IDLE_FOLD_SECONDS` without work it folds the
rollup's delta (:meth:`AnalyticsStore.fold`) and checkpoints.
When ``max_pending`` batches already wait, :meth:`submit` raises :class:`SaturatedError` instead of
queueing more work.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

import pyarrow as pa

from keepwell.core.warehouse import EVENT_BATCH_SCHEMA, AnalyticsStore
from keepwell.ingest.errors import SaturatedError

#: The most rows appended in one transaction.
MAX_ROWS_PER_COMMIT = 200_000
#: How long a commit waits for the next batch, and for batches in all (seconds).
LINGER_SECONDS = 0.004
MAX_LINGER_SECONDS = 0.040
#: Seconds without work after which the writer folds the rollup's delta and checkpoints.
IDLE_FOLD_SECONDS = 2.0
#: Write-ahead log size past which a commit checkpoints even under load.
WAL_CHECKPOINT_SIZE = "256MB"


@dataclass
class _Job:
    batch: pa.Table
    future: Future[int]


class EventWriter:
    """Group-committing writer of event batches (``EVENT_BATCH_SCHEMA``).

    ``lock`` guards the analytics store's connection: readers that use the same store
    from other threads take it too.
    """

    def __init__(self, store: Callable[[], AnalyticsStore], *, max_pending: int = 256) -> None:
        self._store = store
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=max_pending)
        self.lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._unfolded = False
        self._configured = False

    def submit(self, batch: pa.Table) -> Future[int]:
        """Queue ``batch``; the future's result is the number of new (non-duplicate) rows
        of the whole commit it was part of, set after the commit."""
        future: Future[int] = Future()
        if batch.num_rows == 0:
            future.set_result(0)
            return future
        self._ensure_thread()
        try:
            self._queue.put_nowait(_Job(batch.cast(EVENT_BATCH_SCHEMA), future))
        except queue.Full:
            raise SaturatedError(
                "the event writer is saturated", hint="retry after a second"
            ) from None
        return future

    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="keepwell-events", daemon=True
                )
                self._thread.start()

    def close(self) -> None:
        """Finish the queued work and stop the thread."""
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_FOLD_SECONDS if self._unfolded else None)
            except queue.Empty:
                self._fold()
                continue
            if first is None:
                return
            with self.lock:  # linger only once the store is ours: while a long write
                jobs, stop = self._drain(first)  # holds it, the queue fills and refuses
                self._commit(jobs)
            if stop:
                return

    def _fold(self) -> None:
        self._unfolded = False
        try:
            with self.lock:
                store = self._store()
                store.fold()
                store.checkpoint()
        except Exception:  # the next append or fold tries again
            self._unfolded = True

    def _drain(self, first: _Job) -> tuple[list[_Job], bool]:
        """The jobs of one commit: ``first`` and those arriving while it lingers; and
        whether the writer was asked to stop."""
        jobs, rows = [first], first.batch.num_rows
        deadline = time.monotonic() + MAX_LINGER_SECONDS
        while rows < MAX_ROWS_PER_COMMIT:
            wait = min(LINGER_SECONDS, deadline - time.monotonic())
            try:
                job = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
            rows += job.batch.num_rows
        return jobs, False

    def _commit(self, jobs: list[_Job]) -> None:
        try:
            table = pa.concat_tables([j.batch for j in jobs])
            with self.lock:
                store = self._store()
                if not self._configured:
                    store.checkpoint_after(WAL_CHECKPOINT_SIZE)
                    self._configured = True
                with store.transaction():
                    inserted = store.append_events(table).inserted
            self._unfolded = True
        except BaseException as exc:
            for job in jobs:
                job.future.set_exception(exc)
            return
        for job in jobs:
            job.future.set_result(inserted)
