"""Calendar periods: months are calendar months, weeks start on Monday (metrics.md)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from keepwell.core.errors import InputError


def month_end(day: date) -> date:
    """The last day of the calendar month that contains ``day``."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def previous_month(day: date) -> date:
    """The first day of the calendar month before the one that contains ``day``."""
    if day.month == 1:
        return date(day.year - 1, 12, 1)
    return date(day.year, day.month - 1, 1)


@dataclass(frozen=True)
class AsOf:
    """The day a command or page works as of, and why.

    ``last_data_day`` is the last day the workspace holds facts for (None: no data, or
    not read because a requested day up to today needs no check);
    ``requested`` is what the user asked for (None: the default)."""

    day: date
    today: date
    last_data_day: date | None
    requested: date | None = None

    @property
    def is_data_end(self) -> bool:
        """Whether the default fell back to the data's last day (today is past it)."""
        return self.requested is None and self.day != self.today

    def note(self) -> str | None:
        """What a face says when the day is not today by default, else None."""
        if not self.is_data_end:
            return None
        return (
            f"as of {self.day.isoformat()}, the last day of the data "
            f"(today is {self.today.isoformat()})"
        )

    def partial_month(self) -> bool:
        """Whether the month of ``day`` is incomplete (``day`` is not its last day)."""
        return month_end(self.day) != self.day


def resolve_as_of(
    requested: date | None, today: date, last_data_day: date | None, option: str = "--as-of"
) -> AsOf:
    """The day to work as of: ``requested``, or by default "now" as the data knows it:
    today, or the data's last day when today is past it.

    A requested day in the future of both the data and the clock (after
    ``max(today, last_data_day)``) is refused with an :class:`InputError` naming
    ``option``: it would describe, and store, a day nothing is known about yet.
    """
    if requested is None:
        day = today if last_data_day is None else min(today, last_data_day)
        return AsOf(day, today, last_data_day)
    latest = today if last_data_day is None else max(today, last_data_day)
    if requested > latest:
        known = "" if last_data_day is None else f"the data ends on {last_data_day.isoformat()}, "
        raise InputError(
            f"{option} {requested.isoformat()} is in the future ({known}"
            f"today is {today.isoformat()})",
            hint=f"use a day up to {latest.isoformat()}, or leave {option} out for the data's now",
        )
    return AsOf(requested, today, last_data_day, requested)


def partial_month_label(month: date, as_of: date) -> str | None:
    """``"partial: to DD"`` when the month that starts ``month`` is cut short by
    ``as_of`` (it contains ``as_of`` and ``as_of`` is not its last day), else None:
    the mark faces put beside a month's figures."""
    if month.year == as_of.year and month.month == as_of.month and month_end(as_of) != as_of:
        return f"partial: to {as_of.day:02d}"
    return None
