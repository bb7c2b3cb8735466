"""The health of every customer as of a date: measures, segment, stage and score.

Pure composition of the measure table (Ibis), the segment and stage rules (Ibis) and the
scorecards (Python, because explanations are per account). No store is touched here.
Many days are assessed from one query (:func:`assess_history`), as the back-test and
the churn model's training snapshots need them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import pyarrow as pa

from keepwell.health.config import HealthConfig
from keepwell.health.days import AS_OF, AsOfDays
from keepwell.health.measures import MeasureInputs, compute_history, history_days
from keepwell.health.scorecard import AccountScore, portfolio_scores, score_portfolio
from keepwell.health.segments import assign_segments_and_stages

#: The overall score's column in :func:`history_frame`.
HEALTH_SCORE = "health_score"


@dataclass(frozen=True)
class AccountHealth:
    """One customer's health as of a date, with what a snapshot keeps of it."""

    as_of: date
    score: AccountScore
    stage: str
    stage_overdue: bool
    days_in_stage: float | None
    values: dict[str, Any]
    #: the stage's outcome KPI met (None: the stage has none, or no data)
    stage_outcome: bool | None = None
    #: the day the account entered its stage (from the stage history; None: unknown)
    stage_entered_on: date | None = None

    def details(self) -> dict[str, Any]:
        """The explanation stored with a snapshot (JSON-ready)."""
        data = self.score.to_dict()
        return {
            "groups": data["groups"],
            "measures": data["measures"],
            "missing": data["missing"],
            "mrr": self.values.get("mrr"),
            "arr": self.values.get("arr"),
        }


def assess_portfolio(
    inputs: MeasureInputs, as_of: date, config: HealthConfig
) -> list[AccountHealth]:
    """Score every customer as of ``as_of`` with ``config`` (see :mod:`scorecard`)."""
    return assess_history(inputs, [as_of], config)[as_of]


def assess_history(
    inputs: MeasureInputs, days: Iterable[date], config: HealthConfig
) -> dict[date, list[AccountHealth]]:
    """:func:`assess_portfolio` as of each of ``days`` (every day a key, oldest first),
    from one query over the inputs (:func:`~keepwell.health.measures.compute_history`)
    instead of one per day. Percentiles are taken among the customers of the same day."""
    wanted, arrow = history_table(inputs, days, config)
    on = arrow[AS_OF].to_pylist()
    rows = arrow.drop_columns([AS_OF]).to_pylist()
    result: dict[date, list[AccountHealth]] = {day: [] for day in wanted.days}
    start = 0
    for day in wanted.days:
        stop = bisect_right(on, day, lo=start)
        result[day] = _assess(day, rows[start:stop], config)
        start = stop
    return result


def history_table(
    inputs: MeasureInputs, days: Iterable[date], config: HealthConfig
) -> tuple[AsOfDays, pa.Table]:
    """The days of :func:`assess_history` and its one query's result: every measure,
    segment and stage per (``as_of``, customer), ordered by day and account."""
    wanted = history_days(inputs, days, config.measures)
    measures = compute_history(inputs, wanted, config.measures)
    table = assign_segments_and_stages(measures, config.segments, config.stages)
    return wanted, table.order_by([AS_OF, "account_id"]).to_pyarrow()


def history_frame(
    inputs: MeasureInputs, days: Iterable[date], config: HealthConfig
) -> pd.DataFrame:
    """:func:`assess_history` as one frame, without the per-account explanations: a row
    per (``as_of``, customer) with the values :attr:`AccountHealth.values` holds and
    ``health_score`` (NaN: no measure had data), scored column-wise
    (:func:`~keepwell.health.scorecard.portfolio_scores`: the same scores)."""
    _, arrow = history_table(inputs, days, config)
    frame: pd.DataFrame = arrow.to_pandas(date_as_object=True)
    measures = {r.measure for c in config.scorecards.values() for g in c.groups for r in g.measures}
    frame[HEALTH_SCORE] = portfolio_scores(
        {m: frame[m].to_numpy() for m in measures if m in frame},
        frame["segment"].tolist(),
        frame[AS_OF].to_numpy(),
        config,
    )
    return frame


def _assess(as_of: date, rows: list[dict[str, Any]], config: HealthConfig) -> list[AccountHealth]:
    scores = score_portfolio(rows, config)
    return [
        AccountHealth(
            as_of=as_of,
            score=score,
            stage=str(row["stage"]),
            stage_overdue=bool(row["stage_overdue"]),
            days_in_stage=row["days_in_stage"],
            values=row,
            stage_outcome=row["stage_outcome"],
        )
        for row, score in zip(rows, scores, strict=True)
    ]
