"""Calendar periods: months are calendar months, weeks start on Monday (metrics.md)."""

from __future__ import annotations

import calendar
from datetime import date


def month_end(day: date) -> date:
    """The last day of the calendar month that contains ``day``."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def previous_month(day: date) -> date:
    """The first day of the calendar month before the one that contains ``day``."""
    if day.month == 1:
        return date(day.year - 1, 12, 1)
    return date(day.year, day.month - 1, 1)
