"""Plain factories of valid contract rows as a CSV file would carry them (text cells)."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

_ROWS: dict[str, dict[str, str]] = {
    "accounts": {
        "account_id": "0042",
        "name": "Acme",
        "parent_account_id": "",
        "industry": "Software",
        "employees": "120",
        "country": "DE",
        "owner": "csm@example.com",
        "created_at": "2024-01-05",
        "category_budget": "120000.50",
        "is_prospect": "false",
        "tier": "gold",
    },
    "contacts": {
        "contact_id": "c1",
        "account_id": "0042",
        "email": "ann@acme.example",
        "name": "Ann",
        "title": "VP Ops",
        "role": "sponsor",
        "is_active": "true",
        "left_on": "",
    },
    "subscriptions": {
        "line_id": "l1",
        "account_id": "0042",
        "product": "Core",
        "mrr": "1000.50",
        "currency": "USD",
        "quantity": "10",
        "starts_on": "2025-01-01",
        "ends_on": "2026-01-01",
        "auto_renew": "true",
    },
    "invoices": {
        "invoice_id": "i1",
        "account_id": "0042",
        "amount": "12006.00",
        "currency": "USD",
        "issued_on": "2025-01-01",
        "due_on": "2025-01-31",
        "paid_on": "2025-02-03",
        "status": "paid",
    },
    "events": {
        "timestamp": "2026-01-01T10:00:00Z",
        "account_id": "0042",
        "user_id": "u1",
        "event": "login",
        "count": "2",
        "message_id": "m1",
        "properties": '{"browser": "firefox"}',
    },
    "tickets": {
        "ticket_id": "t1",
        "account_id": "0042",
        "opened_at": "2026-01-02T08:00:00Z",
        "closed_at": "2026-01-03T08:00:00+01:00",
        "priority": "high",
        "csat": "4",
        "subject": "Export fails",
    },
    "surveys": {
        "response_id": "r1",
        "account_id": "0042",
        "contact_id": "c1",
        "responded_at": "2026-01-05T12:00:00Z",
        "kind": "nps",
        "score": "9",
        "comment": "Great",
    },
    "activities": {
        "activity_id": "a1",
        "account_id": "0042",
        "occurred_at": "2026-01-06T15:00:00Z",
        "kind": "meeting",
        "author": "csm@example.com",
        "subject": "Kick-off",
        "body": "Agreed goals",
        "tags": "risk;feature_request",
    },
    "fx_rates": {"currency": "EUR", "month": "2025-01-01", "rate": "1.08"},
}

#: the column that identifies a row of each entity in tests (its key, or message_id)
IDENTITY = {
    "accounts": "account_id",
    "contacts": "contact_id",
    "subscriptions": "line_id",
    "invoices": "invoice_id",
    "events": "message_id",
    "tickets": "ticket_id",
    "surveys": "response_id",
    "activities": "activity_id",
    "fx_rates": "currency",
}


def make_row(entity: str, **overrides: Any) -> dict[str, str]:
    """A valid row of ``entity`` (text cells), with ``overrides`` applied."""
    row = dict(_ROWS[entity])
    row.update({k: str(v) for k, v in overrides.items()})
    return row


def make_account(**overrides: Any) -> dict[str, str]:
    return make_row("accounts", **overrides)


def nth_row(entity: str, n: int, **overrides: Any) -> dict[str, str]:
    """A valid row of ``entity`` with an identity of its own (``n`` = 1, 2, ...)."""
    ident = IDENTITY[entity]
    value = ("EUR", "GBP", "CHF", "JPY", "SEK", "NOK")[n - 1] if entity == "fx_rates" else f"x{n}"
    return make_row(entity, **{ident: value, **overrides})


def write_rows(path: Path, rows: list[dict[str, Any]], columns: list[str] | None = None) -> Path:
    """Write ``rows`` to ``path`` in the format its extension names (.csv, .jsonl,
    .parquet, optionally .gz); CSV and Parquet carry ``columns`` (default: the first
    row's keys) as their header."""
    cols = columns if columns is not None else (list(rows[0]) if rows else [])
    suffixes = path.suffixes
    gz = suffixes[-1] == ".gz"
    fmt = suffixes[-2] if gz else suffixes[-1]
    if fmt == ".parquet":
        table = pa.table({c: pa.array([r.get(c) for r in rows], pa.string()) for c in cols})
        target = path.with_suffix("") if gz else path
        pq.write_table(table, target)
        if gz:
            path.write_bytes(gzip.compress(target.read_bytes()))
            target.unlink()
        return path
    if fmt == ".csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(cols)
        for r in rows:
            writer.writerow([r.get(c, "") for c in cols])
        data = buffer.getvalue().encode("utf-8")
    else:
        data = "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)
    return path
