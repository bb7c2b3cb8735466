"""The as-of days of a point-in-time computation, as a small Ibis table of boundaries.

Every measure is a function of its as-of day. To compute many days in one query, the
measures join their inputs with this table (one row per day) and group by ``as_of``
besides the account. The boundaries a measure compares with are computed here once per
day, in Python, where calendar and time-zone arithmetic is exact and the same on every
engine: the day ``n`` days before (``minus_<n>``), the first day of the quarter, and the
end of a local day in UTC (``end_<n>``: the first instant after the day ``n`` days
before as_of, in the workspace's time zone; see :func:`operational.day_end`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import ibis
import pyarrow as pa

#: The as-of column every point-in-time table carries.
AS_OF = "as_of"
#: Offsets (days before as_of) of the ``minus_<n>`` columns every table has.
OFFSETS = (7, 30, 60, 89, 90, 179, 180, 359)
#: Offsets of the ``end_<n>`` columns: the ends of those local days, in UTC.
END_OFFSETS = (0, 90, 180, 270)
#: Users lapse after this many days without an event (``users_removed_quarter``).
LAPSE_DAYS = 30
#: Day numbers (``as_of_number``) count the days since this one.
EPOCH = date(1970, 1, 1)


def day_end(day: date, timezone: str = "UTC") -> datetime:
    """The first instant after ``day`` in ``timezone`` (its next local midnight), in UTC."""
    after = day + timedelta(days=1)
    local = datetime(after.year, after.month, after.day, tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC)


def quarter_start(day: date) -> date:
    """The first day of ``day``'s calendar quarter."""
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def minus(offset: int) -> str:
    """The column of the day ``offset`` days before as_of."""
    return f"minus_{offset}"


def end(offset: int) -> str:
    """The column of the end (UTC) of the local day ``offset`` days before as_of."""
    return f"end_{offset}"


def window_from(day: date) -> date:
    """The earliest day a windowed usage measure as of ``day`` reads: the 90-day window's
    first day, or 30 days before the quarter start (the lapse window) when earlier."""
    return min(quarter_start(day) - timedelta(days=LAPSE_DAYS), day - timedelta(days=89))


@dataclass(frozen=True)
class AsOfDays:
    """Distinct as-of days, oldest first, and their boundaries as an Ibis table (see
    :func:`as_of_days`)."""

    days: tuple[date, ...]
    table: ibis.Table


def as_of_days(
    days: Iterable[date], timezone: str = "UTC", offsets: Iterable[int] = ()
) -> AsOfDays:
    """One row per distinct day of ``days``: ``as_of``, ``minus_<n>`` for
    :data:`OFFSETS` and ``offsets``, ``end_<n>`` for :data:`END_OFFSETS`,
    ``end_epoch`` (``end_0`` in seconds since 1970), ``quarter_start``, the first and
    last day on which a user's last event makes them lapsed this quarter
    (``lapsed_from`` = quarter start - 30 days, ``lapsed_to`` = as_of - 30 days), and
    ``window_from``: the earliest day a windowed usage measure reads, and
    ``as_of_number``: the days from :data:`EPOCH` to as_of."""
    ordered = sorted(set(days))
    if not ordered:
        raise ValueError("at least one as-of day is needed")
    wanted = sorted({*OFFSETS, *offsets})
    columns: dict[str, pa.Array] = {AS_OF: pa.array(ordered, pa.date32())}
    for n in wanted:
        columns[minus(n)] = pa.array([d - timedelta(days=n) for d in ordered], pa.date32())
    stamp = pa.timestamp("us", tz="UTC")
    for n in END_OFFSETS:
        ends = [day_end(d - timedelta(days=n), timezone) for d in ordered]
        columns[end(n)] = pa.array(ends, stamp)
    columns["end_epoch"] = pa.array(
        [int(day_end(d, timezone).timestamp()) for d in ordered], pa.int64()
    )
    starts = [quarter_start(d) for d in ordered]
    lapsed = [s - timedelta(days=LAPSE_DAYS) for s in starts]
    columns["quarter_start"] = pa.array(starts, pa.date32())
    columns["lapsed_from"] = pa.array(lapsed, pa.date32())
    columns["lapsed_to"] = pa.array([d - timedelta(days=LAPSE_DAYS) for d in ordered], pa.date32())
    columns["window_from"] = pa.array([window_from(d) for d in ordered], pa.date32())
    columns["as_of_number"] = pa.array([(d - EPOCH).days for d in ordered], pa.int64())
    return AsOfDays(tuple(ordered), ibis.memtable(pa.table(columns)))
