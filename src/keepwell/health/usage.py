"""Usage measures per account as of a date, as Ibis expressions over the event rollup.

The rollup has one row per ``(day, account_id, user_id, event)`` with a ``count``.
Windows end on the as-of day, inclusive: "30d" is the days ``(as_of - 30, as_of]``.
Nothing dated after ``as_of`` is read, so a value never changes when later data arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

from keepwell.health.days import (
    AS_OF,
    EPOCH,
    LAPSE_DAYS,
    AsOfDays,
    as_of_days,
    minus,
    quarter_start,
    window_from,
)

#: The measures :func:`usage_measures` returns, besides ``account_id``.
USAGE_MEASURES = (
    "active_users_7d",
    "active_users_30d",
    "events_30d",
    "events_trend_30d",
    "active_users_trend_30d",
    "usage_slope_90d",
    "logins_per_active_user_week",
    "feature_breadth_30d",
    "days_since_last_activity",
    "users_added_quarter",
    "users_removed_quarter",
)
SLOPE_DAYS = 90


class Aggregation(StrEnum):
    """How a custom measure aggregates the rollup rows of its events: ``count`` sums
    their counts, ``active_users`` counts distinct users, ``active_days`` distinct days,
    ``user_days`` distinct (user, day) pairs."""

    COUNT = "count"
    ACTIVE_USERS = "active_users"
    ACTIVE_DAYS = "active_days"
    USER_DAYS = "user_days"


@dataclass(frozen=True)
class UsageConfig:
    """Which events are key features, and which event is a login."""

    key_features: tuple[str, ...] = ()
    login_event: str = "login"


@dataclass(frozen=True)
class CustomMeasure:
    """A measure declared in configuration: an aggregation of events over a window."""

    name: str
    events: tuple[str, ...]
    window_days: int = 30
    aggregation: Aggregation = Aggregation.COUNT
    per_active_user: bool = False
    description: str = field(default="", compare=False)


def _ratio_change(now: ibis.Value, before: ibis.Value) -> ibis.Value:
    """now / before - 1, null when ``before`` is 0 or null."""
    return ibis.cases((before > 0, now.cast("float64") / before - 1.0), else_=ibis.null())


def _cuts(days: AsOfDays, windows: tuple[int, ...] = ()) -> list[date]:
    """The first days of the *segments*: the stretches of days that every window sum of
    every as-of day treats alike (30, 60 and 90 days, the first day read, the day after
    as_of, and the first days of the windows of ``windows`` days)."""
    cuts: set[date] = set()
    for d in days.days:
        cuts |= {d - timedelta(days=n) for n in (29, 59, SLOPE_DAYS - 1)}
        cuts |= {d - timedelta(days=n - 1) for n in windows}
        cuts |= {window_from(d), d + timedelta(days=1)}
    return sorted(cuts)


def _calendar(days: AsOfDays, windows: tuple[int, ...] = ()) -> ibis.Table:
    """Every day from the first cut to the last as-of day with its segment's first day,
    its number (days since 1970-01-01) and its *bucket*: the first as-of day on or
    after it."""
    cuts = _cuts(days, windows)
    rows: dict[str, list[Any]] = {"day": [], "segment": [], "day_number": [], "bucket": []}
    segment, day, k, b = cuts[0], cuts[0], 0, 0
    while day <= days.days[-1]:
        if k + 1 < len(cuts) and day >= cuts[k + 1]:
            k += 1
            segment = cuts[k]
        while days.days[b] < day:
            b += 1
        rows["day"].append(day)
        rows["segment"].append(segment)
        rows["day_number"].append((day - EPOCH).days)
        rows["bucket"].append(days.days[b])
        day += timedelta(days=1)
    schema = pa.schema(
        [("day", pa.date32()), ("segment", pa.date32()), ("day_number", pa.int64()),
         ("bucket", pa.date32())]
    )  # fmt: skip
    return ibis.memtable(pa.table(rows, schema=schema))


def by_segment(custom: CustomMeasure) -> bool:
    """Whether ``custom`` is computed with the usage windows (:func:`usage_history`
    with it): a window of at most 90 days (inside the rows every as-of day joins) and
    any aggregation but ``active_days`` and the ``user_days`` of several events, which
    count distinct days across users or events."""
    if custom.aggregation is Aggregation.USER_DAYS and len(set(custom.events)) > 1:
        return False
    return custom.aggregation is not Aggregation.ACTIVE_DAYS and custom.window_days <= SLOPE_DAYS


def segments(
    rollup: ibis.Table,
    days: AsOfDays,
    config: UsageConfig,
    custom: dict[int, CustomMeasure],
) -> ibis.Table:
    """The rollup up to the last as-of day summed per (account, segment): events,
    logins, events x day number (for the slope), whether each key feature was used, the
    last event day, and per custom measure number ``m`` (:func:`by_segment` ones; the
    segments then also break at the first day of their windows) ``custom_<m>_count``
    (its events' count) and ``custom_<m>_days`` (the days of named users with its
    event: one rollup row per user, day and event). Each segment also has its bucket
    (:func:`_calendar`).

    Per account, not per user: the distinct users come from :func:`user_buckets`, so
    the sums group a few rows per account and day instead of one per user."""
    windows = tuple(sorted({x.window_days for x in custom.values()}))
    calendar = _calendar(days, windows)
    rows = rollup.join(calendar, rollup.day == calendar.day)
    c = rows["count"]
    keys = {f"key_{i}": (rows.event == k).any() for i, k in enumerate(config.key_features)}
    extra: dict[str, ibis.Value] = {}
    for m, measure in custom.items():
        hit = rows.event.isin(list(measure.events))
        extra[f"custom_{m}_count"] = c.sum(where=hit)
        if measure.aggregation is Aggregation.USER_DAYS:
            extra[f"custom_{m}_days"] = (hit & rows.user_id.notnull()).sum()
    return rows.group_by(["account_id", "segment", "bucket"]).aggregate(
        count=c.sum(),
        logins=c.sum(where=rows.event == config.login_event),
        count_day=(c * rows.day_number).sum(),
        last_day=rows.day.max(),
        **keys,
        **extra,
    )


def _held(days: AsOfDays, first: Callable[[date], date]) -> ibis.Table:
    """``(segment, on)``: every day from ``first(on)`` to ``on`` for each as-of day
    ``on``, named ``segment``: a segment (its first day) joins the as-of days whose
    window holds it. Every day rather than the cuts, so segments cut finer join too."""
    pairs = [
        (first(d) + timedelta(days=k), d) for d in days.days for k in range((d - first(d)).days + 1)
    ]
    schema = pa.schema([("segment", pa.date32()), ("on", pa.date32())])
    return ibis.memtable(
        pa.table({"segment": [p[0] for p in pairs], "on": [p[1] for p in pairs]}, schema=schema)
    )


def _sums(
    segments: ibis.Table, days: AsOfDays, config: UsageConfig, custom: dict[int, CustomMeasure]
) -> ibis.Table:
    """Per (as_of, account) with an event in the windows: the window sums.

    Each segment joins the as-of days whose windows hold it (``window_from`` to as_of,
    at most 122 days) on the segment (a hash join) rather than comparing every segment
    with every day. A segment is inside or outside each window as a whole, so its first
    day stands for all its days."""
    d = days.table
    held = _held(days, window_from)
    pairs_days = held.join(d, held.on == d.as_of).drop("on")
    past = segments.join(pairs_days, "segment")
    day = past.segment
    in_30 = day > past[minus(30)]
    in_prev = ~in_30 & (day > past[minus(60)])
    in_90 = day > past[minus(SLOPE_DAYS)]
    c = past["count"]
    # Σ c·x with x = day index 0..89 in the 90-day window (89 = as_of):
    # x = 89 - as_of + day, so Σ c·x = (89 - as_of number) Σ c + Σ c·day number
    sum_xy = ((SLOPE_DAYS - 1) - past.as_of_number) * c + past.count_day
    # CASE, not a cast: PostgreSQL has no boolean -> bigint cast
    keys = [
        (in_30 & past[f"key_{i}"]).any().ifelse(1, 0).cast("int64")
        for i in range(len(config.key_features))
    ]
    customs: dict[str, ibis.Value] = {}
    for m, measure in custom.items():  # as custom_history sums its users' rollup rows
        in_m = day > past[minus(measure.window_days)]
        customs[f"custom_{m}_in"] = in_m.any()
        if measure.aggregation is Aggregation.COUNT:
            customs[f"custom_{m}_value"] = past[f"custom_{m}_count"].sum(where=in_m)
        elif measure.aggregation is Aggregation.USER_DAYS:
            customs[f"custom_{m}_value"] = past[f"custom_{m}_days"].sum(where=in_m)
    return past.group_by([AS_OF, "account_id"]).aggregate(
        events_30d=c.sum(where=in_30),
        events_prev_30d=c.sum(where=in_prev),
        logins_30d=past.logins.sum(where=in_30),
        sum_y=c.sum(where=in_90),
        sum_xy=sum_xy.sum(where=in_90),
        key_features_30d=sum(keys[1:], keys[0]) if keys else ibis.literal(0),
        **customs,
    )


@ibis.udf.agg.builtin(name="bit_or")  # type: ignore[untyped-decorator]
def _bit_or(x: int) -> int:  # type: ignore[empty-body]
    """The SQL aggregate ``bit_or`` (DuckDB, PostgreSQL, Spark), which Ibis compiles on
    DuckDB and PostgreSQL but not on Spark."""


#: Bits of a bucket word (a signed 64-bit integer: the sign bit left alone).
WORD_BITS = 63


@dataclass(frozen=True)
class _Buckets:
    """The user-activity buckets of some as-of days: ``ends`` are the last days of the
    buckets (bucket ``k`` holds the days after ``ends[k - 1]`` up to ``ends[k]``; the
    first, every day up to ``ends[0]``), placed so that each window a user count reads
    is a run of whole buckets; bucket ``k`` is bit ``k % 63`` of word ``k // 63``."""

    ends: tuple[date, ...]

    @staticmethod
    def of(days: AsOfDays, windows: tuple[int, ...]) -> _Buckets:
        ends: set[date] = set()
        for d in days.days:
            ends |= {d - timedelta(days=n) for n in (0, 7, LAPSE_DAYS, 2 * LAPSE_DAYS, *windows)}
            ends.add(quarter_start(d) - timedelta(days=LAPSE_DAYS + 1))
        return _Buckets(tuple(sorted(ends)))

    @property
    def words(self) -> int:
        return (len(self.ends) + WORD_BITS - 1) // WORD_BITS

    def mask(self, after: date, until: date) -> list[int]:
        """The words of the buckets holding the days after ``after`` up to ``until``
        (both bucket ends)."""
        words = [0] * self.words
        for k, end_ in enumerate(self.ends):
            if after < end_ <= until:
                words[k // WORD_BITS] |= 1 << (k % WORD_BITS)
        return words

    def calendar(self) -> ibis.Table:
        """Every day after the first bucket up to the last with its bucket's bit in its
        word (``word_<j>``, 0 in the others)."""
        rows: dict[str, list[Any]] = {"day": [], **{f"word_{j}": [] for j in range(self.words)}}
        for k in range(1, len(self.ends)):
            day = self.ends[k - 1] + timedelta(days=1)
            while day <= self.ends[k]:
                rows["day"].append(day)
                for j in range(self.words):
                    rows[f"word_{j}"].append(1 << (k % WORD_BITS) if k // WORD_BITS == j else 0)
                day += timedelta(days=1)
        fields = [("day", pa.date32()), *((f"word_{j}", pa.int64()) for j in range(self.words))]
        return ibis.memtable(pa.table(rows, schema=pa.schema(fields)))


def user_buckets(
    rollup: ibis.Table, days: AsOfDays, buckets: _Buckets, custom: dict[int, CustomMeasure]
) -> ibis.Table:
    """Per named user (account, user) up to the last as-of day: the first event day and
    the buckets with an event, as bits (``word_<j>``: bit_or of the days' bits), and per
    ``active_users`` custom measure number ``m`` the buckets with one of its events
    (``hit_<m>_<j>``). One group per user, not per user and day or segment."""
    past = rollup.filter((rollup.day <= days.days[-1]) & rollup.user_id.notnull())
    calendar = buckets.calendar()
    rows = past.left_join(calendar, past.day == calendar.day)
    words = {f"word_{j}": _bit_or(rows[f"word_{j}"].fill_null(0)) for j in range(buckets.words)}
    for m, measure in custom.items():
        if measure.aggregation is Aggregation.ACTIVE_USERS:
            hit = rows.event.isin(list(measure.events))
            for j in range(buckets.words):
                words[f"hit_{m}_{j}"] = _bit_or(rows[f"word_{j}"].fill_null(0), where=hit)
    return rows.group_by(["account_id", "user_id"]).aggregate(first_day=rows.day.min(), **words)


def _active(pairs: ibis.Table, prefix: str, mask: str, words: int) -> ibis.Value:
    """Whether a user's bucket bits (``<prefix>_<j>``) meet the as-of day's mask
    (``<mask>_<j>``) in any word."""
    hits = [(pairs[f"{prefix}_{j}"].fill_null(0) & pairs[f"{mask}_{j}"]) != 0 for j in range(words)]
    return ibis.or_(*hits)


def _user_counts(
    users: ibis.Table, days: AsOfDays, buckets: _Buckets, custom: dict[int, CustomMeasure]
) -> ibis.Table:
    """Per (as_of, account): the named users active in each window (7 and 30 days, the
    30 before, each custom measure's), lapsed this quarter (last event from the quarter
    start - 30 days to as_of - 30 and none after), and hitting an ``active_users``
    custom measure's events in its window. Each user meets each as-of day once; a
    window is a mask of buckets."""
    columns: dict[str, list[Any]] = {
        AS_OF: list(days.days),
        "quarter_start": [quarter_start(d) for d in days.days],
    }

    def add(name: str, windows: list[tuple[date, date]]) -> None:
        masks = [buckets.mask(after, until) for after, until in windows]
        for j in range(buckets.words):
            columns[f"{name}_{j}"] = [w[j] for w in masks]

    lapse = timedelta(days=LAPSE_DAYS)
    add("in_7", [(d - timedelta(days=7), d) for d in days.days])
    add("in_30", [(d - lapse, d) for d in days.days])
    add("in_prev", [(d - 2 * lapse, d - lapse) for d in days.days])
    add("lapsed", [(quarter_start(d) - lapse - timedelta(days=1), d - lapse) for d in days.days])
    for m, measure in custom.items():
        add(f"custom_{m}_in", [(d - timedelta(days=measure.window_days), d) for d in days.days])
    fields = [
        (AS_OF, pa.date32()), ("quarter_start", pa.date32()),
        *((c, pa.int64()) for c in list(columns)[2:]),
    ]  # fmt: skip
    masks = ibis.memtable(pa.table(columns, schema=pa.schema(fields)))
    pairs = users.cross_join(masks)
    n = buckets.words
    in_30 = _active(pairs, "word", "in_30", n)
    counts: dict[str, ibis.Value] = {}
    for m, measure in custom.items():
        counts[f"custom_{m}_users"] = _active(pairs, "word", f"custom_{m}_in", n).sum()
        if measure.aggregation is Aggregation.ACTIVE_USERS:
            counts[f"custom_{m}_value"] = _active(pairs, f"hit_{m}", f"custom_{m}_in", n).sum()
    return pairs.group_by([AS_OF, "account_id"]).aggregate(
        users_removed_quarter=(_active(pairs, "word", "lapsed", n) & ~in_30).sum(),
        active_users_7d=_active(pairs, "word", "in_7", n).sum(),
        active_users_30d=in_30.sum(),
        active_users_prev_30d=_active(pairs, "word", "in_prev", n).sum(),
        users_added_quarter=pairs.first_day.between(pairs.quarter_start, pairs.as_of).sum(),
        **counts,
    )


def _last_days(
    rollup: ibis.Table, segments: ibis.Table, days: AsOfDays, windows: tuple[int, ...]
) -> ibis.Table:
    """Per (as_of, account) with an event on or before as_of: the last event day, the
    latest of the account's buckets (the days after one as-of day up to the next) up
    to as_of: from the segments, and before them from the rollup (its day column)."""
    first = _cuts(days, windows)[0]
    before = rollup.filter(rollup.day < first)
    earlier = before.group_by("account_id").aggregate(
        bucket=ibis.literal(days.days[0]), last_day=before.day.max()
    )
    # nullable columns on both sides: a set operation needs equal schemas, and a
    # rollup table may declare its columns NOT NULL
    kinds = {"account_id": dt.String(), "bucket": dt.Date(), "last_day": dt.Date()}
    per_segment = segments.select(**{c: segments[c].cast(k) for c, k in kinds.items()})
    both = per_segment.union(earlier.select(**{c: earlier[c].cast(k) for c, k in kinds.items()}))
    accounts = both.group_by(["account_id", "bucket"]).aggregate(last_day=both.last_day.max())
    d = days.table
    seen = accounts.join(d, accounts.bucket <= d.as_of)
    return seen.group_by([AS_OF, "account_id"]).aggregate(last_day=seen.last_day.max())


def usage_history(
    rollup: ibis.Table,
    days: AsOfDays,
    config: UsageConfig,
    custom: tuple[CustomMeasure, ...] = (),
) -> ibis.Table:
    """:func:`usage_measures` as of each of ``days`` in one query: one row per
    (``as_of``, account with an event on or before as_of), with a column per custom
    measure of ``custom`` that is :func:`by_segment` (``days`` must then have the
    offsets of their windows): the values :func:`custom_history` gives, null for an
    account without an event in its window.

    Two reads of the rollup, each grouped into few rows: the sums per account and
    segment (:func:`segments`, joined to the as-of days whose windows hold them), and
    per named user the buckets with an event as bits (:func:`user_buckets`, each user
    then meeting every as-of day's masks once)."""
    mine = {m: x for m, x in enumerate(custom) if by_segment(x)}
    windows = tuple(sorted({x.window_days for x in mine.values()}))
    buckets = _Buckets.of(days, windows)
    per_segment = segments(rollup, days, config, mine)
    users = user_buckets(rollup, days, buckets, mine)
    accounts = _last_days(rollup, per_segment, days, windows)
    sums = _sums(per_segment, days, config, mine)
    counts = _user_counts(users, days, buckets, mine)
    w = accounts.left_join(sums, [AS_OF, "account_id"]).drop("as_of_right", "account_id_right")
    w = w.left_join(counts, [AS_OF, "account_id"]).drop("as_of_right", "account_id_right")
    zero = {
        name: w[name].fill_null(0)
        for name in (
            "users_removed_quarter", "active_users_7d", "active_users_30d",
            "active_users_prev_30d", "key_features_30d", "users_added_quarter",
        )
    }  # fmt: skip
    customs: dict[str, ibis.Value] = {}
    for m, measure in mine.items():
        value = w[f"custom_{m}_value"].fill_null(0).cast("float64")
        users_m = w[f"custom_{m}_users"]
        result = (
            ibis.cases((users_m > 0, value / users_m), else_=ibis.null())
            if measure.per_active_user
            else value
        )
        customs[measure.name] = ibis.cases(
            (w[f"custom_{m}_in"].fill_null(False), result), else_=ibis.null()
        )
    w = w.select(
        "as_of", "account_id", "last_day",
        "events_30d", "events_prev_30d", "logins_30d", "sum_y", "sum_xy", **zero, **customs,
    )  # fmt: skip
    n = SLOPE_DAYS
    sum_x, sum_xx = n * (n - 1) / 2, (n - 1) * n * (2 * n - 1) / 6
    # float64 before any literal: Spark reads 4005.0 as a decimal and divides decimals
    # to 6 places, which would differ from DuckDB and PostgreSQL in the 8th digit
    sum_xy, sum_y = w.sum_xy.cast("float64"), w.sum_y.cast("float64")
    slope = (n * sum_xy - sum_x * sum_y) / (n * sum_xx - sum_x**2)
    mean_y = sum_y / n
    breadth = (
        (w.key_features_30d.cast("float64") / len(config.key_features)).fill_null(0)
        if config.key_features
        else ibis.null("float64")
    )
    return w.select(
        AS_OF,
        "account_id",
        "active_users_7d",
        "active_users_30d",
        events_30d=w.events_30d.fill_null(0),
        events_trend_30d=_ratio_change(w.events_30d.fill_null(0), w.events_prev_30d),
        active_users_trend_30d=_ratio_change(w.active_users_30d, w.active_users_prev_30d),
        usage_slope_90d=ibis.cases((mean_y > 0, slope * 30 / mean_y), else_=ibis.null()),
        logins_per_active_user_week=ibis.cases(
            (w.active_users_30d > 0, w.logins_30d.fill_null(0) / w.active_users_30d * 7 / 30),
            else_=ibis.null(),
        ),
        feature_breadth_30d=breadth,
        days_since_last_activity=w.as_of.delta(w.last_day, unit="day"),
        users_added_quarter=w.users_added_quarter,
        users_removed_quarter=w.users_removed_quarter,
        **{measure.name: w[measure.name] for measure in mine.values()},
    )


def usage_measures(rollup: ibis.Table, as_of: date, config: UsageConfig) -> ibis.Table:
    """Usage measures per account as of ``as_of`` (one row per account with any event).

    - ``active_users_7d`` / ``_30d``: distinct users with an event in the window.
    - ``events_trend_30d``, ``active_users_trend_30d``: last 30d / the 30d before − 1.
    - ``usage_slope_90d``: least-squares slope of daily event totals over 90 days
      (missing days count 0), × 30 / mean daily events: relative change per 30 days.
    - ``logins_per_active_user_week``: login events in 30d / active users 30d × 7 / 30.
    - ``feature_breadth_30d``: share (0–1) of the key features used in 30d.
    - ``days_since_last_activity``: days from the last event day to as_of.
    - ``users_added_quarter`` / ``users_removed_quarter``: a user is *added* on the day
      of their first event and *removed* (lapsed) 30 days after their last; both are
      counted from the first day of the as-of quarter to as_of.

    The one-day case of :func:`usage_history`.
    """
    return usage_history(rollup, as_of_days([as_of]), config).drop(AS_OF)


def _window_days(days: AsOfDays, window_days: int) -> ibis.Table:
    """Every day of each as-of day's window ``(as_of - window_days, as_of]`` with that
    as-of day: a day in two windows has two rows. Joined on the day (a hash join), not
    by comparing every rollup row with every window."""
    pairs = [(as_of - timedelta(days=k), as_of) for as_of in days.days for k in range(window_days)]
    schema = pa.schema([("day", pa.date32()), (AS_OF, pa.date32())])
    columns = {"day": [p[0] for p in pairs], AS_OF: [p[1] for p in pairs]}
    return ibis.memtable(pa.table(columns, schema=schema))


def custom_history(rollup: ibis.Table, days: AsOfDays, measure: CustomMeasure) -> ibis.Table:
    """:func:`custom_measure` as of each of ``days``: one row per (``as_of``, account
    with an event in the window).

    Each rollup row joins the as-of days whose window holds its day
    (:func:`_window_days`); the rows are summed per user first, so the distinct users
    (and, for one event, the user-days: one rollup row per user, day and event) are
    counted as rows rather than by a distinct count over the whole window."""
    windows = _window_days(days, measure.window_days)
    window = rollup.join(windows, rollup.day == windows.day).select(
        windows.as_of, rollup.account_id, rollup.user_id, rollup.day, rollup.event,
        rollup["count"],
    )  # fmt: skip
    mine = window.event.isin(list(measure.events))
    if measure.aggregation is Aggregation.ACTIVE_DAYS:
        agg = window.group_by([AS_OF, "account_id"]).aggregate(
            value=window.day.nunique(where=mine).fill_null(0).cast("float64"),
            users=window.user_id.nunique(),
        )
    else:
        if measure.aggregation is Aggregation.USER_DAYS and len(set(measure.events)) > 1:
            days_hit = window.day.nunique(where=mine)
        else:
            days_hit = mine.sum()  # one row per (user, day) of the event
        users = window.group_by([AS_OF, "account_id", "user_id"]).aggregate(
            count=window["count"].sum(where=mine), hit=mine.any(), days_hit=days_hit
        )
        named = users.user_id.notnull()
        value = {
            Aggregation.COUNT: users["count"].sum(),
            Aggregation.ACTIVE_USERS: (named & users.hit).sum(),
            Aggregation.USER_DAYS: users.days_hit.sum(where=named),
        }[measure.aggregation]
        agg = users.group_by([AS_OF, "account_id"]).aggregate(
            value=value.fill_null(0).cast("float64"), users=named.sum()
        )
    result = (
        ibis.cases((agg.users > 0, agg.value / agg.users), else_=ibis.null())
        if measure.per_active_user
        else agg.value
    )
    return agg.select(AS_OF, "account_id", **{measure.name: result})


def custom_measure(rollup: ibis.Table, as_of: date, measure: CustomMeasure) -> ibis.Table:
    """``measure`` per account: its aggregation over the rollup rows of its events in the
    window ``(as_of - window_days, as_of]``, divided by the active users of that window
    when ``per_active_user`` (null when there were none)."""
    days = as_of_days([as_of], offsets=[measure.window_days])
    return custom_history(rollup, days, measure).drop(AS_OF)
