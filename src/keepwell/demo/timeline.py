"""Calendar of a simulation: month indexes, day indexes and random streams.

Month 0 is the first simulated calendar month; month ``months - 1`` starts on
``end_month``. Day 0 is the first day of month 0. Negative indexes are before the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

import numpy as np

from keepwell.core.errors import InputError

STREAMS = {  # independent random streams, so changing one part leaves the others alone
    "firms": 1,
    "lifecycle": 2,
    "usage": 3,
    "contacts": 4,
    "tickets": 5,
    "surveys": 6,
    "activities": 7,
    "billing": 8,
}


def stream(seed: int, name: str) -> np.random.Generator:
    """A random generator for one part of the simulation, derived from the seed."""
    return np.random.default_rng([seed, STREAMS[name]])


def add_months(day: date, months: int) -> date:
    """The same day of the month ``months`` later (day capped at 28 by construction)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, min(day.day, 28))


@dataclass(frozen=True)
class Timeline:
    """The simulated window: ``months`` calendar months ending with ``end_month``."""

    end_month: date
    months: int

    def __post_init__(self) -> None:
        if self.end_month.day != 1:
            raise InputError(f"end_month must be the first day of a month, got {self.end_month}")
        if self.months < 3:
            raise InputError(f"months must be at least 3, got {self.months}")

    @cached_property
    def start(self) -> date:
        """First day of month 0."""
        return add_months(self.end_month, -(self.months - 1))

    @property
    def end(self) -> date:
        """First day after the window (exclusive)."""
        return add_months(self.end_month, 1)

    @property
    def days(self) -> int:
        """Number of days in the window."""
        return (self.end - self.start).days

    def month_start(self, month: int) -> date:
        """First day of month ``month`` (may be before the window when negative)."""
        return add_months(self.start, month)

    def on(self, month: int, anchor: int) -> date:
        """Day ``anchor`` (1-28) of month ``month``."""
        return self.month_start(month) + timedelta(days=anchor - 1)

    def day_index(self, day: date) -> int:
        """Days from the window start to ``day``."""
        return (day - self.start).days

    def month_of(self, day: date) -> int:
        """Month index of ``day``."""
        return (day.year - self.start.year) * 12 + day.month - self.start.month

    def month_day_bounds(self) -> np.ndarray:
        """Day index of the first day of each month, plus the window end: shape (months+1,)."""
        return np.array([self.day_index(self.month_start(m)) for m in range(self.months + 1)])

    def timestamp(self, day: int, seconds: float) -> datetime:
        """UTC datetime ``seconds`` after midnight of day index ``day``, whole seconds."""
        base = datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)
        return base + timedelta(days=int(day), seconds=int(seconds))
