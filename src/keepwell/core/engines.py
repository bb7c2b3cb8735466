"""Analytics engines: which Ibis backend the measures and revenue metrics run on.

``KEEPWELL_ANALYTICS_URL`` names the engine:

- ``duckdb:///path/to/analytics.duckdb`` (the default, embedded; ``duckdb://`` alone is
  in memory);
- ``postgresql://user@host:5432/db`` (also ``postgres://`` and ``postgresql+psycopg://``;
  ``?options=-csearch_path=schema`` selects a schema);
- ``spark://local[2]`` (Spark in local mode with 2 threads; ``spark://local`` uses every
  core) or a cluster master URL such as ``spark://host:7077``.

Everything above the engine (``revenue``, ``health``, ``risk``) takes Ibis tables and
never asks which backend they live on. :func:`put_table` puts an Arrow table on an
engine (a table on DuckDB and PostgreSQL, a temporary view on Spark) and
:func:`fetch` runs an expression there, so the same functions run on every engine.

Engine differences the expressions avoid, so results stay equal (docs/deployment.md):
- PostgreSQL casts no boolean to bigint or double: flags are ``CASE`` (``ifelse``);
- PostgreSQL's ``AVG(integer)`` and ``SUM(bigint)`` are ``numeric``: cast to float64
  before averaging or dividing;
- Spark reads a literal such as ``4005.0`` as a decimal and divides decimals to 6
  places: cast to float64 before any literal;
- PostgreSQL and Spark widen ``sum`` of ``decimal(18, 6)``: money is cast back;
- Ibis has no temporary tables on Spark: uploads are session views;
- floats may differ in the last bits (summation order): compared to 1e-9, never money.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from keepwell.core.errors import ConfigurationError, StoreError

#: Spark settings of a Keepwell session: few shuffle partitions (the rollup is small
#: next to the raw events), no UI, UTC, and Arrow transfers to and from Python.
SPARK_CONF: dict[str, str] = {
    "spark.sql.shuffle.partitions": "2",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.ansi.enabled": "false",
}
_PG_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


class EngineKind(StrEnum):
    """The analytics engines Keepwell runs on and tests."""

    DUCKDB = "duckdb"
    POSTGRES = "postgres"
    SPARK = "spark"


@dataclass(frozen=True)
class EngineURL:
    """A parsed analytics URL: the engine and its target (a DuckDB path, a
    PostgreSQL URL with the ``postgres://`` scheme, or a Spark master)."""

    kind: EngineKind
    target: str
    url: str

    @property
    def display(self) -> str:
        """The URL without its password, for messages."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))


def parse_analytics_url(url: str) -> EngineURL:
    """The engine and target of an analytics URL (see the module docstring).

    Raises :class:`ConfigurationError` naming the URL when it names no known engine.
    """
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if sep and scheme == "duckdb":
        return EngineURL(EngineKind.DUCKDB, rest.removeprefix("/") or ":memory:", url)
    if sep and scheme in _PG_SCHEMES and rest:
        return EngineURL(EngineKind.POSTGRES, f"postgres://{rest}", url)
    if sep and scheme == "spark" and rest:
        local = re.fullmatch(r"local(\[(\d+|\*)\])?", rest)
        master = rest if local else url
        return EngineURL(EngineKind.SPARK, "local[*]" if rest == "local" else master, url)
    raise ConfigurationError(
        f"analytics URL {url!r} names no engine Keepwell knows",
        hint="use duckdb:///path, postgresql://user@host/db or spark://local[2]",
    )


def is_warehouse_url(url: str) -> bool:
    """Whether ``url`` names PostgreSQL or Spark (an engine the events live on), not the
    embedded DuckDB store."""
    scheme = url.partition("://")[0].lower()
    return scheme in _PG_SCHEMES or scheme == "spark"


def connect(url: str, *, spark_conf: dict[str, str] | None = None) -> Any:
    """An Ibis backend connected to the engine of ``url``.

    Raises :class:`ConfigurationError` for a malformed URL and :class:`StoreError`
    (one line, naming the engine and where) when the engine cannot be reached.
    """
    parsed = parse_analytics_url(url)
    try:
        if parsed.kind is EngineKind.DUCKDB:
            return _connect_duckdb(parsed.target)
        if parsed.kind is EngineKind.POSTGRES:
            backend = ibis.connect(parsed.target)
            backend.raw_sql("SET TIME ZONE 'UTC'")
            return backend
        return _connect_spark(parsed.target, {**SPARK_CONF, **(spark_conf or {})})
    except Exception as exc:  # drivers raise unrelated types: name the engine instead
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(
            f"cannot reach the {parsed.kind} analytics engine at {parsed.display}: {first}"
        ) from exc


def _connect_duckdb(path: str) -> Any:
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    backend = ibis.duckdb.connect(path)
    backend.raw_sql("SET TimeZone = 'UTC'")
    return backend


def spark_session(master: str, conf: dict[str, str] | None = None) -> Any:
    """The Spark session of this process for ``master`` (created once, then reused)."""
    from pyspark.sql import SparkSession  # optional dependency: only Spark users need it

    builder = SparkSession.builder.master(master).appName("keepwell")
    for key, value in {**SPARK_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _connect_spark(master: str, conf: dict[str, str]) -> Any:
    return ibis.pyspark.connect(spark_session(master, conf))


def engine_kind(backend: Any) -> EngineKind:
    """The engine of an Ibis backend (``duckdb``, ``postgres`` or ``pyspark``)."""
    name = str(backend.name)
    if name == "pyspark":
        return EngineKind.SPARK
    try:
        return EngineKind(name)
    except ValueError as exc:
        raise ConfigurationError(f"Keepwell is not tested on the {name} engine") from exc


def put_table(backend: Any, name: str, data: pa.Table) -> ir.Table:
    """``data`` as table ``name`` on ``backend``, replacing one of that name.

    DuckDB and PostgreSQL get a real table; Spark a temporary view of the session
    (Ibis has no temporary tables on Spark, and a view needs no warehouse directory).
    """
    kind = engine_kind(backend)
    if kind is EngineKind.DUCKDB:
        raw = backend.con
        raw.register("_kw_upload", data)
        try:
            raw.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _kw_upload')
        finally:
            raw.unregister("_kw_upload")
        table: ir.Table = backend.table(name)
        return table
    if kind is EngineKind.SPARK:
        view: ir.Table = backend.create_view(name, ibis.memtable(data), overwrite=True)
        return view
    # ibis 12's ``overwrite=True`` emits a bare ``DROP TABLE IF EXISTS`` on PostgreSQL
    backend.raw_sql(f'DROP TABLE IF EXISTS "{name}"')
    created: ir.Table = backend.create_table(name, obj=data)
    return created


def has_table(backend: Any, name: str) -> bool:
    """Whether ``backend`` has a table or view ``name`` (``list_tables`` of ibis 12
    fails on DuckDB 2.0, so this asks for the table itself)."""
    try:
        backend.table(name)
    except Exception:  # each backend raises its own "not found"
        return False
    return True


def fetch(backend: Any, expr: ir.Expr) -> pa.Table:
    """Run ``expr`` on ``backend`` and return the result as an Arrow table."""
    result: pa.Table = backend.to_pyarrow(expr)
    return result
