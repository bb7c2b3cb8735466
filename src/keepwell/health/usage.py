"""Usage measures per account as of a date, as Ibis expressions over the event rollup.

The rollup has one row per ``(day, account_id, user_id, event)`` with a ``count``.
Windows end on the as-of day, inclusive: "30d" is the days ``(as_of - 30, as_of]``.
Nothing dated after ``as_of`` is read, so a value never changes when later data arrives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

import ibis

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
LAPSE_DAYS = 30


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


def _per_user(rollup: ibis.Table, as_of: date, config: UsageConfig) -> ibis.Table:
    """One scan: per (account, user) the first and last day and the window figures."""
    past = rollup.filter(rollup.day <= as_of)
    in_7 = past.day > as_of - timedelta(days=7)
    in_30 = past.day > as_of - timedelta(days=30)
    in_prev = ~in_30 & (past.day > as_of - timedelta(days=60))
    in_90 = past.day > as_of - timedelta(days=SLOPE_DAYS)
    # x = day index 0..89 within the 90-day window (89 = as_of)
    x = (SLOPE_DAYS - 1) - ibis.literal(as_of).delta(past.day, unit="day")
    c = past["count"]
    keys = {
        f"key_{i}": (in_30 & (past.event == k)).any() for i, k in enumerate(config.key_features)
    }
    return past.group_by(["account_id", "user_id"]).aggregate(
        first_day=past.day.min(),
        last_day=past.day.max(),
        in_7=in_7.any(),
        in_30=in_30.any(),
        in_prev=in_prev.any(),
        events_30d=c.sum(where=in_30),
        events_prev_30d=c.sum(where=in_prev),
        logins_30d=c.sum(where=in_30 & (past.event == config.login_event)),
        sum_y=c.sum(where=in_90),
        sum_xy=(c * x).sum(where=in_90),
        **keys,
    )


def _per_account(users: ibis.Table, as_of: date, config: UsageConfig) -> ibis.Table:
    """Per account from :func:`_per_user`. A user is *added* on the day of their first
    event and *removed* (lapsed) 30 days after their last; both are counted from the
    first day of the as-of quarter to as_of."""
    quarter_start = date(as_of.year, 3 * ((as_of.month - 1) // 3) + 1, 1)
    lapsed_from = quarter_start - timedelta(days=LAPSE_DAYS)
    lapsed_to = as_of - timedelta(days=LAPSE_DAYS)
    named = users.user_id.notnull()
    # CASE, not a cast: PostgreSQL has no boolean -> bigint cast
    keys = [
        users[f"key_{i}"].ifelse(1, 0).cast("int64").max() for i in range(len(config.key_features))
    ]
    return users.group_by("account_id").aggregate(
        last_day=users.last_day.max(),
        users_added_quarter=(named & (users.first_day >= quarter_start)).sum(),
        users_removed_quarter=(named & users.last_day.between(lapsed_from, lapsed_to)).sum(),
        active_users_7d=(named & users.in_7).sum(),
        active_users_30d=(named & users.in_30).sum(),
        active_users_prev_30d=(named & users.in_prev).sum(),
        events_30d=users.events_30d.sum(),
        events_prev_30d=users.events_prev_30d.sum(),
        logins_30d=users.logins_30d.sum(),
        sum_y=users.sum_y.sum(),
        sum_xy=users.sum_xy.sum(),
        key_features_30d=sum(keys[1:], keys[0]) if keys else ibis.literal(0),
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
    - ``users_added_quarter`` / ``users_removed_quarter``: see :func:`_per_account`.

    One scan of the rollup up to as_of, grouped by (account, user), then by account.
    """
    w = _per_account(_per_user(rollup, as_of, config), as_of, config)
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
        days_since_last_activity=ibis.literal(as_of).delta(w.last_day, unit="day"),
        users_added_quarter=w.users_added_quarter,
        users_removed_quarter=w.users_removed_quarter,
    )


def custom_measure(rollup: ibis.Table, as_of: date, measure: CustomMeasure) -> ibis.Table:
    """``measure`` per account: its aggregation over the rollup rows of its events in the
    window ``(as_of - window_days, as_of]``, divided by the active users of that window
    when ``per_active_user`` (null when there were none)."""
    window = rollup.filter(
        rollup.day > as_of - timedelta(days=measure.window_days), rollup.day <= as_of
    )
    mine = window.event.isin(list(measure.events))
    if measure.aggregation is Aggregation.USER_DAYS:
        window = window.group_by(["account_id", "user_id", "day"]).aggregate(
            count=window["count"].sum(where=mine), hit=mine.any()
        )
        mine = window.hit & window.user_id.notnull()
    value: ibis.Value
    if measure.aggregation is Aggregation.COUNT:
        value = window["count"].sum(where=mine)
    elif measure.aggregation is Aggregation.ACTIVE_USERS:
        value = window.user_id.nunique(where=mine)
    elif measure.aggregation is Aggregation.ACTIVE_DAYS:
        value = window.day.nunique(where=mine)
    else:
        value = mine.sum()
    agg = window.group_by("account_id").aggregate(
        value=value.fill_null(0).cast("float64"), users=window.user_id.nunique()
    )
    result = (
        ibis.cases((agg.users > 0, agg.value / agg.users), else_=ibis.null())
        if measure.per_active_user
        else agg.value
    )
    return agg.select("account_id", **{measure.name: result})
