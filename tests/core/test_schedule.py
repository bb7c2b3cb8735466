"""The server's cycle schedule (pure): every N, times of day in a time zone, catch-up
of a missed slot, and one-line errors naming the setting."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from keepwell.core.errors import ConfigurationError
from keepwell.core.schedule import CycleSchedule, next_run, parse_every, parse_times
from keepwell.core.settings import Settings

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_every_counts_from_the_last_finished_cycle() -> None:
    schedule = CycleSchedule(every=timedelta(minutes=15), at=())
    assert next_run(schedule, NOW - timedelta(minutes=5), NOW) == NOW + timedelta(minutes=10)
    assert next_run(schedule, None, NOW) == NOW  # never ran: due now
    assert next_run(schedule, NOW - timedelta(hours=3), NOW) < NOW  # overdue: due now


def test_times_of_day_in_the_workspace_time_zone() -> None:
    schedule = CycleSchedule(every=None, at=(time(6, 0), time(18, 30)), timezone="Europe/Paris")
    # 10 March: Paris is UTC+1; the 06:00 slot is 05:00 UTC, the 18:30 one 17:30 UTC
    after_morning = datetime(2026, 3, 10, 5, 10, tzinfo=UTC)
    assert next_run(schedule, after_morning, NOW) == datetime(2026, 3, 10, 17, 30, tzinfo=UTC)
    after_evening = datetime(2026, 3, 10, 17, 40, tzinfo=UTC)
    assert next_run(schedule, after_evening, NOW) == datetime(2026, 3, 11, 5, 0, tzinfo=UTC)
    # the server was down at 18:30 yesterday: that slot is due at once
    yesterday = datetime(2026, 3, 9, 5, 10, tzinfo=UTC)
    assert next_run(schedule, yesterday, NOW) == datetime(2026, 3, 9, 17, 30, tzinfo=UTC)


def test_a_daily_slot_across_the_spring_change_of_time() -> None:
    schedule = CycleSchedule(every=None, at=(time(6, 0),), timezone="Europe/Paris")
    before = datetime(2026, 3, 28, 5, 5, tzinfo=UTC)  # Saturday 06:05 Paris (UTC+1)
    assert next_run(schedule, before, NOW) == datetime(2026, 3, 29, 4, 0, tzinfo=UTC)  # UTC+2


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("3600", 3600), ("90s", 90), ("15m", 900), ("1h", 3600), ("1d", 86400), ("0.5h", 1800)],
)
def test_intervals(text: str, seconds: int) -> None:
    assert parse_every(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["0", "-5", "soon", "1 week", "PT1H"])
def test_a_bad_interval_names_the_setting(text: str) -> None:
    with pytest.raises(ConfigurationError, match="KEEPWELL_CYCLE_EVERY"):
        parse_every(text)


def test_times_and_off() -> None:
    assert parse_times("18:30, 6:00,06:00") == (time(6, 0), time(18, 30))
    assert parse_times("off") == ()
    assert parse_every("off") is None
    with pytest.raises(ConfigurationError, match=r"KEEPWELL_CYCLE_AT '25:00'"):
        parse_times("25:00")


def test_settings_give_the_schedule_every_wins_and_off_disables() -> None:
    assert Settings(cycle_every="2m").cycle_schedule().describe() == "every 2 min"
    assert Settings().cycle_schedule("UTC").describe() == "daily at 06:00 (UTC)"
    off = Settings(cycle_at="off").cycle_schedule()
    assert (off.enabled, off.describe()) == (False, "off")
    with pytest.raises(ValueError, match="off"):
        next_run(off, None, NOW)
