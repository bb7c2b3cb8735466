"""The vectorised path for product-usage events: a whole batch checked in one query.

Events are the large entity (millions of rows a file), so instead of checking row by
row in Python, a batch is handed to the analytics engine as an Arrow table and every
contract rule is evaluated as a column expression. The rules here are deliberately
*stricter* than :mod:`keepwell.contract.values`: a row this path is not sure about is
handed back, and the row-by-row validator decides it and words the reason. So the
accepted rows and every message are exactly those of the row-by-row path.

Rows take the row-by-row path when they have no ``message_id`` (the content hash is
computed there) and whole batches do when a file carries columns outside the contract
(they are folded into ``properties`` there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from keepwell.contract.schema import EVENTS

#: ISO 8601 timestamps both parsers agree on (Python's fromisoformat accepts more).
_TIMESTAMP = (
    r"^\d{4}-\d{2}-\d{2}([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?)?"
    r"(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?$"
)
_COUNT = r"^[0-9]{1,18}$"


@dataclass(frozen=True)
class FastResult:
    """Rows accepted by the vectorised checks, and the positions it leaves to Python."""

    accepted: pa.Table
    undecided: list[int]


def supports(columns: Sequence[str]) -> bool:
    """Whether a file with these columns can use the vectorised path at all."""
    return set(columns) <= set(EVENTS.names) and "message_id" in columns


def as_text_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> pa.Table | None:
    """CSV cells as an all-text Arrow table; None when a cell holds undecodable bytes."""
    try:
        return pa.table(
            {name: pa.array([r[i] for r in rows], pa.string()) for i, name in enumerate(columns)}
        )
    except (UnicodeEncodeError, pa.ArrowException):
        return None


def _text(name: str, schema: pa.Schema) -> str:
    """SQL for column ``name`` as text as read ('' when absent or null): not trimmed, so
    a cell with spaces around it fails the stricter checks below and Python decides it."""
    if name not in schema.names:
        return "''"
    return f"coalesce(CAST(b.\"{name}\" AS VARCHAR), '')"


#: Characters above U+0020 that Python's ``str.isspace`` counts as white space.
_WIDE_SPACES = "133, 160, 5760, 8192, 8193, 8194, 8195, 8196, 8197, 8198, 8199, 8200, " \
    "8201, 8202, 8232, 8233, 8239, 8287, 12288"  # fmt: skip


def _filled(text: str) -> str:
    """SQL true when ``text`` starts with a character that is not white space (so the
    validator does not take it for empty): one look at the first character, where a
    ``trim`` copies every cell. Stricter than "not empty": a cell that starts with white
    space is left to Python."""
    return f"(ascii({text}) > 32 AND ascii({text}) NOT IN ({_WIDE_SPACES}))"


def _timestamp(schema: pa.Schema) -> tuple[str, str]:
    """(value, is-valid) SQL for the event timestamp as naive UTC."""
    field = schema.field("timestamp")
    if pa.types.is_timestamp(field.type):
        if field.type.tz is None:
            return 'b."timestamp"', 'b."timestamp" IS NOT NULL'
        return "(b.\"timestamp\" AT TIME ZONE 'UTC')", 'b."timestamp" IS NOT NULL'
    if not pa.types.is_string(field.type) and not pa.types.is_large_string(field.type):
        return "NULL", "false"
    text = _text("timestamp", schema)
    # a time in UTC ('Z', the usual export) is read as a plain timestamp, at about half
    # the cost; a cast to TIMESTAMP would drop any other offset, so those take TIMESTAMPTZ
    value = (
        f"CASE WHEN ends_with({text}, 'Z') THEN TRY_CAST({text} AS TIMESTAMP) "
        f"ELSE (TRY_CAST({text} AS TIMESTAMPTZ) AT TIME ZONE 'UTC') END"
    )
    return value, f"regexp_full_match({text}, '{_TIMESTAMP}') AND {value} IS NOT NULL"


def _count(schema: pa.Schema) -> tuple[str, str]:
    if "count" not in schema.names:
        return "1", "true"
    field = schema.field("count")
    if pa.types.is_integer(field.type):
        return 'coalesce(b."count", 1)', 'coalesce(b."count", 1) >= 1'
    text = _text("count", schema)
    value = f"CASE WHEN {text} = '' THEN 1 ELSE TRY_CAST({text} AS BIGINT) END"
    ok = f"({text} = '' OR regexp_full_match({text}, '{_COUNT}')) AND {value} >= 1"
    return value, ok


def _properties(schema: pa.Schema) -> tuple[str, str]:
    if "properties" not in schema.names or not (
        pa.types.is_string(schema.field("properties").type)
    ):
        absent = "properties" not in schema.names
        return "NULL", "true" if absent else "false"
    text = _text("properties", schema)
    # json() raises on bad input even in a CASE branch not taken: feed it only valid text
    safe = f"CASE WHEN {text} <> '' AND json_valid({text}) THEN {text} ELSE '{{}}' END"
    value = f"CASE WHEN {text} = '' THEN NULL ELSE CAST(json({safe}) AS VARCHAR) END"
    ok = f"({text} = '' OR (json_valid({text}) AND json_type({safe}) = 'OBJECT'))"
    return value, ok


def _string_ok(name: str, schema: pa.Schema) -> str:
    if name not in schema.names:
        return "true"
    field = schema.field(name)
    return (
        "true"
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type)
        else "false"
    )


def _no_nul(schema: pa.Schema) -> list[str]:
    """No NUL character in any text cell, nor a NUL escape in the properties' JSON."""
    checks = [
        f'coalesce(strpos(b."{f.name}", chr(0)), 0) = 0'
        for f in schema
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]
    if "properties" in schema.names and pa.types.is_string(schema.field("properties").type):
        checks.append("coalesce(strpos(b.properties, '\\u0000'), 0) = 0")
    return checks


