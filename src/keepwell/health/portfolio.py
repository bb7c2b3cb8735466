"""The health of every customer as of a date: measures, segment, stage and score.

Pure composition of the measure table (Ibis), the segment and stage rules (Ibis) and the
scorecards (Python, because explanations are per account). No store is touched here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from keepwell.health.config import HealthConfig
from keepwell.health.measures import MeasureInputs, compute_measures
from keepwell.health.scorecard import AccountScore, score_portfolio
from keepwell.health.segments import assign_segments_and_stages


@dataclass(frozen=True)
class AccountHealth:
    """One customer's health as of a date, with what a snapshot keeps of it."""

    as_of: date
    score: AccountScore
    stage: str
    stage_overdue: bool
    days_in_stage: float | None
    values: dict[str, Any]

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
    measures = compute_measures(inputs, as_of, config.measures)
    table = assign_segments_and_stages(measures, config.segments, config.stages)
    rows = table.order_by("account_id").to_pyarrow().to_pylist()
    scores = score_portfolio(rows, config)
    return [
        AccountHealth(
            as_of=as_of,
            score=score,
            stage=str(row["stage"]),
            stage_overdue=bool(row["stage_overdue"]),
            days_in_stage=row["days_in_stage"],
            values=row,
        )
        for row, score in zip(rows, scores, strict=True)
    ]
