"""Warehouse event sources: events read in place through a column mapping, their rollup
maintained incrementally by day, and the usage measures on it equal on every engine."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from keepwell.core.engines import connect
from keepwell.core.errors import ConfigurationError, InputError, StoreError
from keepwell.core.event_sources import (
    EventSource,
    SourceKind,
    load_event_source,
    parse_event_source,
    refresh_rollup,
    refresh_rollup_files,
    rollup_expr,
    source_events,
)
from keepwell.health.usage import UsageConfig, usage_measures

from . import data, reference
from .compare import same_rows
from .conftest import Engine

MAPPING = {"timestamp": "ts", "account_id": "org_id", "user_id": "uid", "event": "name"}
CONFIG = UsageConfig(key_features=("report_created",), login_event="login")


def raw_events(rollup: pa.Table, first: int = 0, stop: int | None = None) -> pa.Table:
    """One warehouse row per event (``count`` 1) at 23:59:59 UTC of each rollup day, in
    the warehouse's own column names."""
    rows = rollup.to_pylist()[first:stop]
    out: dict[str, list[object]] = {"ts": [], "org_id": [], "uid": [], "name": []}
    for r in rows:
        at = datetime(r["day"].year, r["day"].month, r["day"].day, 23, 59, 59, tzinfo=UTC)
        for _ in range(r["count"]):
            for key, value in zip(
                out, (at, r["account_id"], r["user_id"], r["event"]), strict=True
            ):
                out[key].append(value)
    return pa.table(out)


def _expected(rollup: pa.Table) -> Counter[tuple[object, ...]]:
    return Counter({tuple(r[c] for c in ("day", "account_id", "user_id", "event")): r["count"]
                    for r in rollup.to_pylist()})  # fmt: skip


def test_config_block_is_parsed_and_checked() -> None:
    source = parse_event_source({"source": "parquet:/lake/e/*.parquet", "columns": MAPPING})
    assert (source.kind, source.location, source.columns["account_id"]) == (
        SourceKind.PARQUET, "/lake/e/*.parquet", "org_id",
    )  # fmt: skip
    with pytest.raises(ConfigurationError, match="is not table:NAME or parquet:PATH"):
        parse_event_source({"source": "s3://bucket/x"})
    with pytest.raises(ConfigurationError, match="unknown contract column"):
        parse_event_source({"source": "table:e", "columns": {"org": "org_id"}})


def test_the_workspace_config_declares_the_source(tmp_path: Path) -> None:
    config = tmp_path / "keepwell.yaml"
    config.write_text("version: 1\n")
    assert load_event_source(config) is None
    config.write_text(
        "version: 1\nevents:\n  source: table:raw_events\n"
        "  columns: {timestamp: ts, account_id: org_id}\n"
    )
    source = load_event_source(config)
    assert source == EventSource(
        SourceKind.TABLE, "raw_events", {"timestamp": "ts", "account_id": "org_id"}
    )


def test_parquet_source_rollup_is_maintained_incrementally_by_day(tmp_path: Path) -> None:
    rollup = data.rollup_rows(days=60).sort_by([("day", "ascending")])
    half = rollup.num_rows // 2
    lake = tmp_path / "lake"
    lake.mkdir()
    pq.write_table(raw_events(rollup, 0, half), lake / "part-0.parquet")
    backend = connect("duckdb://")
    source = EventSource(SourceKind.PARQUET, f"{lake}/*.parquet", MAPPING)
    first = refresh_rollup(backend, source, "event_daily")
    assert first.since is None
    pq.write_table(raw_events(rollup, half), lake / "part-1.parquet")  # later days arrive
    second = refresh_rollup(backend, source, "event_daily")
    last_day = rollup.column("day")[half - 1].as_py()
    assert second.since == last_day  # only from the last day it held
    stored = backend.table("event_daily").to_pyarrow()
    assert _expected(stored) == _expected(rollup)
    again = refresh_rollup(backend, source, "event_daily")  # idempotent
    assert backend.table("event_daily").count().to_pyarrow().as_py() == rollup.num_rows
    assert again.rows <= second.rows


def test_a_missing_mapped_column_names_the_column_and_the_source(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    pq.write_table(pa.table({"ts": [datetime(2024, 1, 1, tzinfo=UTC)], "org": ["a"]}), path)
    source = EventSource(SourceKind.PARQUET, str(path), MAPPING)
    with pytest.raises(InputError) as info:
        source_events(connect("duckdb://"), source)
    assert str(info.value).startswith(f"event source parquet:{path} has no column 'org_id'")
    assert "\n" not in str(info.value)
    with pytest.raises(InputError, match="no such table"):
        source_events(connect("duckdb://"), EventSource(SourceKind.TABLE, "nope", MAPPING))


def test_table_source_measures_follow_their_definition_on_every_engine(engine: Engine) -> None:
    """Raw events in a table, rolled up by the engine, measure as the definition says."""
    rollup = data.rollup_rows(days=60)
    expected = reference.usage_measures(reference.rows_of(rollup), date(2024, 2, 29), CONFIG)
    engine.put("kw_raw_events", raw_events(rollup))
    source = EventSource(SourceKind.TABLE, "kw_raw_events", MAPPING)
    if engine.name == "spark":  # session views: measured on the rollup expression
        measured = rollup_expr(source_events(engine.backend, source))
    else:
        refresh_rollup(engine.backend, source, "kw_event_daily", since=date(2024, 1, 1))
        measured = engine.backend.table("kw_event_daily")
    actual = engine.rows(usage_measures(measured, date(2024, 2, 29), CONFIG))
    same_rows(actual, expected, ["account_id"])


@pytest.mark.slow
def test_spark_keeps_the_rollup_as_parquet_files_by_day(tmp_path: Path, spark_backend: Any) -> None:
    rollup = data.rollup_rows(days=40).sort_by([("day", "ascending")])
    half = rollup.num_rows // 2
    lake = tmp_path / "lake"
    lake.mkdir()
    pq.write_table(raw_events(rollup, 0, half), lake / "part-0.parquet")
    source = EventSource(SourceKind.PARQUET, str(lake), MAPPING)
    target = str(tmp_path / "event_daily")
    assert refresh_rollup_files(spark_backend, source, target).since is None
    pq.write_table(raw_events(rollup, half), lake / "part-1.parquet")
    second = refresh_rollup_files(spark_backend, source, target)
    assert second.since == rollup.column("day")[half - 1].as_py()
    stored = spark_backend.to_pyarrow(spark_backend.read_parquet(target))
    assert _expected(stored) == _expected(rollup)
    with pytest.raises(StoreError, match="cannot maintain a rollup table on Spark"):
        refresh_rollup(spark_backend, source, "event_daily")
