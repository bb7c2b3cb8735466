"""One fixture, three engines: DuckDB (in memory), PostgreSQL (a schema of its own per
test) and Spark in local mode (one session for the whole run: it takes ~20 s to start).

``engine`` is parametrized over the three; a test puts its Arrow fixtures on the engine
with :meth:`Engine.put` and runs the same Ibis functions on each, and compares the
result with an independent plain-Python reference (:mod:`tests.engines.reference`).
Where there is none yet (the whole health measure table, the back-test),
``other_engine`` (PostgreSQL and Spark) is compared with ``duckdb``: never DuckDB with
itself. Spark cases are marked ``slow``; PostgreSQL cases ``postgres`` (skipped when
unreachable, failing under CI=true).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa
import pytest

from keepwell.core.engines import connect, fetch, put_table

SPARK_URL = "spark://local[2]"
#: Tiny fixtures: Spark's time goes to planning and compiling code, not to data, so the
#: tests run it interpreted and without adaptive execution (about twice as fast here;
#: the results are the same, only the execution strategy differs).
TEST_SPARK_CONF = {
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


@dataclass
class Engine:
    """An Ibis backend and the names of the tables a test put there."""

    name: str
    backend: Any

    def put(self, name: str, data: pa.Table) -> ir.Table:
        return put_table(self.backend, name, data)

    def rows(self, expr: ir.Table) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = fetch(self.backend, expr).to_pylist()
        return result


@pytest.fixture(scope="session")
def spark_backend() -> Any:
    """The Spark backend of this test process (local mode, 2 threads)."""
    return connect(SPARK_URL, spark_conf=TEST_SPARK_CONF)


_POSTGRES = pytest.param("postgres", marks=pytest.mark.postgres)
_SPARK = pytest.param("spark", marks=pytest.mark.slow)


@pytest.fixture(params=["duckdb", _POSTGRES, _SPARK])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    yield from _engine(request)


@pytest.fixture(params=[_POSTGRES, _SPARK])
def other_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine other than DuckDB (to compare with :func:`duckdb`)."""
    yield from _engine(request)


def _engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    name = str(request.param)
    if name == "duckdb":
        backend = connect("duckdb://")
        yield Engine(name, backend)
        backend.disconnect()
    elif name == "postgres":
        backend = connect(str(request.getfixturevalue("postgres_url")))
        yield Engine(name, backend)
        backend.disconnect()
    else:
        yield Engine(name, request.getfixturevalue("spark_backend"))


@pytest.fixture
def duckdb() -> Iterator[Engine]:
    """DuckDB in memory, what :func:`other_engine` is compared with where no
    independent reference exists."""
    backend = connect("duckdb://")
    yield Engine("duckdb", backend)
    backend.disconnect()