def events_sql(
    schema: pa.Schema,
    raw: str = "_kw_raw",
    accounts: str = "_kw_accounts",
    *,
    nul_free: bool = False,
) -> str:
    """A SELECT over the table ``raw`` (of ``schema``, plus an int64 column ``_kw_line``)
    giving, for each row, its values in the analytics store's batch schema, ``_kw_line``
    and ``_kw_ok``: whether every events rule holds (``accounts`` is a one-column table
    of the known ``account_id`` values). The values of a row that is not ok mean nothing.
    ``nul_free``: the caller knows no cell holds a NUL character nor a ``\\u0000``
    escape (no such bytes in the CSV block), so those checks are left out.
    """
    ts_value, ts_ok = _timestamp(schema)
    count_value, count_ok = _count(schema)
    props_value, props_ok = _properties(schema)
    user = (
        f"CASE WHEN {_text('user_id', schema)} = '' THEN NULL ELSE CAST(b.user_id AS VARCHAR) END"
        if "user_id" in schema.names
        else "NULL"
    )
    user_ok = f"({_text('user_id', schema)} = '' OR {_filled(_text('user_id', schema))})"
    ok = " AND ".join(
        [
            ts_ok,
            count_ok,
            props_ok,
            *(_string_ok(n, schema) for n in ("account_id", "user_id", "event", "message_id")),
            user_ok,
            _filled(_text("account_id", schema)),
            _filled(_text("event", schema)),
            _filled(_text("message_id", schema)),
            "k.account_id IS NOT NULL",
            *([] if nul_free else _no_nul(schema)),
        ]
    )
    return f"""
        SELECT {ts_value} AS timestamp, CAST(b.account_id AS VARCHAR) AS account_id,
               {user} AS user_id, CAST(b.event AS VARCHAR) AS event,
               {count_value} AS count, CAST(b.message_id AS VARCHAR) AS message_id,
               {props_value} AS properties, b._kw_line, coalesce({ok}, false) AS _kw_ok
        FROM {raw} AS b LEFT JOIN {accounts} AS k
          ON k.account_id = CAST(b.account_id AS VARCHAR)
    """


def check_events(raw_con: object, batch: pa.Table, accounts: pa.Table) -> FastResult:
    """Evaluate the events contract on ``batch`` inside DuckDB (``raw_con``).

    ``accounts`` is a one-column table of known ``account_id`` values. Returns the
    accepted rows in the analytics store's batch schema, and the row positions whose
    fate the row-by-row validator must decide.
    """
    con = raw_con
    numbered = batch.append_column("_kw_line", pa.array(range(batch.num_rows), pa.int64()))
    con.register("_kw_raw", numbered)  # type: ignore[attr-defined]
    con.register("_kw_accounts", accounts)  # type: ignore[attr-defined]
    try:
        sql = events_sql(batch.schema)
        result: pa.Table = con.sql(sql).to_arrow_table()  # type: ignore[attr-defined]
    finally:
        con.unregister("_kw_raw")  # type: ignore[attr-defined]
        con.unregister("_kw_accounts")  # type: ignore[attr-defined]
    result = result.sort_by("_kw_line")
    mask = result.column("_kw_ok")
    accepted = result.filter(mask).drop_columns(["_kw_line", "_kw_ok"])
    undecided = result.filter(pa.compute.invert(mask)).column("_kw_line").to_pylist()
    return FastResult(accepted=accepted, undecided=undecided)
