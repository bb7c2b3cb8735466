"""Idempotent writers: each replaces the rows of one snapshot date (``snapshot_date``)
in a file, a table on an Ibis backend, or a table of the operational database, and
keeps every other date. Re-exporting a date therefore never duplicates it."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import sqlalchemy as sa

from keepwell.core.engines import EngineKind, engine_kind, has_table, put_table
from keepwell.core.errors import InputError, StoreError
from keepwell.export.targets import Target, TargetKind

SNAPSHOT = "snapshot_date"


def _check_columns(found: list[str], data: pa.Table, where: str) -> None:
    if found != data.schema.names:
        raise InputError(
            f"{where} has the columns {', '.join(found)}, not those of this export",
            hint="export to a new file or table, or remove the old one",
        )


def _keep_other_days(existing: pa.Table, data: pa.Table, day: date, where: str) -> pa.Table:
    _check_columns(existing.schema.names, data, where)
    existing = existing.cast(data.schema)
    others = existing.filter(pc.not_equal(existing[SNAPSHOT], pa.scalar(day, pa.date32())))
    return pa.concat_tables([others, data])


def write_file(target: Target, data: pa.Table, day: date) -> None:
    """Replace ``day``'s rows in a CSV or Parquet file (created when missing), written
    to a temporary file first and renamed, so a reader never sees half a file."""
    path = Path(target.location)
    if path.exists():
        try:
            if target.kind is TargetKind.PARQUET:
                existing = pq.read_table(path)
            else:
                options = pacsv.ConvertOptions(column_types=data.schema)
                existing = pacsv.read_csv(path, convert_options=options)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"cannot read the existing export {path}: {exc}") from exc
        data = _keep_other_days(existing, data, day, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    if target.kind is TargetKind.PARQUET:
        pq.write_table(data, temporary)
    else:
        pacsv.write_csv(data, temporary)
    os.replace(temporary, path)


def write_backend_table(backend: Any, name: str, data: pa.Table, day: date) -> None:
    """Replace ``day``'s rows in table ``name`` on an Ibis backend (DuckDB or
    PostgreSQL), creating it on first use. Spark's tables here are session views, so an
    export from Spark goes to a Parquet file instead (``--to PATH.parquet``)."""
    kind = engine_kind(backend)
    if kind is EngineKind.SPARK:
        raise StoreError(
            f"cannot export to a table on Spark ({name})",
            hint="export to Parquet (--to PATH.parquet) and register it in your catalog",
        )
    if not has_table(backend, name):
        put_table(backend, name, data)
        return
    _check_columns(list(backend.table(name).columns), data, name)
    backend.raw_sql(f"DELETE FROM \"{name}\" WHERE {SNAPSHOT} = DATE '{day.isoformat()}'")
    if kind is EngineKind.DUCKDB:
        raw = backend.con
        raw.register("_kw_export", data)
        try:
            raw.execute(f'INSERT INTO "{name}" SELECT * FROM _kw_export')
        finally:
            raw.unregister("_kw_export")
    else:
        backend.insert(name, obj=data)


_SA_TYPES: dict[str, Any] = {
    "string": sa.String(255),
    "large_string": sa.Text(),
    "double": sa.Float(),
    "int64": sa.BigInteger(),
    "date32[day]": sa.Date(),
    "bool": sa.Boolean(),
}


def _sa_type(kind: pa.DataType) -> Any:
    if pa.types.is_decimal(kind):
        return sa.Numeric(kind.precision, kind.scale)
    return _SA_TYPES.get(str(kind), sa.Text())


def write_database_table(engine: sa.Engine, name: str, data: pa.Table, day: date) -> None:
    """Replace ``day``'s rows in table ``name`` of the operational database (SQLite or
    PostgreSQL) in one transaction, creating the table on first use."""
    metadata = sa.MetaData()
    inspector = sa.inspect(engine)
    if inspector.has_table(name):
        table = sa.Table(name, metadata, autoload_with=engine)
        _check_columns([c.name for c in table.columns], data, f"db:{name}")
    else:
        columns = [sa.Column(f.name, _sa_type(f.type)) for f in data.schema]
        table = sa.Table(name, metadata, *columns, sa.Index(f"ix_{name}_{SNAPSHOT}", SNAPSHOT))
        metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.delete(table).where(table.c[SNAPSHOT] == day))
        rows = data.to_pylist()
        if rows:
            conn.execute(sa.insert(table), rows)
