"""Staged imports and the dedupe keys of the analytics store: a staged file is invisible
until published, all or nothing; duplicates are found through ``event_keys``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from keepwell.core.errors import StoreError
from keepwell.core.warehouse import AnalyticsStore, AppendResult
from tests.core.test_warehouse import batch, fresh_aggregation, rollup_rows

ROW = ("2026-01-01T10:00", "a", "u1", "login", 1)


def rows(*ids: str) -> list[tuple[str, str, str | None, str, int, str]]:
    return [(*ROW, mid) for mid in ids]


def test_staged_rows_are_invisible_until_the_block_ends() -> None:
    store = AnalyticsStore.open("duckdb://")
    store.append_events(batch(rows("m0")))
    with store.staged() as staging:
        store.append_events(batch(rows("m0", "m1", "m2", "m1")))
        store.append_events(batch(rows("m2", "m3")))
        assert store.events().count().execute() == 1
        assert rollup_rows(store) == [("2026-01-01", "a", "u1", "login", 1)]

    # counted once, for the whole file, when it is published
    assert staging.result == AppendResult(inserted=3, duplicates=3)
    assert sorted(store.events().message_id.execute()) == ["m0", "m1", "m2", "m3"]
    assert rollup_rows(store) == fresh_aggregation(store) == [("2026-01-01", "a", "u1", "login", 4)]


def test_a_failed_or_dry_staged_import_publishes_nothing() -> None:
    store = AnalyticsStore.open("duckdb://")
    with store.staged(commit=False):
        store.append_events(batch(rows("m1")))

    def crash_mid_file() -> None:
        with store.staged():
            store.append_events(batch(rows("m2")))
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        crash_mid_file()

    assert store.events().count().execute() == 0
    assert store.rollup().count().execute() == 0
    assert store.append_events(batch(rows("m1", "m2"))).inserted == 2


def test_keys_stored_while_staging_are_not_published_twice() -> None:
    store = AnalyticsStore.open("duckdb://")
    with store.staged():
        store.append_events(batch(rows("m1", "m2")))
        store.con.con.execute(
            "INSERT INTO events VALUES ('2026-01-01 10:00', 'a', 'u1', 'login', 1, 'm1', NULL);"
            "INSERT INTO event_keys SELECT md5_number('m1');"
            "INSERT INTO event_daily VALUES ('2026-01-01', 'a', 'u1', 'login', 1)"
        )

    assert sorted(store.events().message_id.execute()) == ["m1", "m2"]
    assert rollup_rows(store) == fresh_aggregation(store)


def test_staging_is_refused_inside_a_transaction() -> None:
    store = AnalyticsStore.open("duckdb://")
    with store.transaction(), pytest.raises(StoreError, match="cannot be staged"):
        store.staged().__enter__()


def test_a_store_made_before_event_keys_gets_them(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'a.duckdb'}"
    store = AnalyticsStore.open(url)
    store.append_events(batch(rows("m1")))
    store.con.con.execute("DROP TABLE event_keys")
    store.close()

    store = AnalyticsStore.open(url)
    assert store.append_events(batch(rows("m1", "m2"))).inserted == 1
    [(keys,)] = store.con.con.execute("SELECT count(*) FROM event_keys").fetchall()
    assert keys == 2


def test_the_delta_folds_into_the_rollup_and_reads_stay_exact(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from keepwell.core import warehouse

    monkeypatch.setattr(warehouse, "FOLD_ROWS", 2)
    store = AnalyticsStore.open("duckdb://")
    store.append_events(batch(rows("m1", "m2")))
    assert _table_rows(store, "event_daily_delta") == 1
    store.append_events(batch([(*ROW[:2], "u2", "login", 2, "m3"), (*ROW, "m4")]))
    assert _table_rows(store, "event_daily_delta") == 0  # folded: 3 delta rows > 2
    store.append_events(batch(rows("m5")))
    assert rollup_rows(store) == fresh_aggregation(store)

    store.fold()
    assert _table_rows(store, "event_daily_delta") == 0
    assert rollup_rows(store) == fresh_aggregation(store)
    assert sorted(store.con.con.execute("SELECT count FROM event_daily").fetchall()) == [
        (2,),
        (4,),
    ]


def test_a_stage_left_by_a_crash_is_dropped_on_open(tmp_path: Path) -> None:
    path = tmp_path / "a.duckdb"
    crash = f"""
import os
from tests.core.test_warehouse import batch
from keepwell.core.warehouse import AnalyticsStore
store = AnalyticsStore.open("duckdb:///{path}")
with store.staged():
    store.append_events(batch([("2026-01-01T10:00", "a", "u1", "login", 1, "m1")]))
    os._exit(3)  # the process dies mid-file
"""
    done = subprocess.run([sys.executable, "-c", crash], cwd=Path(__file__).parents[2])
    assert done.returncode == 3

    store = AnalyticsStore.open(f"duckdb:///{path}")
    assert store.events().count().execute() == 0
    assert store.con.con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = '_kw_staging'"
    ).fetchall() == [(0,)]


def _table_rows(store: AnalyticsStore, table: str) -> int:
    [(n,)] = store.con.con.execute(f"SELECT count(*) FROM {table}").fetchall()
    return int(n)
