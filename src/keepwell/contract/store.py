"""Writing validated contract records into the stores: upserts that count what changed.

Operational entities are upserted on their key inside the caller's session; columns a
file does not carry are left as they are, custom attributes are merged. Events are
appended to the analytics store, deduplicated on ``message_id``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.contract import models
from keepwell.contract.schema import Entity
from keepwell.contract.validation import Record, event_message_id
from keepwell.core.models import FxRate
from keepwell.core.warehouse import EVENT_BATCH_SCHEMA, AnalyticsStore

MODELS: dict[str, type[Any]] = {
    "accounts": models.Account,
    "contacts": models.Contact,
    "subscriptions": models.Subscription,
    "invoices": models.Invoice,
    "tickets": models.Ticket,
    "surveys": models.Survey,
    "activities": models.Activity,
    "fx_rates": FxRate,
}
_DEFAULTS: dict[str, dict[str, Any]] = {
    "accounts": {"is_prospect": False},
    "contacts": {"is_active": True},
    "activities": {"tags": []},
}
_CHUNK = 2000


@dataclass
class Counts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: Counts) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged


def _scales(model: type[Any]) -> dict[str, Decimal]:
    return {
        c.name: Decimal(1).scaleb(-c.type.scale)
        for c in model.__table__.columns
        if isinstance(c.type, sa.Numeric) and c.type.scale is not None
    }


def _normalise(record: Record, scales: dict[str, Decimal]) -> Record:
    for name, quantum in scales.items():
        value = record.get(name)
        if isinstance(value, Decimal):
            record[name] = value.quantize(quantum)
    return record


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, float):  # a driver that hands back floats for numerics
        old = Decimal(str(old))
    return bool(old == new)


def upsert(session: Session, entity: Entity, records: Sequence[Record]) -> Counts:
    """Insert new records and update changed ones of ``entity``; count each outcome."""
    model = MODELS[entity.name]
    scales = _scales(model)
    key_cols = [getattr(model, k) for k in entity.key]
    counts = Counts()
    for start in range(0, len(records), _CHUNK):
        chunk = [_normalise(dict(r), scales) for r in records[start : start + _CHUNK]]
        keys = [tuple(r[k] for k in entity.key) for r in chunk]
        condition = (
            key_cols[0].in_([k[0] for k in keys])
            if len(key_cols) == 1
            else sa.tuple_(*key_cols).in_(keys)
        )
        existing = {
            tuple(getattr(row, k) for k in entity.key): row
            for row in session.execute(sa.select(model).where(condition)).scalars()
        }
        inserts, updates = [], []
        for key, record in zip(keys, chunk, strict=True):
            old = existing.get(key)
            if old is None:
                inserts.append({**_DEFAULTS.get(entity.name, {}), **record})
                continue
            change = _changes(old, record)
            if change:
                updates.append({**{k: record[k] for k in entity.key}, **change})
            else:
                counts.unchanged += 1
        if inserts:
            session.execute(sa.insert(model), inserts)
        if updates:
            session.execute(sa.update(model), updates)
        counts.new += len(inserts)
        counts.updated += len(updates)
    return counts


def _changes(old: Any, record: Record) -> dict[str, Any]:
    change: dict[str, Any] = {}
    for name, value in record.items():
        if name == "attributes":
            if not hasattr(old, "attributes"):
                continue
            merged = {**(old.attributes or {}), **value}
            if merged != (old.attributes or {}):
                change["attributes"] = merged
        elif not _same(getattr(old, name), value):
            change[name] = value
    return change


def event_batch(records: Sequence[Record]) -> pa.Table:
    """Validated event records as an Arrow batch for :meth:`AnalyticsStore.append_events`.

    Extra columns of an event row are kept inside its ``properties``.
    """
    properties = [
        {**(r.get("properties") or {}), **r["attributes"]}
        if r["attributes"]
        else r.get("properties")
        for r in records
    ]
    columns = {
        # aware UTC datetimes in, naive UTC out: the cast keeps the instant
        "timestamp": pa.array([r["timestamp"] for r in records], pa.timestamp("us", tz="UTC")).cast(
            pa.timestamp("us")
        ),
        "account_id": [r["account_id"] for r in records],
        "user_id": [r.get("user_id") for r in records],
        "event": [r["event"] for r in records],
        "count": [r.get("count") or 1 for r in records],
        "message_id": [event_message_id(r) for r in records],
        "properties": [None if p is None else _compact_json(p) for p in properties],
    }
    return pa.Table.from_pydict(columns, schema=EVENT_BATCH_SCHEMA)


def _compact_json(value: dict[str, Any]) -> str:
    """JSON text as the analytics engine writes it (compact, keys in their order)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def append_events(
    store: AnalyticsStore, records: Sequence[Record], lines: list[int] | None = None
) -> Counts:
    result = store.append_events(event_batch(records), lines)
    return Counts(new=result.inserted, unchanged=result.duplicates)


def known_accounts(session: Session) -> set[str]:
    return set(session.execute(sa.select(models.Account.account_id)).scalars())
