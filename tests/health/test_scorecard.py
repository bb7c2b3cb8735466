"""Points, bands, renormalization, the any-red rule, percentiles, segments and stages."""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pytest

from keepwell.health.config import Bands, parse_config
from keepwell.health.scorecard import (
    Band,
    band_of,
    percentile_points,
    portfolio_scores,
    score_portfolio,
    threshold_points,
)
from keepwell.health.segments import assign_segments_and_stages

CONFIG = """\
bands: {red_below: 50, green_above: 75}
segments:
  - {name: big, rule: arr >= 100000}
  - {name: small, rule: "true"}
stages:
  - {name: renewal, rule: days_to_renewal <= 90}
  - {name: onboarding, rule: tenure_days < 120, expected_days: 60, elapsed: tenure_days}
  - {name: value, rule: "true"}
scorecards:
  default:
    groups:
      - name: usage
        weight: 3
        measures:
          - {measure: active_users_30d, weight: 2, red: 2, green: 10}
          - {measure: days_since_last_activity, weight: 1, red: 14, green: 3}
      - name: relationship
        weight: 1
        any_red: true
        measures:
          - {measure: has_sponsor, red: 0.5, green: 0.75}
          - {measure: days_since_meeting, red: 120, green: 45}
      - name: sentiment
        weight: 1
        measures:
          - {measure: nps_180d, percentile: true}
"""


@pytest.mark.parametrize(
    ("score", "band"),
    [(None, Band.UNKNOWN), (0, Band.RED), (49.999, Band.RED), (50, Band.YELLOW),
     (75, Band.YELLOW), (75.001, Band.GREEN), (100, Band.GREEN)],
)  # fmt: skip
def test_band_boundaries(score: float | None, band: Band) -> None:
    assert band_of(score, Bands()) is band


def test_custom_band_boundaries() -> None:
    assert band_of(59.9, Bands(red_below=60, green_above=80)) is Band.RED
    assert band_of(80.5, Bands(red_below=60, green_above=80)) is Band.GREEN


def test_threshold_points_are_direction_aware() -> None:
    assert threshold_points(2, red=2, green=10) == 50
    assert threshold_points(10, red=2, green=10) == 75
    assert threshold_points(26, red=2, green=10) == 100
    assert threshold_points(-100, red=2, green=10) == 0
    assert threshold_points(14, red=14, green=3) == 50  # lower is better
    assert threshold_points(3, red=14, green=3) == 75
    assert threshold_points(20, red=14, green=3) < 50
    assert threshold_points(0, red=14, green=3) > 75


def test_percentile_points() -> None:
    ordered = [1.0, 2.0, 3.0, 4.0]
    assert percentile_points(4.0, ordered, True) == pytest.approx(87.5)
    assert percentile_points(1.0, ordered, False) == pytest.approx(87.5)
    assert percentile_points(2.5, ordered, True) == pytest.approx(50)


def _row(**values: Any) -> dict[str, Any]:
    return {"account_id": "A", "segment": "small", **values}


def _score(rows: list[dict[str, Any]]) -> Any:
    return score_portfolio(rows, parse_config(CONFIG))


def test_full_data_score_and_contributions() -> None:
    row = _row(active_users_30d=10, days_since_last_activity=3, has_sponsor=1,
               days_since_meeting=45, nps_180d=30)  # fmt: skip
    (score,) = _score([row])
    # usage 75, relationship (100 + 75) / 2, sentiment: alone in segment → 50
    expected = (3 * 75 + 1 * 87.5 + 1 * 50) / 5
    assert score.score == pytest.approx(expected)
    assert score.band is Band.YELLOW
    assert sum(m.contribution for m in score.measures) == pytest.approx(expected)
    assert score.missing == ()


def test_weights_renormalize_over_measures_with_data() -> None:
    (score,) = _score([_row(active_users_30d=10, has_sponsor=1)])
    # usage: only active_users (75); relationship: only sponsor (100); sentiment: none
    assert score.score == pytest.approx((3 * 75 + 1 * 100) / 4)
    assert set(score.missing) == {"days_since_last_activity", "days_since_meeting", "nps_180d"}
    usage = {m.measure: m for m in score.measures if m.group == "usage"}
    assert usage["active_users_30d"].effective_weight == pytest.approx(3 / 4)
    assert usage["days_since_last_activity"].effective_weight == 0
    assert sum(m.contribution for m in score.measures) == pytest.approx(score.score)


