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


def _one_by_one(openings: list[Opening], states: dict[date, dict[str, State]]) -> list[dict]:
    """The matching as it was first written: each opening's comparables found account by
    account (the reference the grouped count must equal)."""
    from keepwell.success.effectiveness import EXCLUSION_DAYS, Effect, _summarise

    treated: dict[tuple[str, str], list[date]] = {}
    for o in openings:
        treated.setdefault((o.playbook, o.account_id), []).append(o.day)
    effects: dict[str, Effect] = {}
    pairs: dict[str, list[tuple[float, float]]] = {}
    churned: dict[str, list[bool]] = {}
    for o in openings:
        effect = effects.setdefault(o.playbook, Effect(o.playbook))
        effect.openings += 1
        if o.outcome:
            effect.outcomes[o.outcome] = effect.outcomes.get(o.outcome, 0) + 1
        day = states.get(o.day, {})
        me = day.get(o.account_id)
        if me is None or me.churned is None:
            continue
        effect.known += 1
        churned.setdefault(o.playbook, []).append(me.churned)
        peers = [s.churned for a, s in day.items()
                 if s.key == me.key and s.churned is not None and not any(
                     abs((d - o.day).days) <= EXCLUSION_DAYS
                     for d in treated.get((o.playbook, a), []))]  # fmt: skip
        if peers:
            pairs.setdefault(o.playbook, []).append((float(me.churned), sum(peers) / len(peers)))
    for name, effect in effects.items():
        _summarise(effect, churned.get(name, []), pairs.get(name, []))
    return [effects[k].as_dict() for k in sorted(effects)]


def test_grouped_matching_equals_matching_account_by_account() -> None:
    import random

    rng = random.Random(5)
    for _ in range(30):
        days = [DAY + timedelta(days=rng.choice([0, 30, 60, 95, 200, 400])) for _ in range(4)]
        states = {
            day: {f"a{i}": State(rng.choice(["red", "green"]), rng.choice(["x", "y"]),
                                 rng.choice([None, 0.1, 0.5]), rng.choice([None, True, False]),
                                 renews=rng.random() < 0.3)
                  for i in range(40) if rng.random() < 0.9}
            for day in days
        }  # fmt: skip
        openings = [Opening(rng.choice(["p", "q", "r"]), f"a{rng.randrange(45)}",
                            rng.choice(days), rng.choice([None, "saved", "churned"]))
                    for _ in range(rng.randrange(1, 120))]  # fmt: skip
        assert [e.as_dict() for e in effectiveness(openings, states)] == _one_by_one(
            openings, states
        )
