"""The customer's success measures in the store: define, read, and their progress."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.core.audit import record_audit
from keepwell.core.database import transaction
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.workspace import Workspace
from keepwell.voice import measures
from keepwell.voice.models import MeasureReading, SuccessMeasure


def add_measure(
    workspace: Workspace,
    account_id: str,
    *,
    name: str,
    unit: str,
    baseline: float,
    target: float,
    started_on: date,
    target_on: date,
    plan_id: int | None = None,
) -> int:
    """A new success measure of ``account_id``; its id."""
    name, unit = " ".join(name.split()), " ".join(unit.split())
    if not name or len(name) > 250:
        raise InputError("a measure needs a name (1-250 characters)")
    if not unit or len(unit) > 60:
        raise InputError(f"measure {name!r}: give its unit (1-60 characters)")
    if target == baseline:
        raise InputError(f"measure {name!r}: the target equals the baseline")
    if target_on <= started_on:
        raise InputError(f"measure {name!r}: the target date must follow the start")
    with transaction(workspace.engine) as session:
        row = SuccessMeasure(account_id=account_id, plan_id=plan_id, name=name, unit=unit,
                             baseline=baseline, target=target, started_on=started_on,
                             target_on=target_on)  # fmt: skip
        session.add(row)
        session.flush()
        record_audit(session, action="measure.add", target=f"measure {row.id}: {name}"[:500],
                     account_id=account_id,
                     after={"baseline": baseline, "target": target, "unit": unit})  # fmt: skip
        return int(row.id)


def record_reading(
    workspace: Workspace,
    measure_id: int,
    taken_on: date,
    value: float,
    entered_by: str | None,
    *,
    account_id: str | None = None,
) -> None:
    """Record the measure's value on ``taken_on`` (replacing that day's reading); with
    ``account_id``, only a measure of that account."""
    with transaction(workspace.engine) as session:
        measure = session.get(SuccessMeasure, measure_id)
        if measure is None or (account_id is not None and measure.account_id != account_id):
            raise NotFoundError(f"no success measure {measure_id}")
        existing = session.execute(
            sa.select(MeasureReading).where(MeasureReading.measure_id == measure_id,
                                            MeasureReading.taken_on == taken_on)
        ).scalar_one_or_none()  # fmt: skip
        row = existing or MeasureReading(measure_id=measure_id, taken_on=taken_on)
        row.value, row.entered_by = value, entered_by
        session.add(row)
        record_audit(session, action="measure.reading", target=f"measure {measure_id}",
                     account_id=measure.account_id,
                     after={"taken_on": taken_on.isoformat(), "value": value})  # fmt: skip


def _describe(m: SuccessMeasure, readings: list[MeasureReading]) -> dict[str, Any]:
    latest = readings[-1].value if readings else None
    return {"measure_id": m.id, "account_id": m.account_id, "plan_id": m.plan_id,
            "name": m.name, "unit": m.unit, "baseline": m.baseline, "target": m.target,
            "started_on": m.started_on, "target_on": m.target_on, "latest": latest,
            "latest_on": readings[-1].taken_on if readings else None,
            "progress": measures.progress(m.baseline, m.target, latest),
            "readings": [{"taken_on": r.taken_on, "value": r.value, "entered_by": r.entered_by}
                         for r in readings]}  # fmt: skip


def read_measures(
    workspace: Workspace, as_of: date, account_ids: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """Measures started on or before ``as_of`` (of ``account_ids`` when given) with
    their readings up to ``as_of`` and progress then."""
    query = sa.select(SuccessMeasure).where(SuccessMeasure.started_on <= as_of)
    if account_ids is not None:
        query = query.where(SuccessMeasure.account_id.in_(list(account_ids)))
    with Session(workspace.engine) as session:
        rows = list(session.execute(query.order_by(SuccessMeasure.id)).scalars())
        readings: dict[int, list[MeasureReading]] = {r.id: [] for r in rows}
        if rows:
            for reading in session.execute(
                sa.select(MeasureReading)
                .where(MeasureReading.measure_id.in_(list(readings)),
                       MeasureReading.taken_on <= as_of)
                .order_by(MeasureReading.taken_on)
            ).scalars():  # fmt: skip
                readings[reading.measure_id].append(reading)
        return [_describe(m, readings[m.id]) for m in rows]


def progress_by_account(workspace: Workspace, as_of: date) -> dict[str, float]:
    """Each account's progress toward its measures on ``as_of`` (0-100), where known."""
    grouped: dict[str, list[float | None]] = {}
    for m in read_measures(workspace, as_of):
        grouped.setdefault(m["account_id"], []).append(m["progress"])
    result = {a: measures.account_progress(v) for a, v in grouped.items()}
    return {a: v for a, v in result.items() if v is not None}
