"""Warehouse event sources: product events that already live on the analytics engine
(a table, or Parquet files), read in place through a column mapping to the contract.

In ``keepwell.yaml``::

    events:
      source: parquet:/lake/events/*.parquet     # or table:analytics_events
      columns: {timestamp: ts, account_id: org_id, user_id: uid, event: name}

``columns`` maps each contract column to the source's column; ``user_id`` and ``count``
may be left out (no user; one event per row). Nothing is copied: :func:`source_events`
is a projection of the source, :func:`rollup_expr` its daily rollup, and
:func:`refresh_rollup` keeps a rollup table on the same engine up to date by day: it
recomputes only the days from the last one it holds (which may have been partial), or
from ``since`` for late data. Days are UTC calendar days of the timestamps.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import yaml

from keepwell.core.engines import EngineKind, engine_kind, has_table
from keepwell.core.errors import ConfigurationError, InputError, StoreError

REQUIRED = ("timestamp", "account_id", "event")
OPTIONAL = ("user_id", "count")
ROLLUP_COLUMNS = ("day", "account_id", "user_id", "event", "count")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


class SourceKind(StrEnum):
    TABLE = "table"
    PARQUET = "parquet"


@dataclass(frozen=True)
class EventSource:
    """Where the events are (``kind`` and ``location``) and which source column holds
    each contract column (``columns``: contract name -> source name)."""

    kind: SourceKind
    location: str
    columns: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.kind}:{self.location}"


def parse_event_source(raw: Mapping[str, Any]) -> EventSource:
    """The ``events`` block of ``keepwell.yaml`` (see the module docstring). Raises
    :class:`ConfigurationError` naming the bad entry."""
    text = str(raw.get("source", ""))
    kind, sep, location = text.partition(":")
    if not sep or kind not in set(SourceKind) or not location:
        raise ConfigurationError(
            f"events.source {text!r} is not table:NAME or parquet:PATH",
            hint="e.g. parquet:/lake/events/*.parquet or table:analytics_events",
        )
    if kind == SourceKind.TABLE and not _NAME.fullmatch(location):
        raise ConfigurationError(f"events.source table name {location!r} is not a name")
    columns = {str(k): str(v) for k, v in dict(raw.get("columns") or {}).items()}
    unknown = sorted(set(columns) - {*REQUIRED, *OPTIONAL})
    if unknown:
        raise ConfigurationError(
            f"events.columns maps unknown contract column(s) {', '.join(unknown)}",
            hint=f"contract columns: {', '.join((*REQUIRED, *OPTIONAL))}",
        )
    return EventSource(SourceKind(kind), location, columns)


def load_event_source(config: Path) -> EventSource | None:
    """The ``events`` block of the workspace configuration file ``config``
    (``keepwell.yaml``), or None when it declares no event source."""
    try:
        raw = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read {config}: {exc}") from exc
    block = raw.get("events") if isinstance(raw, dict) else None
    if block is None:
        return None
    if not isinstance(block, dict):
        raise ConfigurationError(f"{config}: events must be a mapping with source and columns")
    return parse_event_source(block)


def _read(backend: Any, source: EventSource) -> ir.Table:
    if source.kind is SourceKind.TABLE:
        if not has_table(backend, source.location):
            raise InputError(f"event source {source}: no such table on the analytics engine")
        table: ir.Table = backend.table(source.location)
        return table
    if engine_kind(backend) is EngineKind.POSTGRES:
        raise ConfigurationError(f"event source {source}: PostgreSQL reads no Parquet files")
    try:
        if engine_kind(backend) is EngineKind.DUCKDB:  # a view: read in place, no copy
            path = source.location.replace("'", "''")
            backend.raw_sql(
                f"CREATE OR REPLACE TEMP VIEW _kw_event_source AS "
                f"SELECT * FROM read_parquet('{path}')"
            )
            view: ir.Table = backend.table("_kw_event_source")
            return view
        parquet: ir.Table = backend.read_parquet(source.location)
        return parquet
    except Exception as exc:  # engines raise their own I/O errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"event source {source}: cannot read it: {first}") from exc


def source_events(backend: Any, source: EventSource) -> ir.Table:
    """The source's events in the contract's columns (timestamp, account_id, user_id,
    event, count), read in place. Raises :class:`InputError` naming the source and the
    column when a mapped (or required) column is missing."""
    table = _read(backend, source)
    mapped = {c: source.columns.get(c, c) for c in (*REQUIRED, *OPTIONAL)}
    for contract, column in mapped.items():
        if column not in table.columns and (contract in REQUIRED or contract in source.columns):
            raise InputError(
                f"event source {source} has no column {column!r} (mapped to {contract})",
                hint=f"its columns: {', '.join(table.columns)}",
            )
    user = mapped["user_id"]
    count = mapped["count"]
    return table.select(
        timestamp=table[mapped["timestamp"]].cast("timestamp"),
        account_id=table[mapped["account_id"]].cast("string"),
        user_id=table[user].cast("string") if user in table.columns else ibis.null("string"),
        event=table[mapped["event"]].cast("string"),
        count=table[count].cast("int64") if count in table.columns else ibis.literal(1, "int64"),
    )


def rollup_expr(events: ir.Table, since: date | None = None) -> ir.Table:
    """The daily rollup ``(day, account_id, user_id, event) -> count`` of ``events``
    (UTC days), from ``since`` on when given: what the usage measures read."""
    rows = events.mutate(day=events.timestamp.date())
    if since is not None:
        rows = rows.filter(rows.day >= since)
    grouped = rows.group_by(["day", "account_id", "user_id", "event"])
    return grouped.aggregate(count=rows["count"].sum().cast("int64")).select(*ROLLUP_COLUMNS)


def _last_day(backend: Any, rollup: str) -> date | None:
    # SQL, not Ibis: the max of an empty NOT NULL column is null, which Arrow refuses
    # (DuckDB hands back its connection as the cursor: not to be closed)
    day: date | None = backend.raw_sql(f'SELECT max(day) FROM "{rollup}"').fetchall()[0][0]
    return day


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh did: the first day recomputed (None: all) and rows written."""

    since: date | None
    rows: int


