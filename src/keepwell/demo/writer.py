"""Writes the demo company to files in the data-contract format.

CSV: UTF-8, header row, comma, ``\\n`` line ends; dates ``2026-03-01``; timestamps
``2026-03-01T14:03:22Z``; booleans ``true``/``false``; null as the empty string; lists
``;``-separated. Events go to Parquet (zstd), one row group per month, byte-stable.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from keepwell.demo.table import Cell, Table
from keepwell.demo.usage import EVENTS_SCHEMA

DICTIONARY_COLUMNS = ["account_id", "user_id", "event", "properties"]  # low cardinality


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


FORMATS: dict[type, Callable[[Any], str]] = {  # exact type -> formatter (fast path)
    str: str,
    int: str,
    Decimal: str,
    bool: lambda v: "true" if v else "false",
    date: date.isoformat,
    datetime: _stamp,
    type(None): lambda v: "",
}


def format_cell(value: Cell) -> str:
    """The CSV text of one value (see module docstring)."""
    fast = FORMATS.get(type(value))
    if fast is not None:
        return fast(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return _stamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int | Decimal | str):
        return str(value)
    raise TypeError(f"cannot write a {type(value).__name__} to CSV: {value!r}")


def write_csv(path: Path, table: Table) -> int:
    """Write ``table`` to ``path``; returns the number of data rows."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(table.columns)
        writer.writerows([format_cell(cell) for cell in row] for row in table.rows)
    return len(table.rows)


def write_events(path: Path, batches: Iterable[pa.Table]) -> int:
    """Stream event batches into one Parquet file; returns the number of rows."""
    rows = 0
    with pq.ParquetWriter(
        path, EVENTS_SCHEMA, compression="zstd", use_dictionary=DICTIONARY_COLUMNS
    ) as writer:
        for batch in batches:
            writer.write_table(batch, row_group_size=max(batch.num_rows, 1))
            rows += batch.num_rows
    return rows
