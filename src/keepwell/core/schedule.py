"""When the server's scheduled cycle runs next: every N seconds, or at times of day.

Pure: takes the last finished cycle and the time now, returns a time. The last
finished cycle comes from the store (``success_cycle_runs``), shared by every process,
so a restarted server, another server or a worker all agree on what is due, and a
slot missed while no server ran (or a cycle interrupted by a shutdown, which never
finished) is due at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from keepwell.core.errors import ConfigurationError

_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
OFF = frozenset({"", "off", "none", "never"})


@dataclass(frozen=True)
class CycleSchedule:
    """``every``: the interval between cycles (wins when set); ``at``: times of day in
    ``timezone``; neither: no scheduled cycle."""

    every: timedelta | None
    at: tuple[time, ...]
    timezone: str = "UTC"

    @property
    def enabled(self) -> bool:
        return self.every is not None or bool(self.at)

    def describe(self) -> str:
        if self.every is not None:
            return f"every {_duration(self.every)}"
        if self.at:
            return (
                "daily at "
                + ", ".join(t.strftime("%H:%M") for t in self.at)
                + (f" ({self.timezone})")
            )
        return "off"


def parse_times(text: str | None, *, setting: str = "KEEPWELL_CYCLE_AT") -> tuple[time, ...]:
    """``"06:00"`` or ``"06:00,18:30"`` (24-hour) as sorted times; ``off`` or empty: none.
    A bad value is a :class:`ConfigurationError` naming the setting."""
    if text is None or text.strip().lower() in OFF:
        return ()
    times = []
    for part in text.split(","):
        match = _TIME.fullmatch(part.strip())
        if match is None:
            raise ConfigurationError(
                f"{setting} {text!r}: {part.strip()!r} is not a time of day",
                hint="use HH:MM in 24-hour form, several separated by commas, or off",
            )
        times.append(time(int(match.group(1)), int(match.group(2))))
    return tuple(sorted(set(times)))


_EVERY = re.compile(r"(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_every(text: str | None, *, setting: str = "KEEPWELL_CYCLE_EVERY") -> timedelta | None:
    """``"3600"`` (seconds), ``"90s"``, ``"15m"``, ``"1h"``, ``"1d"`` as an interval;
    empty or ``off``: None. Zero, negative or unreadable is a :class:`ConfigurationError`
    naming the setting."""
    if text is None or text.strip().lower() in OFF:
        return None
    match = _EVERY.fullmatch(text.strip())
    seconds = float(match.group(1)) * _UNIT_SECONDS[(match.group(2) or "s").lower()] if match else 0
    if seconds <= 0:
        raise ConfigurationError(
            f"{setting} {text!r} is not a positive interval",
            hint="use seconds (3600) or a number with s, m, h or d (15m, 1h); or off",
        )
    return timedelta(seconds=seconds)


def next_run(schedule: CycleSchedule, last_finished: datetime | None, now: datetime) -> datetime:
    """When the next cycle is due (aware UTC); ``now`` or earlier means due now.

    Every N: ``last_finished + N``. At times of day: the first slot after
    ``last_finished``. Before any cycle: ``now``. Raises ``ValueError`` when the
    schedule is off (check :attr:`CycleSchedule.enabled` first).
    """
    if not schedule.enabled:
        raise ValueError("the cycle schedule is off")
    if last_finished is None:
        return now
    if schedule.every is not None:
        return last_finished + schedule.every
    zone = ZoneInfo(schedule.timezone)
    local = last_finished.astimezone(zone)
    for days in range(2):
        day = local.date() + timedelta(days=days)
        for slot in schedule.at:
            candidate = datetime.combine(day, slot, tzinfo=zone)
            if candidate > local:
                return candidate.astimezone(UTC)
    raise AssertionError("unreachable: a slot exists within two days")


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{delta.total_seconds():g} s"