def test_no_data_at_all_is_unknown() -> None:
    (score,) = _score([_row()])
    assert score.score is None
    assert score.band is Band.UNKNOWN


def test_any_red_measure_makes_the_group_red() -> None:
    (score,) = _score([_row(has_sponsor=0, days_since_meeting=0)])
    relationship = next(g for g in score.groups if g.name == "relationship")
    sponsor = next(m for m in score.measures if m.measure == "has_sponsor")
    assert sponsor.points == 0
    assert relationship.capped_by_red
    assert relationship.score == 0
    assert relationship.band is Band.RED
    assert sum(m.contribution for m in score.measures) == pytest.approx(score.score)
    (usage_only,) = _score([_row(active_users_30d=0, days_since_last_activity=1)])
    usage = next(g for g in usage_only.groups if g.name == "usage")
    assert not usage.capped_by_red  # the usage group has no any_red rule
    red_points, fine_points = threshold_points(0, 2, 10), threshold_points(1, 14, 3)
    assert red_points < 50
    assert usage.score == pytest.approx((2 * red_points + fine_points) / 3)


def test_percentiles_are_taken_within_the_segment() -> None:
    rows = [
        {"account_id": "a", "segment": "big", "nps_180d": 10},
        {"account_id": "b", "segment": "big", "nps_180d": 20},
        {"account_id": "c", "segment": "small", "nps_180d": -50},
    ]
    scores = {s.account_id: s.score for s in _score(rows)}
    assert scores == {"a": pytest.approx(25), "b": pytest.approx(75), "c": pytest.approx(50)}


def test_segments_and_stages_follow_the_first_matching_rule() -> None:
    config = parse_config(CONFIG)
    table = ibis.memtable(
        pa.table(
            {
                "account_id": ["A", "B", "C", "D"],
                "arr": [200_000.0, 10_000.0, None, 50_000.0],
                "days_to_renewal": [30, 200, None, 400],
                "tenure_days": [400, 100, 30, None],
            }
        )
    )
    result = assign_segments_and_stages(table, config.segments, config.stages)
    rows = {r["account_id"]: r for r in result.to_pyarrow().to_pylist()}
    assert [rows[k]["segment"] for k in "ABCD"] == ["big", "small", "small", "small"]
    assert [rows[k]["stage"] for k in "ABCD"] == ["renewal", "onboarding", "onboarding", "value"]
    assert rows["B"]["stage_overdue"] is True  # 100 days in onboarding, 60 expected
    assert rows["C"]["stage_overdue"] is False
    assert rows["B"]["days_in_stage"] == 100


def test_column_wise_scores_equal_the_per_account_scores_of_each_day() -> None:
    """The training history scores a million rows column-wise: each row's score must be
    the per-account one, bit for bit, with percentiles among the same day and segment,
    the any-red cap, renormalization and missing values (None, NaN, text)."""
    config = parse_config(CONFIG)
    rng = np.random.default_rng(7)
    measures = ("active_users_30d", "days_since_last_activity", "has_sponsor",
                "days_since_meeting", "nps_180d")  # fmt: skip
    rows, days = [], []
    for i in range(400):
        row: dict[str, Any] = {"account_id": f"A{i}", "segment": ("big", "small")[i % 3 == 0]}
        for m in measures:
            draw = rng.random()
            if draw < 0.15:
                continue  # no such value at all
            row[m] = (
                None if draw < 0.2 else float("nan") if draw < 0.23 else "n/a" if draw < 0.25
                else int(rng.integers(0, 3)) if m == "has_sponsor"
                else round(float(rng.normal(30, 40)), int(rng.integers(0, 3)))
            )  # fmt: skip
        rows.append(row if i % 50 else {"account_id": f"A{i}", "segment": "big"})  # no data
        days.append(("2025-01-31", "2025-02-28")[i % 2])
    expected = []
    for day in ("2025-01-31", "2025-02-28"):
        on_day = [r for r, d in zip(rows, days, strict=True) if d == day]
        expected += [
            (r["account_id"], s.score) for r, s in zip(on_day, _score(on_day), strict=True)
        ]
    columns = {m: [r.get(m) for r in rows] for m in measures}
    got = portfolio_scores(columns, [r["segment"] for r in rows], days, config)
    by_account = {r["account_id"]: g for r, g in zip(rows, got, strict=True)}
    assert len(expected) == len(rows)
    for account, score in expected:
        value = by_account[account]
        assert (score is None and np.isnan(value)) or score == value, account
    assert any(score is None for _, score in expected)  # the data covers no-data rows too
