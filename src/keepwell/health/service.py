"""Use cases of customer health: score the portfolio, keep snapshots, explain an account.

The public surface of the health slice: faces (CLI, API, pages) and other slices call
these functions only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.contract import service as contract_service
from keepwell.core import periods
from keepwell.core.audit import note_file_applied
from keepwell.core.database import transaction
from keepwell.core.errors import InputError, NotFoundError, StoreError
from keepwell.core.workspace import Workspace
from keepwell.health import background, operational
from keepwell.health.backtest import BacktestReport as BacktestReport  # re-exported
from keepwell.health.backtest import month_ends, outcomes_frame, outcomes_history, run_backtest
from keepwell.health.catalog import MeasureEntry, measure_catalog
from keepwell.health.config import HealthConfig, ensure_config_file, load_config
from keepwell.health.days import AS_OF
from keepwell.health.history import score_history as score_history  # re-exported
from keepwell.health.journey import stage_summary
from keepwell.health.measures import ENTITIES, MeasureInputs
from keepwell.health.models import ExternalMeasure, HealthScore, StageEntry
from keepwell.health.portfolio import AccountHealth as AccountHealth  # re-exported
from keepwell.health.portfolio import assess_history, assess_portfolio, history_frame
from keepwell.health.scorecard import Band
from keepwell.health.stage_time import Entry, finished_stints, new_entries, replay, time_in_stage
from keepwell.health.usage import USAGE_MEASURES, usage_measures
from keepwell.revenue import service as revenue_service

MOVERS = 10
SNAPSHOT_BATCH = 5000


@dataclass(frozen=True)
class ScoreRun:
    """What one scoring run stored: its date, accounts, bands and biggest movers."""

    as_of: date
    accounts: int
    bands: dict[str, int]
    previous_as_of: date | None
    movers: list[dict[str, Any]] = field(default_factory=list)


def health_config(workspace: Workspace) -> HealthConfig:
    """The workspace's ``health.yaml`` (written from the default on first use), validated;
    a new version in use leaves an audit row (kind ``scorecard``)."""
    path = ensure_config_file(workspace.root)
    config = load_config(path)
    note_file_applied(workspace.engine, "scorecard.apply", path, path.read_text(encoding="utf-8"))
    return config


def list_measures(workspace: Workspace) -> list[MeasureEntry]:
    """Every measure the workspace can compute (built-in, custom and external from
    health.yaml), with its definition and the scorecards that weight it."""
    return measure_catalog(health_config(workspace))


#: The columns the measures read of an entity, where reading every column (and the
#: custom attributes) would cost: the activities' subjects and notes, a million rows in
#: a large book, are not a measure's.
INPUT_COLUMNS: dict[str, tuple[str, ...]] = {"activities": ("account_id", "kind", "occurred_at")}


def measure_inputs(workspace: Workspace) -> MeasureInputs:
    """The rollup and every operational entity as Ibis tables for the measures
    (subscription MRR in the workspace's base currency, see :func:`base_currency_lines`)."""
    arrow = {
        name: contract_service.read_table(workspace, name, columns=INPUT_COLUMNS.get(name))
        for name in ENTITIES
    }
    arrow["subscriptions"] = base_currency_lines(workspace, arrow["subscriptions"])
    tables = {name: ibis.memtable(table) for name, table in arrow.items()}
    return MeasureInputs(
        rollup=workspace.analytics().rollup(),
        timezone=workspace.setting("timezone"),
        external=ibis.memtable(_external_table(workspace)),
        **tables,
    )


_EXTERNAL_SCHEMA = pa.schema(
    [("measure", pa.string()), ("account_id", pa.string()),
     ("measured_on", pa.date32()), ("value", pa.float64())]
)  # fmt: skip


def _external_table(workspace: Workspace) -> pa.Table:
    query = sa.select(
        ExternalMeasure.measure,
        ExternalMeasure.account_id,
        ExternalMeasure.measured_on,
        ExternalMeasure.value,
    )
    with Session(workspace.engine) as session:
        rows = session.execute(query).all()
    return pa.Table.from_pylist([dict(row._mapping) for row in rows], schema=_EXTERNAL_SCHEMA)


def record_measure(
    workspace: Workspace,
    name: str,
    values: Mapping[str, float | None],
    measured_on: date,
    *,
    complete: bool = False,
) -> int:
    """Store the external measure ``name`` (account -> value, unit the pusher's) as
    measured on ``measured_on``, replacing that day's values of ``name``. A None value
    means "no value from that day on". With ``complete``, ``values`` is the whole
    measure: accounts with an earlier value that are absent get None. Scorecards read
    the measure once ``health.yaml`` declares it under ``measures: external:``; as of
    a day, the latest value measured on or before it counts. Returns the rows written."""
    if not name.isidentifier() or name.lower() != name:
        raise InputError(f"external measure {name!r} must be a lower-case identifier")
    with transaction(workspace.engine) as session:
        rows = dict(values)
        if complete:
            earlier = session.execute(
                sa.select(ExternalMeasure.account_id)
                .distinct()
                .where(ExternalMeasure.measure == name, ExternalMeasure.measured_on < measured_on)
            ).scalars()
            rows = {**dict.fromkeys(earlier), **rows}
        session.execute(
            sa.delete(ExternalMeasure).where(
                ExternalMeasure.measure == name, ExternalMeasure.measured_on == measured_on
            )
        )
        _insert_measures(session, name, rows, measured_on)
    return len(rows)


def _insert_measures(
    session: Session, name: str, values: Mapping[str, float | None], measured_on: date
) -> None:
    rows = [
        {"measure": name, "account_id": account, "measured_on": measured_on,
         "value": None if v is None else float(v)}
        for account, v in values.items()
    ]  # fmt: skip
    try:
        for start in range(0, len(rows), SNAPSHOT_BATCH):
            session.execute(sa.insert(ExternalMeasure), rows[start : start + SNAPSHOT_BATCH])
    except sa.exc.IntegrityError as exc:
        unknown = sorted(values)[:5]
        raise InputError(
            f"external measure {name!r}: an account is unknown (among {', '.join(unknown)})",
            hint="record values only for accounts imported into the workspace",
        ) from exc


def base_currency_lines(workspace: Workspace, subscriptions: pa.Table) -> pa.Table:
    """``subscriptions`` with ``mrr`` in the base currency, converted exactly as revenue
    converts them (each line at the fx rate of its start month; ``revenue.service``).
    Unchanged when every line is already in the base currency (or has none)."""
    base = workspace.setting("base_currency").upper()
    currencies = {str(c).upper() for c in subscriptions["currency"].to_pylist() if c}
    if currencies <= {base}:
        return subscriptions
    book = revenue_service.load_book(workspace)
    rows = book.rows(book.lines.select("line_id", "mrr"))
    converted = {row["line_id"]: row["mrr"] for row in rows}
    ids = subscriptions["line_id"].to_pylist()
    mrr = pa.array([converted.get(i) for i in ids], type=subscriptions.schema.field("mrr").type)
    index = subscriptions.schema.get_field_index("mrr")
    return subscriptions.set_column(index, "mrr", mrr).set_column(
        subscriptions.schema.get_field_index("currency"),
        "currency",
        pa.array([base] * len(ids), type=subscriptions.schema.field("currency").type),
    )


def assess(workspace: Workspace, as_of: date) -> list[AccountHealth]:
    """The health of every customer as of ``as_of`` (computed, not stored), with the
    days each has spent in its journey stage from the stored stage history
    (:mod:`keepwell.health.stage_time`)."""
    config = health_config(workspace)
    assessed = assess_portfolio(measure_inputs(workspace), as_of, config)
    return time_in_stage(assessed, _last_entries(workspace, as_of), config.stages)


def _last_entries(workspace: Workspace, before: date) -> dict[str, Entry]:
    """Each account's latest stage-history entry before ``before``, in one query."""
    latest = (
        sa.select(StageEntry.account_id, sa.func.max(StageEntry.entered_on).label("on"))
        .where(StageEntry.entered_on < before)
        .group_by(StageEntry.account_id)
        .subquery()
    )
    query = sa.select(StageEntry.account_id, StageEntry.stage, StageEntry.entered_on).join(
        latest,
        sa.and_(StageEntry.account_id == latest.c.account_id, StageEntry.entered_on == latest.c.on),
    )
    with Session(workspace.engine) as session:
        return {a: Entry(a, stage, on) for a, stage, on in session.execute(query)}


def _write_entries(session: Session, as_of: date, entries: Sequence[Entry]) -> None:
    """Replace the stage history's entries of ``as_of`` by ``entries`` (the transitions
    of that day's snapshot); a later entry of the same account and stage is then no
    transition any more and goes."""
    session.execute(sa.delete(StageEntry).where(StageEntry.entered_on == as_of))
    rows = [{"account_id": e.account_id, "stage": e.stage, "entered_on": e.entered_on}
            for e in entries]  # fmt: skip
    for start in range(0, len(rows), SNAPSHOT_BATCH):
        session.execute(sa.insert(StageEntry), rows[start : start + SNAPSHOT_BATCH])
    if session.execute(sa.select(StageEntry.account_id).where(StageEntry.entered_on > as_of)
                       .limit(1)).first() is None:  # fmt: skip
        return  # the usual case: scoring the latest day
    following = (
        sa.select(StageEntry.account_id, sa.func.min(StageEntry.entered_on).label("on"))
        .where(StageEntry.entered_on > as_of)
        .group_by(StageEntry.account_id)
        .subquery()
    )
    now = {e.account_id: e.stage for e in entries}
    later = session.execute(
        sa.select(StageEntry.account_id, StageEntry.stage, StageEntry.entered_on).join(
            following,
            sa.and_(
                StageEntry.account_id == following.c.account_id,
                StageEntry.entered_on == following.c.on,
            ),
        )
    ).all()
    for account, stage, on in later:
        if now.get(account) == stage:
            session.execute(
                sa.delete(StageEntry).where(
                    StageEntry.account_id == account, StageEntry.entered_on == on
                )
            )


def stage_history(workspace: Workspace, account_id: str | None = None) -> list[Entry]:
    """The stored stage history (every transition), oldest first, of one account or all."""
    query = sa.select(StageEntry.account_id, StageEntry.stage, StageEntry.entered_on)
    if account_id is not None:
        query = query.where(StageEntry.account_id == account_id)
    with Session(workspace.engine) as session:
        rows = session.execute(query.order_by(StageEntry.entered_on, StageEntry.account_id))
        return [Entry(a, stage, on) for a, stage, on in rows]


#: How far back the stage report counts finished stays in a stage (days).
FINISHED_WINDOW_DAYS = 365


def stage_report(workspace: Workspace, as_of: date) -> list[dict[str, Any]]:
    """Per journey stage as of ``as_of``: accounts, median days in the stage, overdue and
    on track (share 0-1), process KPIs (medians) and outcome KPI (share met), and the
    stays that ended in the past :data:`FINISHED_WINDOW_DAYS` days with their median
    length (:func:`keepwell.health.journey.stage_summary`)."""
    config = health_config(workspace)
    assessed = assess(workspace, as_of)
    stints = finished_stints(e for e in stage_history(workspace) if e.entered_on <= as_of)
    since = as_of - timedelta(days=FINISHED_WINDOW_DAYS)
    return stage_summary(assessed, config.stages, stints, since)


#: Month ends :func:`rebuild_stage_history` replays by default.
REBUILD_MONTHS = 24


def rebuild_stage_history(workspace: Workspace, as_of: date, months: int = REBUILD_MONTHS) -> int:
    """Rebuild the stage history up to ``as_of`` from the stages of the last ``months``
    month ends (only data available on each; one query, :func:`assess_history`), for
    a workspace whose snapshots do not go back (a first import): a stay then starts on
    the first month end it is seen (its estimate on the first). Replaces the entries
    up to ``as_of``; returns how many were written."""
    if months < 1:
        raise InputError(f"months must be at least 1, got {months}")
    days, end = [as_of], _month_end_before(as_of)
    for _ in range(months):
        days.append(end)
        end = _month_end_before(end)
    inputs = measure_inputs(workspace)
    assessed = assess_history(inputs, sorted(days), health_config(workspace))
    entries = replay(assessed)
    with transaction(workspace.engine) as session:
        session.execute(sa.delete(StageEntry).where(StageEntry.entered_on <= as_of))
        rows = [{"account_id": e.account_id, "stage": e.stage, "entered_on": e.entered_on}
                for e in entries]  # fmt: skip
        for start in range(0, len(rows), SNAPSHOT_BATCH):
            session.execute(sa.insert(StageEntry), rows[start : start + SNAPSHOT_BATCH])
    return len(entries)


def _month_end_before(day: date) -> date:
    return day.replace(day=1) - timedelta(days=1)


def compute_scores(workspace: Workspace, as_of: date) -> ScoreRun:
    """Score every customer as of ``as_of`` and store the snapshot (replacing one of the
    same date). Returns the band counts and the biggest score changes since the previous
    snapshot."""
    return score_and_store(workspace, as_of)[0]


def score_and_store(workspace: Workspace, as_of: date) -> tuple[ScoreRun, list[AccountHealth]]:
    """As :func:`compute_scores`, also returning the assessment that was stored (every
    customer's full health row, more than a snapshot keeps), so a caller that needs both
    assesses the portfolio once."""
    assessed = assess(workspace, as_of)
    return _store(workspace, as_of, assessed), assessed


#: Columns of a snapshot row written by the churn model (:func:`record_risk`).
RISK_COLUMNS = ("churn_probability", "arr_at_risk", "risk_drivers")


def _kept_risk(kept: Mapping[str, Mapping[str, Any]], account_id: str) -> dict[str, Any]:
    row = kept.get(account_id)
    return {c: row[c] for c in RISK_COLUMNS} if row else {}


def _store(workspace: Workspace, as_of: date, assessed: list[AccountHealth]) -> ScoreRun:
    """Replace the snapshot of ``as_of`` with ``assessed``. Churn predictions already
    stored that day are kept for the accounts still scored: scoring the same day again
    (a second cycle after ``risk predict``) must not wipe them. The day's stage
    transitions go to the stage history with it."""
    last = _last_entries(workspace, as_of)
    with transaction(workspace.engine) as session:
        kept = {
            row.account_id: dict(row._mapping)
            for row in session.execute(
                sa.select(
                    HealthScore.account_id, *(getattr(HealthScore, c) for c in RISK_COLUMNS)
                ).where(HealthScore.as_of == as_of, HealthScore.churn_probability.is_not(None))
            )
        }
        session.execute(sa.delete(HealthScore).where(HealthScore.as_of == as_of))
        rows = [{**_snapshot_row(a), **_kept_risk(kept, a.score.account_id)} for a in assessed]
        for start in range(0, len(rows), SNAPSHOT_BATCH):
            session.execute(sa.insert(HealthScore), rows[start : start + SNAPSHOT_BATCH])
        _write_entries(session, as_of, new_entries(assessed, last))
    bands = Counter(a.score.band.value for a in assessed)
    previous = _previous_as_of(workspace, as_of)
    return ScoreRun(
        as_of=as_of,
        accounts=len(assessed),
        bands={b.value: bands.get(b.value, 0) for b in Band},
        previous_as_of=previous,
        movers=_movers(workspace, as_of, previous) if previous else [],
    )


def _snapshot_row(health: AccountHealth) -> dict[str, Any]:
    return {
        "as_of": health.as_of,
        "account_id": health.score.account_id,
        "segment": health.score.segment,
        "scorecard": health.score.scorecard,
        "stage": health.stage,
        "stage_overdue": health.stage_overdue,
        "days_in_stage": health.days_in_stage,
        "score": health.score.score,
        "band": health.score.band.value,
        "details": _jsonable(health.details()),
    }


#: Values stored as they are (checked by exact type, before any call: a snapshot's
#: details hold ~200 values per account, 10 million at 50,000 accounts).
_LEAVES = frozenset({str, int, bool, type(None)})


def _jsonable(value: Any) -> Any:
    """``value`` with NaN (anywhere in it) as None and tuples as lists: JSON-ready."""
    if type(value) in _LEAVES:
        return value
    if isinstance(value, dict):
        return {k: v if type(v) in _LEAVES else _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [v if type(v) in _LEAVES else _jsonable(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value


def _previous_as_of(
    workspace: Workspace, as_of: date, account_id: str | None = None
) -> date | None:
    query = sa.select(sa.func.max(HealthScore.as_of)).where(HealthScore.as_of < as_of)
    if account_id is not None:
        query = query.where(HealthScore.account_id == account_id)
    with Session(workspace.engine) as session:
        return session.execute(query).scalar_one_or_none()


def _movers(workspace: Workspace, as_of: date, previous: date) -> list[dict[str, Any]]:
    now, before = sa.orm.aliased(HealthScore), sa.orm.aliased(HealthScore)
    query = (
        sa.select(now.account_id, before.score, now.score, before.band, now.band)
        .join(before, sa.and_(before.account_id == now.account_id, before.as_of == previous))
        .where(now.as_of == as_of, now.score.is_not(None), before.score.is_not(None))
    )
    with Session(workspace.engine) as session:
        rows = session.execute(query).all()
    moves: list[dict[str, Any]] = [
        {
            "account_id": account_id,
            "score_before": before_score,
            "score": score,
            "change": float(score or 0.0) - float(before_score or 0.0),
            "band_before": before_band,
            "band": band,
        }
        for account_id, before_score, score, before_band, band in rows
    ]
    moves.sort(key=lambda m: (-abs(m["change"]), m["account_id"]))
    return moves[:MOVERS]


def list_snapshots(workspace: Workspace) -> list[date]:
    """The dates of the stored snapshots, oldest first."""
    with Session(workspace.engine) as session:
        return list(
            session.execute(
                sa.select(HealthScore.as_of).distinct().order_by(HealthScore.as_of)
            ).scalars()
        )


#: Columns of :func:`snapshot_rows`, in order.
SNAPSHOT_COLUMNS = (
    "as_of", "account_id", "segment", "scorecard", "stage", "score", "band",
    "churn_probability", "arr_at_risk", "risk_drivers",
)  # fmt: skip


def snapshot_rows(workspace: Workspace, as_of: date) -> list[dict[str, Any]]:
    """The stored snapshot of ``as_of``, one dict per account (keys
    :data:`SNAPSHOT_COLUMNS`; score 0-100, ARR at risk in the base currency per year,
    churn fields null until the risk slice recorded predictions), ordered by account."""
    query = sa.select(HealthScore).where(HealthScore.as_of == as_of)
    with Session(workspace.engine) as session:
        rows = session.execute(query.order_by(HealthScore.account_id)).scalars().all()
        return [{c: getattr(row, c) for c in SNAPSHOT_COLUMNS} for row in rows]


def snapshot_states(workspace: Workspace, as_of: date) -> list[dict[str, Any]]:
    """The ``account_id``, ``band``, ``segment`` and ``churn_probability`` of each
    account in the stored snapshot of ``as_of``, ordered by account: the columns of
    :func:`snapshot_rows` that matching accounts needs, read without the others."""
    query = sa.select(
        HealthScore.account_id, HealthScore.band, HealthScore.segment,
        HealthScore.churn_probability,
    ).where(HealthScore.as_of == as_of)  # fmt: skip
    keys = ("account_id", "band", "segment", "churn_probability")
    with Session(workspace.engine) as session:
        rows = session.execute(query.order_by(HealthScore.account_id))
        return [dict(zip(keys, row, strict=True)) for row in rows]


def latest_scores(workspace: Workspace, on_or_before: date) -> dict[str, tuple[str, float | None]]:
    """Each account's (band, score 0-100) from its latest snapshot on or before
    ``on_or_before``, in one query; accounts without such a snapshot are absent."""
    latest = (
        sa.select(HealthScore.account_id, sa.func.max(HealthScore.as_of).label("as_of"))
        .where(HealthScore.as_of <= on_or_before)
        .group_by(HealthScore.account_id)
        .subquery()
    )
    query = sa.select(HealthScore.account_id, HealthScore.band, HealthScore.score).join(
        latest,
        sa.and_(HealthScore.account_id == latest.c.account_id, HealthScore.as_of == latest.c.as_of),
    )
    with Session(workspace.engine) as session:
        return {account: (band, score) for account, band, score in session.execute(query)}


#: Fields of a health snapshot that group accounts (``--by segment`` and so on).
GROUP_FIELDS = ("segment", "band", "stage", "scorecard")


def account_groups(workspace: Workspace, field: str, on_or_before: date) -> dict[str, str]:
    """Each account's ``field`` (one of :data:`GROUP_FIELDS`) in its latest snapshot on
    or before ``on_or_before`` (point in time: the segment it had then), in one query;
    accounts without such a snapshot are absent."""
    if field not in GROUP_FIELDS:
        raise InputError(f"{field!r} is not a health field", hint=", ".join(GROUP_FIELDS))
    latest = (
        sa.select(HealthScore.account_id, sa.func.max(HealthScore.as_of).label("as_of"))
        .where(HealthScore.as_of <= on_or_before)
        .group_by(HealthScore.account_id)
        .subquery()
    )
    column = getattr(HealthScore, field)
    query = sa.select(HealthScore.account_id, column).join(
        latest,
        sa.and_(HealthScore.account_id == latest.c.account_id, HealthScore.as_of == latest.c.as_of),
    )
    with Session(workspace.engine) as session:
        return {account: str(value) for account, value in session.execute(query)}


def previous_snapshot(workspace: Workspace, as_of: date) -> date | None:
    """The date of the latest stored snapshot before ``as_of``, None when there is none."""
    return _previous_as_of(workspace, as_of)


def explain_account(
    workspace: Workspace, account_id: str, as_of: date | None = None
) -> dict[str, Any]:
    """Why ``account_id`` has its score: the latest snapshot on or before ``as_of`` (the
    latest of all when None) with every measure's value, points, weight and contribution,
    the measures without data, and the change since the previous snapshot with the
    measures that drove it (largest change of contribution first)."""
    current = _snapshot(workspace, account_id, as_of)
    if current is None:
        raise NotFoundError(
            f"no health snapshot for account {account_id!r}"
            + (f" on or before {as_of.isoformat()}" if as_of else ""),
            hint="run `keepwell score` first, and check the account id",
        )
    previous_date = _previous_as_of(workspace, current.as_of, account_id)
    previous = _snapshot(workspace, account_id, previous_date) if previous_date else None
    return {
        "account_id": account_id,
        "as_of": current.as_of,
        "segment": current.segment,
        "scorecard": current.scorecard,
        "stage": current.stage,
        "stage_overdue": current.stage_overdue,
        "days_in_stage": current.days_in_stage,
        "stage_entered_on": (
            None
            if current.days_in_stage is None
            else current.as_of - timedelta(days=int(current.days_in_stage))
        ),
        "score": current.score,
        "band": current.band,
        **current.details,
        "previous": _change(current, previous),
        "risk": _risk_of(current),
    }


def _risk_of(row: HealthScore) -> dict[str, Any] | None:
    if row.churn_probability is None:
        return None
    return {
        "churn_probability": row.churn_probability,
        "arr_at_risk": None if row.arr_at_risk is None else float(row.arr_at_risk),
        "drivers": row.risk_drivers or [],
    }


def record_risk(workspace: Workspace, as_of: date, rows: Sequence[Mapping[str, Any]]) -> int:
    """Store churn predictions with the snapshot of ``as_of``. Each row has
    ``account_id``, ``churn_probability`` (0-1), ``arr_at_risk`` (p x ARR, base currency
    per year) and ``risk_drivers`` (JSON list). Earlier predictions of that day are
    cleared first; accounts without a snapshot row that day are skipped. Returns the
    number of rows written."""
    with transaction(workspace.engine) as session:
        known = set(
            session.execute(
                sa.select(HealthScore.account_id).where(HealthScore.as_of == as_of)
            ).scalars()
        )
        session.execute(
            sa.update(HealthScore)
            .where(HealthScore.as_of == as_of)
            .values(churn_probability=None, arr_at_risk=None, risk_drivers=sa.null())
        )
        updates = [
            {
                "as_of": as_of,
                "account_id": r["account_id"],
                "churn_probability": float(r["churn_probability"]),
                "arr_at_risk": r["arr_at_risk"],
                "risk_drivers": _jsonable(list(r["risk_drivers"])),
            }
            for r in rows
            if r["account_id"] in known
        ]
        for start in range(0, len(updates), SNAPSHOT_BATCH):
            session.execute(sa.update(HealthScore), updates[start : start + SNAPSHOT_BATCH])
    return len(updates)


@dataclass(frozen=True)
class PointInTime:
    """The portfolio's health as of one day and, when already known, what followed:
    ``outcomes`` maps account -> (churned, contracted) over the horizon (see
    :mod:`keepwell.health.backtest`), None when the horizon passes the data's end."""

    as_of: date
    accounts: list[AccountHealth]
    outcomes: dict[str, tuple[bool, bool]] | None


def point_in_time_history(
    workspace: Workspace, days: Sequence[date], horizon_days: int, *, until: date | None = None
) -> list[PointInTime]:
    """Assess the portfolio as of each of ``days`` with only the data available then
    (the back-test's snapshots), with churn and contraction over ``horizon_days`` when
    ``day + horizon <= until`` (default: the last day with data). One query assesses
    every day (:func:`~keepwell.health.portfolio.assess_history`), one more reads the
    MRR the outcomes need."""
    if not days:
        return []
    inputs = measure_inputs(workspace)
    end = until or data_end(inputs)
    config = health_config(workspace)
    assessed = {  # time in stage from the stage history known then, as :func:`assess`
        day: time_in_stage(rows, _last_entries(workspace, day), config.stages)
        for day, rows in assess_history(inputs, days, config).items()
    }
    known = [d for d in days if end is not None and d + timedelta(days=horizon_days) <= end]
    happened = outcomes_history(inputs.subscriptions, known, horizon_days)
    return [PointInTime(day, assessed[day], happened.get(day)) for day in days]


#: Outcome columns of :func:`point_in_time_frame` (1.0 / 0.0; NaN: not known yet).
CHURNED, CONTRACTED = "churned", "contracted"


def point_in_time_frame(
    workspace: Workspace, days: Sequence[date], horizon_days: int, *, until: date | None = None
) -> pd.DataFrame:
    """:func:`point_in_time_history` as one frame, for a model to learn from: a row per
    (``as_of``, customer) with every value :attr:`AccountHealth.values` holds, the
    ``health_score`` (NaN: no data) and the outcomes ``churned`` and ``contracted`` over
    ``horizon_days`` (NaN on the days whose horizon passes ``until``; no such columns
    when no day's does). Without the per-account explanations nor the time in stage,
    which a snapshot stores and a model does not read: a million rows at 50,000
    accounts."""
    inputs = measure_inputs(workspace)
    end = until or data_end(inputs)
    frame = history_frame(inputs, days, health_config(workspace))
    known = [d for d in days if end is not None and d + timedelta(days=horizon_days) <= end]
    if not known:
        return frame
    outcomes = outcomes_frame(inputs.subscriptions, known, horizon_days, (CHURNED, CONTRACTED))
    frame = frame.merge(outcomes, on=[AS_OF, "account_id"], how="left", validate="1:1")
    on_known = frame[AS_OF].isin(set(known)).to_numpy()
    for column in (CHURNED, CONTRACTED):  # a customer without MRR on the day: neither
        frame[column] = np.where(on_known, frame[column].fillna(0.0), np.nan)
    return frame


def _snapshot(workspace: Workspace, account_id: str, as_of: date | None) -> HealthScore | None:
    query = sa.select(HealthScore).where(HealthScore.account_id == account_id)
    if as_of is not None:
        query = query.where(HealthScore.as_of <= as_of)
    with Session(workspace.engine) as session:
        return session.execute(
            query.order_by(HealthScore.as_of.desc()).limit(1)
        ).scalar_one_or_none()


def _change(current: HealthScore, previous: HealthScore | None) -> dict[str, Any] | None:
    if previous is None:
        return None
    before = {m["measure"]: m for m in previous.details.get("measures", [])}
    drivers = []
    for m in current.details.get("measures", []):
        old = before.get(m["measure"], {})
        delta = (m.get("contribution") or 0.0) - (old.get("contribution") or 0.0)
        if abs(delta) > 1e-9:
            drivers.append(
                {
                    "measure": m["measure"],
                    "contribution_change": delta,
                    "value_before": old.get("value"),
                    "value": m.get("value"),
                }
            )
    drivers.sort(key=lambda d: -abs(d["contribution_change"]))
    change = None
    if current.score is not None and previous.score is not None:
        change = current.score - previous.score
    return {
        "as_of": previous.as_of,
        "score": previous.score,
        "band": previous.band,
        "change": change,
        "drivers": drivers,
    }


def data_end(inputs: MeasureInputs) -> date | None:
    """The last day the stores hold facts for: the latest event day or line start."""
    days = [
        inputs.rollup.day.max().to_pyarrow().as_py(),
        inputs.subscriptions.starts_on.max().to_pyarrow().as_py(),
    ]
    known = [d for d in days if d is not None]
    return max(known) if known else None


def first_usage_day(workspace: Workspace) -> date | None:
    """The first day of product usage data (event rollup), None when there is none (one
    aggregate: no table is read whole)."""
    day: date | None = workspace.analytics().rollup().day.min().to_pyarrow().as_py()
    return day


def last_data_day(workspace: Workspace) -> date | None:
    """:func:`data_end` of the workspace: the last day its stores hold facts for (the
    latest event day or line start), two aggregates (every page's default day reads
    it: never a table read whole)."""
    event_day: date | None = workspace.analytics().rollup().day.max().to_pyarrow().as_py()
    start_day: date | None = contract_service.latest(workspace, "subscriptions", "starts_on")
    known = [d for d in (event_day, start_day) if d is not None]
    return max(known) if known else None


def data_as_of(workspace: Workspace, requested: date | None, today: date) -> periods.AsOf:
    """The day every face works as of (one rule for CLI, API and pages): ``requested``,
    or by default today, or the data's last day (:func:`last_data_day`) when today is
    past it. A requested day after both is refused (:func:`periods.resolve_as_of`)."""
    if requested is not None and requested <= today:  # allowed whatever the data holds:
        return periods.resolve_as_of(requested, today, None)  # no store to open
    try:
        last = last_data_day(workspace)
    except StoreError:  # the events store is held by a running server: today, as before
        last = None
    return periods.resolve_as_of(requested, today, last)


def backtest_scores(
    workspace: Workspace,
    first_month: date,
    last_month: date,
    horizon_days: int = 180,
    *,
    until: date | None = None,
) -> BacktestReport:
    """Score the portfolio as of each month end from ``first_month`` to ``last_month``
    (only data available then) and compare with churn and contraction in the following
    ``horizon_days``. Months whose horizon passes ``until`` (default: the last day with
    data) are skipped, since what happened next is not known yet."""
    if horizon_days < 1:
        raise InputError(f"horizon must be at least 1 day, got {horizon_days}")
    if last_month < first_month:
        raise InputError(
            f"--to {last_month:%Y-%m} is before --from {first_month:%Y-%m}",
            hint="give the earlier month first",
        )
    inputs = measure_inputs(workspace)
    end = until or data_end(inputs)
    if end is None:
        raise InputError("the workspace holds no data to back-test", hint="import data first")
    months = month_ends(first_month, last_month)
    return run_backtest(inputs, health_config(workspace), months, horizon_days, end)


#: Columns of :func:`latest_snapshot`'s rows.
LATEST_COLUMNS = (
    "segment", "stage", "days_in_stage", "stage_overdue", "band", "score",
    "churn_probability", "arr_at_risk",
)  # fmt: skip


def latest_snapshot(
    workspace: Workspace, as_of: date
) -> tuple[date | None, dict[str, dict[str, Any]]]:
    """The date of the latest stored snapshot on or before ``as_of`` and its rows per
    account (:data:`LATEST_COLUMNS`: score 0-100, churn fields null until the risk slice
    recorded predictions); ``(None, {})`` when there is none."""
    with Session(workspace.engine) as session:
        snapshot = session.execute(
            sa.select(sa.func.max(HealthScore.as_of)).where(HealthScore.as_of <= as_of)
        ).scalar_one_or_none()
        if snapshot is None:
            return None, {}
        columns = [HealthScore.account_id] + [getattr(HealthScore, c) for c in LATEST_COLUMNS]
        query = sa.select(*columns).where(HealthScore.as_of == snapshot)
        return snapshot, {r.account_id: dict(r._mapping) for r in session.execute(query)}


BANDS = ("green", "yellow", "red", "unknown")
#: Account ids per ``IN`` list when counting the bands of some accounts.
_CHUNK = 500


def band_trend(
    workspace: Workspace, snapshots: int = 12, accounts: Collection[str] | None = None
) -> list[dict[str, Any]]:
    """Accounts per band (:data:`BANDS`) in each of the last ``snapshots`` stored
    snapshots, oldest first, counting only ``accounts`` when given."""
    with Session(workspace.engine) as session:
        dates = list(
            session.execute(
                sa.select(HealthScore.as_of)
                .distinct()
                .order_by(HealthScore.as_of.desc())
                .limit(snapshots)
            ).scalars()
        )
        if not dates:
            return []
        query = (
            sa.select(HealthScore.as_of, HealthScore.band, sa.func.count())
            .where(HealthScore.as_of.in_(dates))
            .group_by(HealthScore.as_of, HealthScore.band)
        )
        if accounts is None:
            found = list(session.execute(query).all())
        else:  # counts of disjoint chunks add up
            ids = sorted(accounts)
            found = []
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                found += session.execute(query.where(HealthScore.account_id.in_(chunk))).all()
    trend = {d: dict.fromkeys(BANDS, 0) for d in sorted(dates)}
    for as_of, band, count in found:
        trend[as_of][band if band in BANDS else "unknown"] += int(count)
    return [{"as_of": d, **counts} for d, counts in trend.items()]


def usage_of(
    workspace: Workspace, account_ids: Collection[str] | None, as_of: date
) -> dict[str, dict[str, Any]]:
    """The usage measures (:data:`~keepwell.health.usage.USAGE_MEASURES`: active users
    and events over 30 days, ...) of ``account_ids`` (None: every account) as of
    ``as_of``, per account with any event up to then: the same figures the health score
    reads. Thousands of ids make a query slow to compile: ask for every account then."""
    rollup = workspace.analytics().rollup()
    mine = (
        rollup
        if account_ids is None
        else rollup.filter(rollup.account_id.isin(sorted(account_ids)))
    )
    usage = health_config(workspace).measures.usage
    rows = usage_measures(mine, as_of, usage).to_pyarrow().to_pylist()
    return {r["account_id"]: {k: r[k] for k in USAGE_MEASURES} for r in rows}


#: Month ends of the recent back-test, ending its horizon before the last day with data.
RECENT_BACKTEST_MONTHS = 12
RECENT_BACKTEST_HORIZON_DAYS = 180
BacktestRun = background.BacktestRun


def backtest_recent(
    workspace: Workspace,
    months: int = RECENT_BACKTEST_MONTHS,
    horizon_days: int = RECENT_BACKTEST_HORIZON_DAYS,
) -> tuple[date, BacktestReport]:
    """:func:`backtest_scores` of the last ``months`` month ends whose outcome over
    ``horizon_days`` is known (the last one ends ``horizon_days`` before the last day
    with data); returns that day and the report."""
    end = data_end(measure_inputs(workspace))
    if end is None:
        raise InputError("the workspace holds no data to back-test", hint="import data first")
    last = periods.previous_month(end - timedelta(days=horizon_days))
    first = last
    for _ in range(months - 1):
        first = periods.previous_month(first)
    return end, backtest_scores(workspace, first, last, horizon_days, until=end)


def start_recent_backtest(workspace: Workspace, now: datetime) -> BacktestRun:
    """Start :func:`backtest_recent` in the background (once at a time per workspace)."""
    return background.start_run(workspace.key, now, lambda: backtest_recent(workspace))


def recent_backtest(workspace: Workspace) -> BacktestRun | None:
    """The latest back-test started by :func:`start_recent_backtest` in this process."""
    return background.latest_run(workspace.key)


#: NPS answers up to this score are detractors, from :data:`PROMOTER_MIN` promoters.
DETRACTOR_MAX, PROMOTER_MIN = operational.DETRACTOR_MAX, operational.PROMOTER_MIN


def nps_signals(workspace: Workspace, as_of: date) -> dict[str, operational.NpsSignals]:
    """Per account: NPS detractor answers in the 90 days up to ``as_of`` (local days of
    the workspace's time zone), the latest NPS answer then and the latest detractor
    answer (see :func:`keepwell.health.operational.nps_signals`)."""
    surveys = contract_service.read_table(workspace, "surveys")
    rows = surveys.select(["account_id", "kind", "score", "responded_at"]).to_pylist()
    return operational.nps_signals(rows, as_of, workspace.setting("timezone"))
