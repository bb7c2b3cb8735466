"""Property: on random ledgers, starting + movements = ending for every month, to the
cent, and ending MRR equals a direct month-end sum of the active lines."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepwell.revenue.service import mrr_movements
from tests.revenue.factories import line, make_book

KEYS = ("new", "cross_sell", "reactivation", "expansion", "contraction", "churn")
EPOCH = date(2024, 1, 1)


@st.composite
def ledgers(draw: st.DrawFn) -> list[dict[str, object]]:
    n = draw(st.integers(min_value=1, max_value=12))
    lines = []
    for i in range(n):
        start = EPOCH + timedelta(days=draw(st.integers(0, 700)))
        length = draw(st.one_of(st.none(), st.integers(1, 500)))
        end = None if length is None else start + timedelta(days=length)
        cents = draw(st.integers(0, 10_000_000))
        lines.append(
            line(
                f"l{i}",
                draw(st.sampled_from("abcd")),
                Decimal(cents) / 100,
                start,
                end,
                product=draw(st.sampled_from(["core", "addon"])),
            )
        )
    return lines


def month_end_mrr(lines: list[dict[str, object]], year: int, month: int) -> Decimal:
    day = date(year, month, calendar.monthrange(year, month)[1])
    return sum(
        (
            r["mrr"]  # type: ignore[misc]
            for r in lines
            if r["starts_on"] <= day and (r["ends_on"] is None or day < r["ends_on"])  # type: ignore[operator]
        ),
        Decimal(0),
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledgers())
def test_starting_plus_movements_is_ending(lines: list[dict[str, object]]) -> None:
    book = make_book(lines)
    rows = mrr_movements(None, date(2024, 1, 1), date(2026, 3, 31), book=book)  # type: ignore[arg-type]
    assert len(rows) == 27
    previous = Decimal(0)
    for row in rows:
        assert row["starting_mrr"] == previous
        assert row["starting_mrr"] + sum(row[k] for k in KEYS) == row["ending_mrr"]
        year, month = map(int, row["month"].split("-"))
        assert row["ending_mrr"] == month_end_mrr(lines, year, month)
        assert row["new"] >= 0
        assert row["reactivation"] >= 0
        assert row["expansion"] >= 0
        assert row["contraction"] <= 0
        assert row["churn"] <= 0
        previous = row["ending_mrr"]