def refresh_rollup(
    backend: Any, source: EventSource, rollup: str, *, since: date | None = None
) -> RefreshResult:
    """Bring table ``rollup`` (on the source's engine) up to date with ``source``.

    Recomputes the days from ``since``, else from the last day the rollup holds (that
    day may have been incomplete), else everything: the rows of those days are deleted
    and re-aggregated from the source, so a refresh is idempotent. DuckDB and
    PostgreSQL; on Spark see :func:`refresh_rollup_files`.
    """
    kind = engine_kind(backend)
    if kind is EngineKind.SPARK:
        raise StoreError(
            f"cannot maintain a rollup table on Spark ({rollup})",
            hint="keep it as Parquet files with refresh_rollup_files",
        )
    events = source_events(backend, source)
    if not has_table(backend, rollup):
        backend.raw_sql(
            f'CREATE TABLE "{rollup}" (day DATE NOT NULL, account_id VARCHAR NOT NULL, '
            "user_id VARCHAR, event VARCHAR NOT NULL, count BIGINT NOT NULL)"
        )
    start = since if since is not None else _last_day(backend, rollup)
    fresh = rollup_expr(events, start)
    where = "" if start is None else f" WHERE day >= DATE '{start.isoformat()}'"
    dialect = "postgres" if kind is EngineKind.POSTGRES else "duckdb"
    select = ibis.to_sql(fresh, dialect=dialect)
    backend.raw_sql(  # one transaction: readers see the old days or the new ones
        f'BEGIN; DELETE FROM "{rollup}"{where}; '
        f'INSERT INTO "{rollup}" ({", ".join(ROLLUP_COLUMNS)}) {select}; COMMIT'
    )
    written = backend.table(rollup)
    if start is not None:
        written = written.filter(written.day >= start)
    return RefreshResult(start, int(written.count().to_pyarrow().as_py()))


def refresh_rollup_files(
    backend: Any, source: EventSource, path: str, *, since: date | None = None
) -> RefreshResult:
    """Spark: keep the rollup as Parquet files under ``path``, one directory per day
    (``day=YYYY-MM-DD``), up to date with ``source``.

    Like :func:`refresh_rollup`, recomputes the days from ``since``, else from the last
    day stored, else everything; those days' directories are replaced (dynamic
    partition overwrite) and the others left alone. Read it back with
    ``backend.read_parquet(path)``.
    """
    if engine_kind(backend) is not EngineKind.SPARK:
        raise StoreError(f"refresh_rollup_files runs on Spark, not {engine_kind(backend)}")
    start = since
    if start is None and Path(path).exists():
        start = backend.read_parquet(path).day.max().to_pyarrow().as_py()
    fresh = rollup_expr(source_events(backend, source), start)
    backend.to_pyarrow(fresh.limit(0))  # fail here, before anything is overwritten
    backend.to_parquet(
        fresh, path, mode="overwrite", partitionBy="day", partitionOverwriteMode="dynamic"
    )
    written = backend.read_parquet(path)
    if start is not None:
        written = written.filter(written.day >= start)
    return RefreshResult(start, int(written.count().to_pyarrow().as_py()))
