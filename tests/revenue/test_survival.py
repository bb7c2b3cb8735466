"""Kaplan–Meier against a hand-computed example (Greenwood, log-log CI)."""

from __future__ import annotations

import math

import pytest

from keepwell.revenue.survival import kaplan_meier, median_survival


def test_km_by_hand() -> None:
    # durations 1,2,2,3,4 with the 3 censored
    points = kaplan_meier([1, 2, 2, 3, 4], [True, True, False, False, True])
    by_t = {p.t: p for p in points}
    assert by_t[1].survival == pytest.approx(4 / 5)
    assert by_t[2].survival == pytest.approx(4 / 5 * 3 / 4)
    assert (by_t[2].at_risk, by_t[2].events, by_t[2].censored) == (4, 1, 1)
    assert by_t[3].survival == pytest.approx(0.6)
    assert by_t[4].survival == 0.0
    # Greenwood at t=2 and the log-log bounds
    v = 1 / (5 * 4) + 1 / (4 * 3)
    s = 0.6
    spread = 1.959963985 * math.sqrt(v) / abs(math.log(s))
    assert by_t[2].lower == pytest.approx(math.exp(-math.exp(math.log(-math.log(s)) + spread)))
    assert by_t[2].upper == pytest.approx(math.exp(-math.exp(math.log(-math.log(s)) - spread)))
    assert 0 < by_t[2].lower < s < by_t[2].upper < 1
    assert median_survival(points) == 4


def test_no_events_keeps_survival_at_one() -> None:
    points = kaplan_meier([3, 5], [False, False])
    assert [p.survival for p in points] == [1.0, 1.0]
    assert median_survival(points) is None
