"""The data's now: the default day of every face, and future days refused."""

from __future__ import annotations

from datetime import date

import pytest

from keepwell.core.errors import InputError
from keepwell.core.periods import partial_month_label, resolve_as_of

TODAY = date(2026, 12, 6)
DATA_END = date(2026, 11, 30)


def test_default_is_the_data_s_last_day_when_today_is_past_it() -> None:
    as_of = resolve_as_of(None, TODAY, DATA_END)
    assert as_of.day == DATA_END
    assert as_of.note() == "as of 2026-11-30, the last day of the data (today is 2026-12-06)"
    assert not as_of.partial_month()


def test_default_is_today_when_the_data_is_current_or_absent() -> None:
    assert resolve_as_of(None, TODAY, date(2026, 12, 6)).note() is None
    assert resolve_as_of(None, TODAY, date(2027, 1, 1)).day == TODAY  # a booked renewal
    assert resolve_as_of(None, TODAY, None).day == TODAY
    assert resolve_as_of(None, TODAY, None).partial_month()


def test_a_requested_day_is_kept_unless_it_is_in_the_future() -> None:
    assert resolve_as_of(date(2026, 12, 3), TODAY, DATA_END).note() is None
    assert resolve_as_of(date(2026, 12, 6), TODAY, DATA_END).day == TODAY
    with pytest.raises(InputError, match=r"--as-of 2031-01-01 is in the future \(the data ends"):
        resolve_as_of(date(2031, 1, 1), TODAY, DATA_END)
    with pytest.raises(InputError, match="--until 2026-12-07"):
        resolve_as_of(date(2026, 12, 7), TODAY, None, "--until")


def test_partial_month_label() -> None:
    assert partial_month_label(date(2026, 12, 1), TODAY) == "partial: to 06"
    assert partial_month_label(date(2026, 11, 1), TODAY) is None
    assert partial_month_label(date(2026, 11, 1), DATA_END) is None
