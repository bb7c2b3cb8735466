"""The column-wise contract features (:func:`contract_frame`, numpy over every line and
day at once) against the per-account ones (:func:`contract_history`, one line at a
time) on random books: terms that close within a day of whole years from this or an
earlier line, 29 February starts, ties on the earliest end, no product, no or missing
MRR, dates as ISO text, lines without a start, accounts of 8 lines or more."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepwell.risk.terms import CONTRACT_COLUMNS, contract_frame, contract_history

COLUMNS = ["account_id", "product", "mrr", "starts_on", "ends_on", "auto_renew"]
STARTS = [date(2020, 2, 29), date(2023, 1, 31), date(2024, 2, 29), date(2024, 3, 1),
          date(2024, 6, 15), date(2024, 12, 31), date(2025, 2, 28)]  # fmt: skip
DAYS = [date(2024, 2, 28), date(2024, 2, 29), date(2024, 6, 30), date(2025, 2, 28),
        date(2025, 3, 1), date(2025, 12, 31), date(2026, 2, 28), date(2029, 3, 1)]  # fmt: skip


@st.composite
def books(draw: st.DrawFn) -> pd.DataFrame:
    lines = []
    for _ in range(draw(st.integers(0, 30))):
        start = draw(st.sampled_from(STARTS)) + timedelta(days=draw(st.integers(-2, 2)))
        end: Any = None
        if draw(st.booleans()):  # near whole years from some start, or anywhere
            base = draw(st.sampled_from(STARTS))
            years = draw(st.integers(0, 6))
            end = date(base.year + years, base.month, 28 if base.day == 29 else base.day)
            end += timedelta(days=draw(st.integers(-2, 2)) + (1 if base.day == 29 else 0))
        mrr = draw(st.sampled_from([0.0, 10.0, 33.3, 100.1, 0.1, float("nan"), None, "7.5"]))
        text = draw(st.booleans())
        lines.append([
            draw(st.sampled_from(["A", "B", "C", 7])),
            draw(st.sampled_from(["core", "addon", None, float("nan")])),
            mrr,
            None if draw(st.integers(0, 20)) == 0 else (start.isoformat() if text else start),
            end.isoformat() if text and end is not None else end,
            draw(st.sampled_from([True, False, None])),
        ])  # fmt: skip
    if draw(st.booleans()):  # an account of 8 lines or more: summed as numpy sums
        lines += [["D", f"p{i % 3}", 62.16 / (i + 3), date(2024, 1, 1 + i), None, i % 2 == 0]
                  for i in range(draw(st.integers(8, 12)))]  # fmt: skip
    return pd.DataFrame(lines, columns=COLUMNS, dtype=object)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subscriptions=books(), days=st.lists(st.sampled_from(DAYS), max_size=5))
def test_contract_frame_equals_the_per_account_features(
    subscriptions: pd.DataFrame, days: list[date]
) -> None:
    expected = contract_history(subscriptions, days)
    frame = contract_frame(subscriptions, days)
    keys = list(zip(frame["as_of"], frame["account_id"], strict=True))
    assert keys == sorted((d, a) for d, per in expected.items() for a in per)
    assert list(frame.columns) == ["as_of", "account_id", *CONTRACT_COLUMNS]
    for row in frame.to_dict("records"):
        want = expected[row["as_of"]][row["account_id"]]
        for column, value in want.items():
            got = row[column]
            assert value == got or (pd.isna(value) and pd.isna(got)), (row, column, value)
            assert type(value) is type(got), (row, column, value, got)
