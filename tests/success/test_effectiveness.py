"""Playbook effectiveness on hand-made openings (pure): matched on band, segment,
churn-probability bucket and renewal; intervals; "too little data" said plainly; and
the outcomes each CTA type may close with."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from keepwell.core.errors import InputError
from keepwell.success.effectiveness import (
    MIN_MATCHED,
    Opening,
    State,
    bucket,
    effectiveness,
    wilson,
)
from keepwell.success.outcomes import check_outcome, effect_of, outcomes_for

DAY = date(2026, 1, 31)


def _states(treated: int, treated_churned: int, peers: int, peers_churned: int) -> dict[str, State]:
    states = {}
    for i in range(treated):
        states[f"t{i}"] = State("red", "mid-touch", 0.5, i < treated_churned)
    for i in range(peers):
        states[f"p{i}"] = State("red", "mid-touch", 0.45, i < peers_churned)
    states["other"] = State("green", "mid-touch", 0.5, True)  # another band: not comparable
    return states


def test_a_play_that_halves_churn_shows_it_with_an_interval_below_zero() -> None:
    openings = [Opening("save", f"t{i}", DAY, "saved") for i in range(40)]
    (effect,) = effectiveness(openings, {DAY: _states(40, 4, 40, 20)})
    assert (effect.openings, effect.known, effect.matched) == (40, 40, 40)
    assert effect.outcomes == {"saved": 40}
    assert effect.treated_churn == pytest.approx(0.1)
    assert effect.comparable_churn == pytest.approx(0.5)
    assert effect.difference == pytest.approx(-0.4)
    assert effect.difference_interval is not None
    low, high = effect.difference_interval
    assert low < -0.4 < high < 0
    assert effect.verdict == "lowers churn against comparable accounts"
    assert effect.treated_interval == pytest.approx(wilson(4, 40))


def test_too_little_data_is_said_plainly_and_unknown_outcomes_are_left_out() -> None:
    openings = [Opening("save", f"t{i}", DAY, None) for i in range(MIN_MATCHED - 1)]
    later = DAY + timedelta(days=30)
    openings.append(Opening("save", "t0", later, None))  # its horizon has not passed
    states = {DAY: _states(MIN_MATCHED - 1, 0, 5, 1),
              later: {"t0": State("red", "mid-touch", 0.5, None)}}  # fmt: skip
    (effect,) = effectiveness(openings, states)
    assert (effect.openings, effect.known, effect.matched) == (MIN_MATCHED, MIN_MATCHED - 1,
                                                               MIN_MATCHED - 1)  # fmt: skip
    assert effect.difference_interval is None
    assert effect.verdict.startswith("too little data")


def test_accounts_treated_near_the_day_are_not_comparables_nor_other_strata() -> None:
    states = {DAY: {"a": State("red", "x", None, True), "b": State("red", "x", None, False),
                    "c": State("red", "x", None, False, renews=True)}}  # fmt: skip
    other_day = DAY + timedelta(days=10)
    states[other_day] = states[DAY]
    openings = [Opening("p", "a", DAY, None), Opening("p", "b", other_day, None)]
    (effect,) = effectiveness(openings, states)
    assert effect.matched == 0  # b was treated 10 days later; c renews, a does not
    assert bucket(None) == "no model"
    assert bucket(0.61) == ">=0.6"


def test_outcomes_by_cta_type() -> None:
    assert list(outcomes_for("renewal")) == ["renewed", "renewed_contraction", "churned",
                                             "not_needed"]  # fmt: skip
    assert list(outcomes_for("risk")) == ["saved", "churned", "not_a_risk"]
    assert check_outcome("risk", "saved") == "saved"
    with pytest.raises(InputError, match="'renewed' is not an outcome of a risk CTA"):
        check_outcome("risk", "renewed")
    assert (effect_of("renewal", "churned"), effect_of("lifecycle", "done")) == (
        "failure",
        "success",
    )
    assert effect_of("risk", None) is None
