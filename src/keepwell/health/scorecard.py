"""Scoring: measures to points, points to group scores, groups to an overall score and band.

Pure logic over plain rows (one mapping of measure values per account). Formulas:

- measure points (0–100): thresholds or percentile within the segment (see
  :class:`~keepwell.health.config.MeasureRule`);
- group score = Σ wᵢ·pᵢ / Σ wᵢ over the measures *with data* (renormalized); with
  ``any_red`` a red measure caps the group at that measure's points, so the group is red;
- overall score = Σ W_g·s_g / Σ W_g over the groups with data; null when nothing has data;
- each measure's contribution = points × its effective weight (its share of the overall
  score), so contributions sum to the overall score.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from keepwell.core.errors import ConfigurationError
from keepwell.health.config import Bands, Group, HealthConfig, MeasureRule, Scorecard


class Band(StrEnum):
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"
    UNKNOWN = "unknown"


def band_of(score: float | None, bands: Bands) -> Band:
    """Red below ``red_below``, green above ``green_above``, else yellow; unknown if null."""
    if score is None:
        return Band.UNKNOWN
    if score < bands.red_below:
        return Band.RED
    if score > bands.green_above:
        return Band.GREEN
    return Band.YELLOW


def threshold_points(value: float, red: float, green: float) -> float:
    """``clamp(50 + 25 × (value − red) / (green − red), 0, 100)``: red → 50, green → 75."""
    return min(100.0, max(0.0, 50.0 + 25.0 * (value - red) / (green - red)))


def percentile_points(value: float, ordered: Sequence[float], higher_is_better: bool) -> float:
    """Percentile rank (0–100) of ``value`` in ``ordered`` (sorted), ties counting half."""
    if not ordered:
        return 50.0
    below = bisect_left(ordered, value)
    equal = bisect_right(ordered, value) - below
    rank = 100.0 * (below + 0.5 * equal) / len(ordered)
    return rank if higher_is_better else 100.0 - rank


def as_number(value: Any) -> float | None:
    """A measure value as a float; None (no data) for null and NaN."""
    kind = type(value)
    if kind is float:
        return None if value != value else value
    if kind is int or kind is bool:
        return float(value)
    if isinstance(value, int | float | Decimal):
        number = float(value)
        return None if math.isnan(number) else number
    return None


class MeasureScore(NamedTuple):
    measure: str
    group: str
    value: float | None
    points: float | None
    weight: float
    effective_weight: float
    contribution: float
    band: Band


class GroupScore(NamedTuple):
    name: str
    score: float | None
    weight: float
    effective_weight: float
    capped_by_red: bool
    band: Band


@dataclass(frozen=True)
class AccountScore:
    account_id: str
    segment: str
    scorecard: str
    score: float | None
    band: Band
    groups: tuple[GroupScore, ...]
    measures: tuple[MeasureScore, ...]
    missing: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "segment": self.segment,
            "scorecard": self.scorecard,
            "score": self.score,
            "band": self.band,
            "groups": [g._asdict() for g in self.groups],
            "measures": [m._asdict() for m in self.measures],
            "missing": list(self.missing),
        }


class PercentileIndex:
    """Sorted values of each measure per segment, for percentile mapping."""

    def __init__(self, rows: Sequence[Mapping[str, Any]], measures: set[str]) -> None:
        values: dict[tuple[str, str], list[float]] = defaultdict(list)
        for row in rows:
            for measure in measures:
                number = as_number(row.get(measure))
                if number is not None:
                    values[(str(row["segment"]), measure)].append(number)
        self._sorted = {key: sorted(v) for key, v in values.items()}

    def points(self, segment: str, rule: MeasureRule, value: float) -> float:
        ordered = self._sorted.get((segment, rule.measure), [])
        return percentile_points(value, ordered, rule.higher_is_better)


def _points(rule: MeasureRule, value: float, segment: str, index: PercentileIndex) -> float:
    if rule.percentile:
        return index.points(segment, rule, value)
    if rule.red is None or rule.green is None:
        raise ConfigurationError(f"measure {rule.measure}: no thresholds and no percentile")
    return threshold_points(value, rule.red, rule.green)


@dataclass(frozen=True)
class _Scored:
    group: Group
    raw: float | None
    score: float | None
    points: dict[str, float]
    values: dict[str, float | None]


def _score_group(
    group: Group, row: Mapping[str, Any], segment: str, index: PercentileIndex, bands: Bands
) -> _Scored:
    values: dict[str, float | None] = {}
    points: dict[str, float] = {}
    weight_sum = weighted = 0.0
    lowest_red: float | None = None
    for rule in group.measures:
        value = values[rule.measure] = as_number(row.get(rule.measure))
        if value is None:
            continue
        p = points[rule.measure] = _points(rule, value, segment, index)
        weight_sum += rule.weight
        weighted += rule.weight * p
        if p < bands.red_below and (lowest_red is None or p < lowest_red):
            lowest_red = p
    if not points:
        return _Scored(group, None, None, points, values)
    raw = weighted / weight_sum
    score = min(raw, lowest_red) if group.any_red and lowest_red is not None else raw
    return _Scored(group, raw, score, points, values)


def score_account(
    row: Mapping[str, Any], scorecard: Scorecard, bands: Bands, index: PercentileIndex
) -> AccountScore:
    """The score of one account (``row`` holds ``account_id``, ``segment`` and measures)."""
    segment = str(row["segment"])
    scored = [_score_group(g, row, segment, index, bands) for g in scorecard.groups]
    with_data = [s for s in scored if s.score is not None]
    total_weight = sum(s.group.weight for s in with_data)
    overall = (
        sum(s.group.weight * (s.score or 0.0) for s in with_data) / total_weight
        if with_data
        else None
    )
    groups: list[GroupScore] = []
    measures: list[MeasureScore] = []
    for s in scored:
        share = s.group.weight / total_weight if s.score is not None else 0.0
        groups.append(
            GroupScore(
                s.group.name, s.score, s.group.weight, share,
                s.score is not None and s.raw is not None and s.score < s.raw,
                band_of(s.score, bands),
            )
        )  # fmt: skip
        measures.extend(_measure_scores(s, share, bands))
    missing = tuple(m.measure for m in measures if m.points is None)
    return AccountScore(
        account_id=str(row["account_id"]),
        segment=segment,
        scorecard=scorecard.name,
        score=overall,
        band=band_of(overall, bands),
        groups=tuple(groups),
        measures=tuple(measures),
        missing=missing,
    )


def _measure_scores(s: _Scored, share: float, bands: Bands) -> list[MeasureScore]:
    in_group = sum(r.weight for r in s.group.measures if r.measure in s.points)
    scale = s.score / s.raw if s.score is not None and s.raw else 1.0
    result = []
    for rule in s.group.measures:
        points = s.points.get(rule.measure)
        effective = share * rule.weight / in_group if points is not None else 0.0
        result.append(
            MeasureScore(
                measure=rule.measure,
                group=s.group.name,
                value=s.values[rule.measure],
                points=points,
                weight=rule.weight,
                effective_weight=effective,
                contribution=(points or 0.0) * effective * scale,
                band=band_of(points, bands),
            )
        )
    return result


def score_portfolio(rows: Sequence[Mapping[str, Any]], config: HealthConfig) -> list[AccountScore]:
    """Score every row (each with ``account_id``, ``segment`` and measure values).

    Percentiles are taken within each segment over the rows given.
    """
    measures = {
        r.measure
        for card in config.scorecards.values()
        for g in card.groups
        for r in g.measures
        if r.percentile
    }
    index = PercentileIndex(rows, measures)
    return [
        score_account(row, config.scorecard_for(str(row["segment"])), config.bands, index)
        for row in rows
    ]


def _numbers(values: Any) -> np.ndarray:
    """A measure column as floats, NaN where :func:`as_number` gives None (null, NaN,
    text)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        return values.astype(float)
    return np.array([np.nan if (n := as_number(v)) is None else n for v in values], dtype=float)


