"""The event writer: batches waiting together share one commit, every caller learns of
its commit only after it, and an idle writer folds the rollup and checkpoints."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from keepwell.core.warehouse import AnalyticsStore
from keepwell.ingest import writer as writer_module
from keepwell.ingest.writer import EventWriter
from tests.core.test_warehouse import batch, fresh_aggregation, rollup_rows


def one(mid: str) -> list[tuple[str, str, str | None, str, int, str]]:
    return [("2026-01-01T10:00", "a", "u1", "login", 1, mid)]


def test_batches_arriving_while_a_commit_lingers_share_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = AnalyticsStore.open("duckdb://")
    commits: list[int] = []
    real = AnalyticsStore.append_events

    def counting(self: AnalyticsStore, table: object) -> object:
        commits.append(table.num_rows)  # type: ignore[attr-defined]
        return real(self, table)  # type: ignore[arg-type]

    monkeypatch.setattr(AnalyticsStore, "append_events", counting)
    monkeypatch.setattr(writer_module, "LINGER_SECONDS", 0.5)
    monkeypatch.setattr(writer_module, "MAX_LINGER_SECONDS", 2.0)
    writer = EventWriter(lambda: store)
    futures = [writer.submit(batch(one(f"m{i}"))) for i in range(3)]
    futures.append(writer.submit(batch(one("m0"))))  # a duplicate of the first

    assert [f.result(timeout=10) for f in futures] == [3, 3, 3, 3]  # new rows of the commit
    writer.close()
    assert commits == [4]
    assert store.events().count().execute() == 3


def test_an_idle_writer_folds_the_rollup_and_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "IDLE_FOLD_SECONDS", 0.2)
    store = AnalyticsStore.open(f"duckdb:///{tmp_path / 'a.duckdb'}")
    writer = EventWriter(lambda: store)
    writer.submit(batch(one("m1") + one("m2"))).result(timeout=10)
    with writer.lock:
        [(waiting,)] = store.con.con.execute("SELECT count(*) FROM event_daily_delta").fetchall()
    assert waiting == 1

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with writer.lock:
            [(waiting,)] = store.con.con.execute(
                "SELECT count(*) FROM event_daily_delta"
            ).fetchall()
        if waiting == 0:
            break
        time.sleep(0.05)
    writer.close()

    assert waiting == 0
    assert rollup_rows(store) == fresh_aggregation(store) == [("2026-01-01", "a", "u1", "login", 2)]
    wal = tmp_path / "a.duckdb.wal"
    assert not wal.exists() or wal.stat().st_size == 0


def test_a_failed_commit_fails_every_caller_of_it(monkeypatch: pytest.MonkeyPatch) -> None:
    store = AnalyticsStore.open("duckdb://")

    def broken(self: AnalyticsStore, table: object) -> object:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(AnalyticsStore, "append_events", broken)
    writer = EventWriter(lambda: store)
    with writer.lock:  # hold the writer so both batches wait for the same commit
        first = writer.submit(batch(one("m1")))
        second = writer.submit(batch(one("m2")))
    for future in (first, second):
        with pytest.raises(RuntimeError, match="disk on fire"):
            future.result(timeout=10)
    writer.close()
