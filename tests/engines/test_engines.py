"""Engine selection from KEEPWELL_ANALYTICS_URL, and its one-line errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from keepwell.core.engines import (
    EngineKind,
    connect,
    engine_kind,
    fetch,
    parse_analytics_url,
    put_table,
)
from keepwell.core.errors import ConfigurationError, StoreError
from keepwell.export.writers import write_backend_table

from .conftest import Engine


@pytest.mark.parametrize(
    ("url", "kind", "target"),
    [
        ("duckdb:///var/kw/analytics.duckdb", EngineKind.DUCKDB, "var/kw/analytics.duckdb"),
        ("duckdb://", EngineKind.DUCKDB, ":memory:"),
        ("postgresql://u@db:5432/kw", EngineKind.POSTGRES, "postgres://u@db:5432/kw"),
        ("postgresql+psycopg://u@db/kw", EngineKind.POSTGRES, "postgres://u@db/kw"),
        ("spark://local[2]", EngineKind.SPARK, "local[2]"),
        ("spark://local", EngineKind.SPARK, "local[*]"),
        ("spark://master.lan:7077", EngineKind.SPARK, "spark://master.lan:7077"),
    ],
)
def test_the_url_names_the_engine(url: str, kind: EngineKind, target: str) -> None:
    parsed = parse_analytics_url(url)
    assert (parsed.kind, parsed.target) == (kind, target)


@pytest.mark.parametrize("url", ["mysql://h/db", "analytics.duckdb", "spark://", "postgresql://"])
def test_a_wrong_url_is_a_configuration_error_naming_it(url: str) -> None:
    with pytest.raises(ConfigurationError, match="names no engine") as info:
        parse_analytics_url(url)
    assert repr(url) in str(info.value)


def test_an_unreachable_engine_is_one_line_naming_engine_and_where() -> None:
    with pytest.raises(StoreError) as info:
        connect("postgresql://kw:secret@127.0.0.1:1/nowhere?connect_timeout=2")
    message = str(info.value)
    assert "\n" not in message
    assert "postgres analytics engine at postgresql://kw:***@127.0.0.1:1/nowhere" in message
    assert "secret" not in message


def test_a_duckdb_file_is_created_and_reopened(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'deep' / 'analytics.duckdb'}"
    backend = connect(url)
    assert engine_kind(backend) is EngineKind.DUCKDB
    put_table(backend, "t", pa.table({"a": [1, 2, 3]}))
    backend.disconnect()
    again = connect(url)
    assert fetch(again, again.table("t").a.sum().as_table()).column(0).to_pylist() == [6]


def test_export_replaces_its_date_in_a_table_of_each_engine(engine: Engine) -> None:
    def batch(day: date, *accounts: str) -> pa.Table:
        return pa.table(
            {"snapshot_date": [day] * len(accounts), "account_id": list(accounts),
             "score": [50.5] * len(accounts)}
        )  # fmt: skip

    first, second = date(2025, 1, 31), date(2025, 2, 28)
    if engine.name == "spark":
        with pytest.raises(StoreError, match="cannot export to a table on Spark"):
            write_backend_table(engine.backend, "kw_scores", batch(first, "A"), first)
        return
    write_backend_table(engine.backend, "kw_scores", batch(first, "A", "B"), first)
    write_backend_table(engine.backend, "kw_scores", batch(second, "A"), second)
    write_backend_table(engine.backend, "kw_scores", batch(first, "C"), first)
    rows = engine.rows(engine.backend.table("kw_scores"))
    assert sorted((r["snapshot_date"], r["account_id"]) for r in rows) == [
        (first, "C"), (second, "A"),
    ]  # fmt: skip
