"""Use cases of the write-back: export scores, risk or movements of one snapshot date.

Rows come from the health and revenue slices through their services; the target is a
file, a table on the analytics engine, or a table of the operational database. Every
export replaces the rows of its ``snapshot_date`` and keeps the others (idempotent).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

import pyarrow as pa

from keepwell.core import periods
from keepwell.core.engines import EngineKind, connect, parse_analytics_url
from keepwell.core.errors import InputError
from keepwell.core.workspace import Workspace
from keepwell.export.targets import Target, TargetKind, parse_target
from keepwell.export.writers import (
    SNAPSHOT,
    write_backend_table,
    write_database_table,
    write_file,
)
from keepwell.health import service as health_service
from keepwell.revenue import service as revenue_service

MONEY = pa.decimal128(18, 6)
_MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "churn")


class ExportKind(StrEnum):
    SCORES = "scores"
    RISK = "risk"
    MOVEMENTS = "movements"


SCHEMAS: dict[ExportKind, pa.Schema] = {
    ExportKind.SCORES: pa.schema(
        [(SNAPSHOT, pa.date32()), ("account_id", pa.string()), ("segment", pa.string()),
         ("scorecard", pa.string()), ("stage", pa.string()), ("score", pa.float64()),
         ("band", pa.string())]
    ),
    ExportKind.RISK: pa.schema(
        [(SNAPSHOT, pa.date32()), ("account_id", pa.string()),
         ("churn_probability", pa.float64()), ("arr_at_risk", MONEY),
         ("risk_drivers", pa.string())]
    ),
    ExportKind.MOVEMENTS: pa.schema(
        [(SNAPSHOT, pa.date32()), ("group", pa.string()), ("month", pa.string()),
         ("starting_mrr", MONEY), *((m, MONEY) for m in _MOVEMENTS), ("ending_mrr", MONEY),
         ("starting_accounts", pa.int64()), *((f"{m}_accounts", pa.int64()) for m in _MOVEMENTS),
         ("ending_accounts", pa.int64())]
    ),
}  # fmt: skip


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: the kind, the snapshot date, rows of that date, where."""

    kind: ExportKind
    snapshot_date: date
    rows: int
    target: str


def export_rows(workspace: Workspace, kind: ExportKind, as_of: date, months: int = 12) -> pa.Table:
    """The rows an export of ``kind`` writes for ``as_of`` (schema :data:`SCHEMAS`).

    scores: the stored health snapshot of as_of; risk: its churn predictions (ARR at
    risk = p x ARR, base currency per year); movements: the MRR movements of the
    ``months`` months ending with as_of's month (money decimal(18, 6), base currency).
    Raises :class:`InputError` when there is nothing to export for that date.
    """
    if kind is ExportKind.MOVEMENTS:
        if months < 1:
            raise InputError(f"--months must be at least 1, got {months}")
        start = as_of.replace(day=1)
        for _ in range(months - 1):
            start = periods.previous_month(start)
        rows = revenue_service.mrr_movements(workspace, start, as_of)
    else:
        rows = _snapshot(workspace, kind, as_of)
    data = [{SNAPSHOT: as_of, **r} for r in rows]
    return pa.Table.from_pylist(data, schema=SCHEMAS[kind])


def _snapshot(workspace: Workspace, kind: ExportKind, as_of: date) -> list[dict[str, Any]]:
    rows = health_service.snapshot_rows(workspace, as_of)
    if not rows:
        raise InputError(
            f"no health snapshot on {as_of}", hint=f"run `keepwell score --as-of {as_of}` first"
        )
    if kind is ExportKind.SCORES:
        return rows
    scored = [r for r in rows if r["churn_probability"] is not None]
    if not scored:
        raise InputError(
            f"no churn predictions stored on {as_of}",
            hint=f"run `keepwell risk predict --as-of {as_of}` first",
        )
    return [
        {
            "account_id": r["account_id"],
            "churn_probability": r["churn_probability"],
            "arr_at_risk": None
            if r["arr_at_risk"] is None
            else Decimal(r["arr_at_risk"]).quantize(Decimal("0.000001")),
            "risk_drivers": json.dumps(r["risk_drivers"] or [], default=str),
        }
        for r in scored
    ]


def export(
    workspace: Workspace, kind: ExportKind, to: str, as_of: date, *, months: int = 12
) -> ExportResult:
    """Write the ``kind`` rows of ``as_of`` to ``to`` (see
    :func:`keepwell.export.targets.parse_target`), replacing that date's earlier rows."""
    target = parse_target(to)
    data = export_rows(workspace, kind, as_of, months)
    _write(workspace, target, data, as_of)
    return ExportResult(kind, as_of, data.num_rows, str(target))


def _write(workspace: Workspace, target: Target, data: pa.Table, as_of: date) -> None:
    if target.is_file:
        write_file(target, data, as_of)
    elif target.kind is TargetKind.DATABASE:
        write_database_table(workspace.engine, target.location, data, as_of)
    elif parse_analytics_url(workspace.analytics_url).kind is EngineKind.DUCKDB:
        write_backend_table(workspace.analytics().con, target.location, data, as_of)
    else:
        backend = connect(workspace.analytics_url)
        try:
            write_backend_table(backend, target.location, data, as_of)
        finally:
            backend.disconnect()
