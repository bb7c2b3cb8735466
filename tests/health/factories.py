"""Hand-made Ibis tables for health tests (plain functions, one row per dict)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import ibis
import pyarrow as pa

ROLLUP_SCHEMA = pa.schema(
    [
        ("day", pa.date32()),
        ("account_id", pa.string()),
        ("user_id", pa.string()),
        ("event", pa.string()),
        ("count", pa.int64()),
    ]
)
TS = pa.timestamp("us", tz="UTC")
MONEY = pa.decimal128(18, 6)
SCHEMAS: dict[str, pa.Schema] = {
    "accounts": pa.schema(
        [
            ("account_id", pa.string()),
            ("name", pa.string()),
            ("created_at", pa.date32()),
            ("category_budget", MONEY),
            ("is_prospect", pa.bool_()),
            ("industry", pa.string()),
        ]
    ),
    "contacts": pa.schema(
        [
            ("contact_id", pa.string()),
            ("account_id", pa.string()),
            ("role", pa.string()),
            ("is_active", pa.bool_()),
            ("left_on", pa.date32()),
        ]
    ),
    "subscriptions": pa.schema(
        [
            ("line_id", pa.string()),
            ("account_id", pa.string()),
            ("product", pa.string()),
            ("mrr", MONEY),
            ("quantity", pa.int64()),
            ("starts_on", pa.date32()),
            ("ends_on", pa.date32()),
            ("auto_renew", pa.bool_()),
        ]
    ),
    "invoices": pa.schema(
        [
            ("invoice_id", pa.string()),
            ("account_id", pa.string()),
            ("amount", MONEY),
            ("issued_on", pa.date32()),
            ("due_on", pa.date32()),
            ("paid_on", pa.date32()),
            ("status", pa.string()),
        ]
    ),
    "tickets": pa.schema(
        [
            ("ticket_id", pa.string()),
            ("account_id", pa.string()),
            ("opened_at", TS),
            ("closed_at", TS),
            ("priority", pa.string()),
            ("csat", pa.int64()),
        ]
    ),
    "surveys": pa.schema(
        [
            ("response_id", pa.string()),
            ("account_id", pa.string()),
            ("contact_id", pa.string()),
            ("responded_at", TS),
            ("kind", pa.string()),
            ("score", pa.int64()),
        ]
    ),
    "activities": pa.schema(
        [
            ("activity_id", pa.string()),
            ("account_id", pa.string()),
            ("occurred_at", TS),
            ("kind", pa.string()),
        ]
    ),
}


def ts(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def arrow(schema: pa.Schema, rows: list[dict[str, Any]]) -> pa.Table:
    columns = {
        name: [_convert(row.get(name), schema.field(name).type) for row in rows]
        for name in schema.names
    }
    return pa.table(columns, schema=schema)


def _convert(value: Any, kind: pa.DataType) -> Any:
    if value is not None and pa.types.is_decimal(kind):
        return Decimal(str(value))
    return value


def rollup(rows: list[tuple[date, str, str | None, str, int]]) -> ibis.Table:
    dicts = [dict(zip(ROLLUP_SCHEMA.names, row, strict=True)) for row in rows]
    return ibis.memtable(arrow(ROLLUP_SCHEMA, dicts))


def table(entity: str, rows: list[dict[str, Any]]) -> ibis.Table:
    return ibis.memtable(arrow(SCHEMAS[entity], rows))


def empty(entity: str) -> ibis.Table:
    return table(entity, [])
