from __future__ import annotations

from datetime import date

import pytest

from keepwell.core.periods import month_end, previous_month


@pytest.mark.parametrize(
    ("day", "end"),
    [
        (date(2026, 1, 1), date(2026, 1, 31)),
        (date(2024, 2, 10), date(2024, 2, 29)),
        (date(2026, 2, 28), date(2026, 2, 28)),
        (date(2026, 12, 31), date(2026, 12, 31)),
    ],
)
def test_month_end(day: date, end: date) -> None:
    assert month_end(day) == end


def test_previous_month_crosses_the_year() -> None:
    assert previous_month(date(2026, 1, 15)) == date(2025, 12, 1)
    assert previous_month(date(2026, 11, 23)) == date(2026, 10, 1)
