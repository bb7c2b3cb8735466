"""Whether a customer who gave references has stopped giving them (pure).

A customer who gave at least one reference on or before the day has *stopped* (1.0)
when a request was declined after the last reference given (it declined the latest
requests), or when no reference was given in the last ``window_days`` days (the last
one is older than the window); otherwise 0.0. None for a customer that never gave one
(no data: a scorecard renormalizes it away, a rule sees null).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date


def stopped_giving(
    given: Iterable[date], declined: Iterable[date], on: date, window_days: int
) -> float | None:
    """1.0 stopped, 0.0 still giving, None never gave (see the module docstring)."""
    gave = [day for day in given if day <= on]
    if not gave:
        return None
    last = max(gave)
    if any(last < day <= on for day in declined):
        return 1.0
    return 1.0 if (on - last).days > window_days else 0.0
