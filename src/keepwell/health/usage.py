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
    """The first days of the *segments*: the stretches of days that every window
    predicate of every as-of day treats alike (7, 30, 60 and 90 days, the lapse window,
    the first day read, the day after as_of, and the first days of the windows of
    ``windows`` days)."""
    cuts: set[date] = set()
    for d in days.days:
        cuts |= {d - timedelta(days=n) for n in (6, 29, 59, SLOPE_DAYS - 1)}
        cuts |= {d - timedelta(days=n - 1) for n in windows}
        start = quarter_start(d) - timedelta(days=LAPSE_DAYS)
        cuts |= {start, min(start, d - timedelta(days=SLOPE_DAYS - 1)), d + timedelta(days=1)}
    return sorted(cuts)


def _calendar(days: AsOfDays, windows: tuple[int, ...] = ()) -> ibis.Table:
    """Every day from the first cut to the last as-of day with its segment's first day
    and its number (days since 1970-01-01)."""
    cuts = _cuts(days, windows)
    rows: dict[str, list[Any]] = {"day": [], "segment": [], "day_number": []}
    segment, day, k = cuts[0], cuts[0], 0
    while day <= days.days[-1]:
        if k + 1 < len(cuts) and day >= cuts[k + 1]:
            k += 1
            segment = cuts[k]
        rows["day"].append(day)
        rows["segment"].append(segment)
        rows["day_number"].append((day - EPOCH).days)
        day += timedelta(days=1)
    schema = pa.schema([("day", pa.date32()), ("segment", pa.date32()), ("day_number", pa.int64())])
    return ibis.memtable(pa.table(rows, schema=schema))


def by_segment(custom: CustomMeasure) -> bool:
    """Whether ``custom`` is computed with the usage windows (:func:`usage_history`
    with it): a window of at most 90 days (inside the rows every as-of day joins) and
    any aggregation but ``active_days``, which counts distinct days across users."""
    return custom.aggregation is not Aggregation.ACTIVE_DAYS and custom.window_days <= SLOPE_DAYS


def segments(
    rollup: ibis.Table,
    days: AsOfDays,
    config: UsageConfig,
    custom: tuple[CustomMeasure, ...] = (),
) -> ibis.Table:
    """The rollup summed per (account, user, segment): events, logins, events x day
    number (for the slope), whether each key feature was used, and per custom measure
    number ``m`` (:func:`by_segment` ones; the segments then also break at the first
    day of their windows) ``custom_<m>_count`` (its events' count), ``custom_<m>_hit``
    (one of its events) and ``custom_<m>_days`` (the days with one of them).

    Read by :func:`_per_user`."""
    mine = {m: x for m, x in enumerate(custom) if by_segment(x)}
    calendar = _calendar(days, tuple(sorted({x.window_days for x in mine.values()})))
    rows = rollup.join(calendar, rollup.day == calendar.day)
    c = rows["count"]
    keys = {f"key_{i}": (rows.event == k).any() for i, k in enumerate(config.key_features)}
    extra: dict[str, ibis.Value] = {}
    for m, measure in mine.items():
        hit = rows.event.isin(list(measure.events))
        extra[f"custom_{m}_count"] = c.sum(where=hit)
        extra[f"custom_{m}_hit"] = hit.any()
        if measure.aggregation is Aggregation.USER_DAYS:
            # one rollup row per (user, day, event): for one event its rows are its days
            many = len(set(measure.events)) > 1
            extra[f"custom_{m}_days"] = rows.day.nunique(where=hit) if many else hit.sum()
    return rows.group_by(["account_id", "user_id", "segment"]).aggregate(
        count=c.sum(),
        logins=c.sum(where=rows.event == config.login_event),
        count_day=(c * rows.day_number).sum(),
        **keys,
        **extra,
    )