def _percentiles(
    values: np.ndarray, groups: Sequence[np.ndarray], higher_is_better: bool
) -> np.ndarray:
    """:func:`percentile_points` of each value among the values of its group (rows
    ``groups[k]``), NaN where the value is NaN."""
    points = np.full(len(values), np.nan)
    for rows in groups:
        v = values[rows]
        known = ~np.isnan(v)
        if not known.any():
            continue
        ordered = np.sort(v[known])
        below = np.searchsorted(ordered, v[known], side="left")
        equal = np.searchsorted(ordered, v[known], side="right") - below
        rank = 100.0 * (below + 0.5 * equal) / len(ordered)
        points[rows[known]] = rank if higher_is_better else 100.0 - rank
    return points


def portfolio_scores(
    columns: Mapping[str, Any],
    segments: Sequence[str] | np.ndarray,
    days: Sequence[Any] | np.ndarray,
    config: HealthConfig,
) -> np.ndarray:
    """The overall score of every row, as :func:`score_portfolio` gives it for the rows of
    each day (percentiles among the rows of the same day and segment), NaN where it is
    None. Columns of values, not a call per account: the training history scores a
    million rows. ``columns``: measure name -> one value per row (missing: no data)."""
    n = len(segments)
    segment = np.asarray([str(s) for s in segments], dtype=object)
    keys = pd.DataFrame({"day": np.asarray(days), "segment": segment})
    groups = [np.asarray(g) for g in keys.groupby(["day", "segment"], sort=False).indices.values()]
    numbers: dict[str, np.ndarray] = {}

    def points(rule: MeasureRule) -> np.ndarray:
        if rule.measure not in numbers:
            numbers[rule.measure] = (
                _numbers(columns[rule.measure]) if rule.measure in columns else np.full(n, np.nan)
            )
        value = numbers[rule.measure]
        if rule.percentile:
            return _percentiles(value, groups, rule.higher_is_better)
        if rule.red is None or rule.green is None:
            raise ConfigurationError(f"measure {rule.measure}: no thresholds and no percentile")
        return np.minimum(
            100.0, np.maximum(0.0, 50.0 + 25.0 * (value - rule.red) / (rule.green - rule.red))
        )

    result = np.full(n, np.nan)
    cards = pd.Series([config.scorecard_for(s).name for s in segment], dtype=object)
    for name, indices in cards.groupby(cards, sort=False).indices.items():
        rows = np.asarray(indices)
        card = config.scorecards[str(name)]
        total = np.zeros(len(rows))
        weighted_total = np.zeros(len(rows))
        for group in card.groups:
            score = _group_scores(group, points, rows, config.bands)
            known = ~np.isnan(score)
            total = np.where(known, total + group.weight, total)
            weighted_total = np.where(known, weighted_total + group.weight * score, weighted_total)
        with np.errstate(invalid="ignore", divide="ignore"):
            result[rows] = np.where(total > 0, weighted_total / total, np.nan)
    return result


def _group_scores(group: Group, points: Any, rows: np.ndarray, bands: Bands) -> np.ndarray:
    """:func:`_score_group`'s score of ``rows``, in the same order of operations."""
    weight_sum = np.zeros(len(rows))
    weighted = np.zeros(len(rows))
    lowest_red = np.full(len(rows), np.inf)
    for rule in group.measures:
        p = points(rule)[rows]
        known = ~np.isnan(p)
        weight_sum = np.where(known, weight_sum + rule.weight, weight_sum)
        weighted = np.where(known, weighted + rule.weight * p, weighted)
        lowest_red = np.where(known & (p < bands.red_below), np.minimum(lowest_red, p), lowest_red)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(weight_sum > 0, weighted / weight_sum, np.nan)
    if group.any_red:
        raw = np.where(np.isfinite(lowest_red), np.minimum(raw, lowest_red), raw)
    return raw
