"""Outcomes computed over a matrix of MRR (accounts x days looked at) against the
account-by-account reading they replaced, on random books: lines that stop, restart,
shrink by about 20 %, no MRR at all, days without any customer."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import ibis
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepwell.health.backtest import CONTRACTION, _checks, outcomes_frame, outcomes_history
from keepwell.health.days import AS_OF, as_of_days
from keepwell.health.operational import subscription_history

from .factories import table

FIRST = date(2024, 1, 1)


def _reference(
    subscriptions: ibis.Table, days: list[date], horizon: int
) -> dict[date, dict[str, tuple[bool, bool]]]:
    """The per-account outcomes as computed before (dicts of MRR per day)."""
    checks = {day: _checks(day, horizon) for day in days}
    if not checks:
        return {}
    looked = {*checks, *(d for c in checks.values() for d in c)}
    rows = subscription_history(subscriptions, as_of_days(looked)).to_pyarrow()
    mrr: dict[date, dict[str, float]] = {day: {} for day in looked}
    for day, account, value in zip(
        rows[AS_OF].to_pylist(), rows["account_id"].to_pylist(), rows["mrr"].to_pylist(),
        strict=True,
    ):  # fmt: skip
        mrr[day][account] = value
    result = {}
    for day, later in checks.items():
        per = {}
        for account, value in mrr[day].items():
            if value <= 0:
                continue
            churned = any(mrr[d].get(account, 0.0) <= 0 for d in later)
            contracted = not churned and mrr[later[-1]].get(account, 0.0) < CONTRACTION * value
            per[account] = (churned, contracted)
        result[day] = per
    return result


@st.composite
def lines(draw: st.DrawFn) -> list[dict[str, Any]]:
    result = []
    for i in range(draw(st.integers(0, 12))):
        starts = FIRST + timedelta(days=draw(st.integers(0, 500)))
        ends = None
        if draw(st.booleans()):
            ends = starts + timedelta(days=draw(st.integers(1, 300)))
        result.append({
            "line_id": f"L{i}", "account_id": draw(st.sampled_from("ABCDE")), "product": "p",
            "mrr": draw(st.sampled_from([0, 50, 79.99, 80, 100, 125.5])), "quantity": 1,
            "starts_on": starts, "ends_on": ends,
        })  # fmt: skip
    return result


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=lines(),
    offsets=st.lists(st.integers(0, 600), max_size=4, unique=True),
    horizon=st.sampled_from([1, 30, 90, 180]),
)
def test_outcomes_history_equals_the_account_by_account_reading(
    rows: list[dict[str, Any]], offsets: list[int], horizon: int
) -> None:
    subscriptions = table("subscriptions", rows)
    days = [FIRST + timedelta(days=o) for o in offsets]
    got = outcomes_history(subscriptions, days, horizon)
    want = _reference(subscriptions, days, horizon)
    assert got == want
    assert list(got) == list(want)  # days in order (accounts as the query gives them: it varies)
    frame = outcomes_frame(subscriptions, days, horizon, ("churned", "contracted"))
    built = pd.DataFrame(  # the frame point_in_time_frame built from the dicts
        [(d, a, float(c), float(k)) for d, per in want.items() for a, (c, k) in per.items()],
        columns=[AS_OF, "account_id", "churned", "contracted"],
    )
    if len(built):
        keys = [AS_OF, "account_id"]
        pd.testing.assert_frame_equal(
            frame.sort_values(keys, ignore_index=True),
            built.sort_values(keys, ignore_index=True),
            check_exact=True,
        )
    else:
        assert frame.empty
        assert list(frame.columns) == list(built.columns)