def _per_user(
    segments: ibis.Table, days: AsOfDays, config: UsageConfig, custom: dict[int, CustomMeasure]
) -> ibis.Table:
    """Per (as_of, account, user) with an event in the windows: the window figures.

    The rollup is summed per segment first (:func:`segments`); each segment joins the
    as-of days whose windows hold it (``window_from`` to as_of, at most 122 days), so
    the rollup is read once for every as-of day. A segment is inside or outside each
    window as a whole, so its first day stands for all its days."""
    # the (segment, as-of day) pairs with window_from <= segment <= as_of, joined on the
    # segment (a hash join) rather than comparing every segment with every day; the
    # segments may be finer (custom windows) than the cuts of the usage windows
    d = days.table
    held = _held(days, window_from)
    pairs_days = held.join(d, held.on == d.as_of).drop("on")
    past = segments.join(pairs_days, "segment")
    day = past.segment
    in_7 = day > past[minus(7)]
    in_30 = day > past[minus(30)]
    in_prev = ~in_30 & (day > past[minus(60)])
    in_90 = day > past[minus(SLOPE_DAYS)]
    c = past["count"]
    # Σ c·x with x = day index 0..89 in the 90-day window (89 = as_of):
    # x = 89 - as_of + day, so Σ c·x = (89 - as_of number) Σ c + Σ c·day number
    sum_xy = ((SLOPE_DAYS - 1) - past.as_of_number) * c + past.count_day
    keys = {f"key_{i}": (in_30 & past[f"key_{i}"]).any() for i in range(len(config.key_features))}
    for m, measure in custom.items():  # as custom_history sums its users' rollup rows
        in_m = day > past[minus(measure.window_days)]
        keys[f"custom_{m}_in"] = in_m.any()
        keys[f"custom_{m}_count"] = past[f"custom_{m}_count"].sum(where=in_m)
        keys[f"custom_{m}_hit"] = (in_m & past[f"custom_{m}_hit"]).any()
        if measure.aggregation is Aggregation.USER_DAYS:
            keys[f"custom_{m}_days"] = past[f"custom_{m}_days"].sum(where=in_m)
    return past.group_by([AS_OF, "account_id", "user_id"]).aggregate(
        in_7=in_7.any(),
        in_30=in_30.any(),
        in_prev=in_prev.any(),
        # the last event in [quarter start - 30, as_of - 30] and none after: lapsed
        lapsed=day.between(past.lapsed_from, past.lapsed_to).any() & ~in_30.any(),
        events_30d=c.sum(where=in_30),
        events_prev_30d=c.sum(where=in_prev),
        logins_30d=past.logins.sum(where=in_30),
        sum_y=c.sum(where=in_90),
        sum_xy=sum_xy.sum(where=in_90),
        **keys,
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


def _windows(
    users: ibis.Table, config: UsageConfig, custom: dict[int, CustomMeasure]
) -> ibis.Table:
    """Per (as_of, account) from :func:`_per_user`; per custom measure number ``m`` its
    value (``custom_<m>_value``), named active users in its window (``_users``) and
    whether the account had an event in it (``_in``)."""
    named = users.user_id.notnull()
    customs: dict[str, ibis.Value] = {}
    for m, measure in custom.items():
        if measure.aggregation is Aggregation.COUNT:
            value = users[f"custom_{m}_count"].sum()
        elif measure.aggregation is Aggregation.ACTIVE_USERS:
            value = (named & users[f"custom_{m}_hit"]).sum()
        else:  # user_days (active_days is not by_segment)
            value = users[f"custom_{m}_days"].sum(where=named)
        customs[f"custom_{m}_value"] = value
        customs[f"custom_{m}_users"] = (named & users[f"custom_{m}_in"]).sum()
        customs[f"custom_{m}_in"] = users[f"custom_{m}_in"].any()
    # CASE, not a cast: PostgreSQL has no boolean -> bigint cast
    keys = [
        users[f"key_{i}"].ifelse(1, 0).cast("int64").max() for i in range(len(config.key_features))
    ]
    return users.group_by([AS_OF, "account_id"]).aggregate(
        users_removed_quarter=(named & users.lapsed).sum(),
        active_users_7d=(named & users.in_7).sum(),
        active_users_30d=(named & users.in_30).sum(),
        active_users_prev_30d=(named & users.in_prev).sum(),
        events_30d=users.events_30d.sum(),
        events_prev_30d=users.events_prev_30d.sum(),
        logins_30d=users.logins_30d.sum(),
        sum_y=users.sum_y.sum(),
        sum_xy=users.sum_xy.sum(),
        key_features_30d=sum(keys[1:], keys[0]) if keys else ibis.literal(0),
        **customs,
    )


def _bucket(day: ibis.Value, days: AsOfDays) -> ibis.Value:
    """The first as-of day on or after ``day`` (null after the last)."""
    return ibis.cases(*((day <= d, ibis.literal(d)) for d in days.days), else_=ibis.null("date"))


def _quarter_days(days: AsOfDays) -> ibis.Table:
    """Every day from each as-of day's quarter start to it, with that as-of day."""
    pairs = []
    for as_of in days.days:
        day = quarter_start(as_of)
        while day <= as_of:
            pairs.append((day, as_of))
            day += timedelta(days=1)
    schema = pa.schema([("day", pa.date32()), (AS_OF, pa.date32())])
    columns = {"day": [p[0] for p in pairs], AS_OF: [p[1] for p in pairs]}
    return ibis.memtable(pa.table(columns, schema=schema))


def _per_account(rollup: ibis.Table, days: AsOfDays) -> ibis.Table:
    """Per (as_of, account) with an event on or before as_of: the last event day and
    the users first seen from the first day of the as-of quarter to as_of.

    Without reading the history once per day: the first and last event day per user
    and *bucket* (the days after one as-of day up to the next); the last event day as
    of each day is the latest over the account's buckets up to it, and a user is added
    in the quarter of the as-of days whose quarter holds their first day."""
    past = rollup.filter(rollup.day <= days.days[-1])
    per_bucket = past.group_by(
        ["account_id", "user_id", _bucket(past.day, days).name("bucket")]
    ).aggregate(first_day=past.day.min(), last_day=past.day.max())
    accounts = per_bucket.group_by(["account_id", "bucket"]).aggregate(
        last_day=per_bucket.last_day.max()
    )
    d = days.table
    seen = accounts.join(d, accounts.bucket <= d.as_of)
    last = seen.group_by([AS_OF, "account_id"]).aggregate(last_day=seen.last_day.max())
    named = per_bucket.filter(per_bucket.user_id.notnull())
    users = named.group_by(["account_id", "user_id"]).aggregate(first_day=named.first_day.min())
    quarters = _quarter_days(days)
    new = users.join(quarters, users.first_day == quarters.day)
    added = new.group_by([AS_OF, "account_id"]).aggregate(users_added_quarter=new.count())
    both = last.left_join(added, [AS_OF, "account_id"])
    return both.select(
        last.as_of, last.account_id, last.last_day,
        users_added_quarter=both.users_added_quarter.fill_null(0),
    )  # fmt: skip


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

    Two reads of the rollup: its rows summed per segment (:func:`segments`) join the
    as-of days whose windows hold them (the window figures, the custom measures), and
    per-user summaries of the whole history give the last event day and the users
    added (see :func:`_per_account`)."""
    mine = {m: x for m, x in enumerate(custom) if by_segment(x)}
    accounts = _per_account(rollup, days)
    per_segment = segments(rollup, days, config, custom)
    windows = _windows(_per_user(per_segment, days, config, mine), config, mine)
    w = accounts.left_join(windows, [AS_OF, "account_id"])
    zero = {
        name: w[name].fill_null(0)
        for name in (
            "users_removed_quarter", "active_users_7d", "active_users_30d",
            "active_users_prev_30d", "key_features_30d",
        )
    }  # fmt: skip
    customs: dict[str, ibis.Value] = {}
    for m, measure in mine.items():
        value = w[f"custom_{m}_value"].fill_null(0).cast("float64")
        users = w[f"custom_{m}_users"]
        result = (
            ibis.cases((users > 0, value / users), else_=ibis.null())
            if measure.per_active_user
            else value
        )
        customs[measure.name] = ibis.cases((w[f"custom_{m}_in"], result), else_=ibis.null())
    w = w.select(
        accounts.as_of, accounts.account_id, accounts.last_day, accounts.users_added_quarter,
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
