"""All health measures of every customer as of a date: one wide Ibis table.

Inputs are Ibis tables (the event rollup and the data-contract entities); the output has
one row per account that is a customer on the as-of day (not a prospect, MRR > 0), its
account columns (including custom attributes, usable by segment rules) and one column
per measure. A null measure means "no data", which the scorecard renormalizes away.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import ibis

from keepwell.health.days import AS_OF, AsOfDays, as_of_days
from keepwell.health.operational import (
    payment_history,
    relationship_history,
    sentiment_history,
    subscription_history,
    support_history,
)
from keepwell.health.usage import (
    USAGE_MEASURES,
    CustomMeasure,
    UsageConfig,
    by_segment,
    custom_history,
    usage_history,
)

#: Built-in measures: name -> (category, what it is and its unit).
MEASURES: dict[str, tuple[str, str]] = {
    "active_users_7d": ("usage", "distinct users with an event in the last 7 days"),
    "active_users_30d": ("usage", "distinct users with an event in the last 30 days"),
    "events_30d": ("usage", "events in the last 30 days"),
    "license_utilization": ("usage", "active users 30d / licensed seats (0-1+)"),
    "events_trend_30d": ("usage", "events last 30d / the 30d before - 1"),
    "active_users_trend_30d": ("usage", "active users last 30d / the 30d before - 1"),
    "usage_slope_90d": ("usage", "90-day slope of daily events, relative change per 30 days"),
    "logins_per_active_user_week": ("usage", "logins per active user per week (30d)"),
    "feature_breadth_30d": ("usage", "share of key features used in 30 days (0-1)"),
    "days_since_last_activity": ("usage", "days since the last event"),
    "users_added_quarter": ("usage", "users first seen this quarter"),
    "users_removed_quarter": ("usage", "users lapsed (30 days inactive) this quarter"),
    "has_sponsor": ("relationship", "a sponsor is present (0/1)"),
    "has_champion": ("relationship", "a champion is present (0/1)"),
    "key_contact_left_90d": ("relationship", "a sponsor or champion left in 90 days (0/1)"),
    "days_since_meeting": ("relationship", "days since the last meeting or review"),
    "days_since_business_review": ("relationship", "days since the last business review"),
    "open_urgent_tickets": ("support", "open tickets of priority high or urgent"),
    "urgent_tickets_90d": ("support", "tickets of priority high or urgent opened in 90 days"),
    "ticket_volume_trend": ("support", "(tickets 90d - 90d before) / max(before, 1)"),
    "csat_90d": ("support", "mean CSAT (1-5) of tickets closed in 90 days"),
    "nps_180d": ("sentiment", "NPS (-100..100), latest response per contact in 180 days"),
    "nps_change_90d": ("sentiment", "NPS now - NPS 90 days earlier (points)"),
    "max_days_past_due": ("financial", "days past due of the oldest unpaid invoice"),
    "late_share_180d": ("financial", "share of invoices due in 180 days paid late (0-1)"),
    "late_share_change": ("financial", "late share 180d - late share of the 180d before"),
    "mrr_change_90d": ("financial", "MRR / MRR 90 days earlier - 1"),
    "share_of_wallet": ("financial", "ARR / category budget"),
    "tenure_days": ("lifecycle", "days since the first subscription started"),
    "days_to_renewal": ("lifecycle", "days to the end of the earliest active line"),
}
#: Columns every measure table carries besides the measures (usable in rules).
CONTEXT_COLUMNS = ("mrr", "arr", "licensed_seats")
ENTITIES = ("accounts", "contacts", "subscriptions", "invoices", "tickets", "surveys", "activities")
_COUNTS = ("active_users_7d", "active_users_30d", "events_30d")


@dataclass(frozen=True)
class MeasureInputs:
    """The tables measures are computed from (data-contract columns, Arrow types)."""

    rollup: ibis.Table
    accounts: ibis.Table
    contacts: ibis.Table
    subscriptions: ibis.Table
    invoices: ibis.Table
    tickets: ibis.Table
    surveys: ibis.Table
    activities: ibis.Table
    #: IANA time zone of the workspace: where a day of the operational timestamps ends
    timezone: str = "UTC"
    #: measures pushed from outside (``measure, account_id, measured_on, value``); None: none
    external: ibis.Table | None = None


@dataclass(frozen=True)
class MeasureConfig:
    """Configuration of the measures: key features, login event, custom measures."""

    usage: UsageConfig = field(default_factory=UsageConfig)
    custom: tuple[CustomMeasure, ...] = ()
    #: names of the external measures (pushed by other slices, e.g. ``plan_progress``)
    external: tuple[str, ...] = ()


def measure_names(config: MeasureConfig) -> list[str]:
    """Every measure name available with ``config`` (built-in, custom, then external)."""
    return [*MEASURES, *(m.name for m in config.custom), *config.external]


def external_history(
    external: ibis.Table | None, days: AsOfDays, names: Sequence[str]
) -> ibis.Table:
    """:func:`external_measures` as of each of ``days``: one row per (``as_of``,
    account with a value measured on or before as_of)."""
    if external is None:
        external = ibis.memtable(
            {"measure": [], "account_id": [], "measured_on": [], "value": []},
            schema={"measure": "string", "account_id": "string", "measured_on": "date",
                    "value": "float64"},
        )  # fmt: skip
    named = external.filter(external.measure.isin(list(names)))
    d = days.table
    known = named.join(d, named.measured_on <= d.as_of).select(*named.columns, d.as_of)
    rank = ibis.row_number().over(
        group_by=[known.as_of, known.account_id, known.measure],
        order_by=ibis.desc(known.measured_on),
    )
    latest = known.mutate(rank=rank).filter(lambda t: t["rank"] == 0)
    return latest.group_by([AS_OF, "account_id"]).aggregate(
        **{name: latest.value.cast("float64").max(where=latest.measure == name) for name in names}
    )


def external_measures(external: ibis.Table | None, as_of: date, names: Sequence[str]) -> ibis.Table:
    """One row per account with a column per external measure of ``names``: the value
    latest measured on or before ``as_of`` (never a later one; a null value stays null)."""
    return external_history(external, as_of_days([as_of]), names).drop(AS_OF)


def history_days(inputs: MeasureInputs, days: Iterable[date], config: MeasureConfig) -> AsOfDays:
    """The as-of days of :func:`compute_history` with the boundaries its measures need
    (the workspace's time zone, the custom measures' windows)."""
    return as_of_days(days, inputs.timezone, {m.window_days for m in config.custom})


def compute_history(inputs: MeasureInputs, days: AsOfDays, config: MeasureConfig) -> ibis.Table:
    """:func:`compute_measures` as of each of ``days`` in one query: the same columns,
    ``as_of`` first, one row per (as-of day, customer on that day).

    Each input is read once: its rows join the as-of days they count for (a usage
    window, a line active then, ...) and every aggregate groups by ``as_of`` too, so
    the cost grows with the rows in the windows, not with the days times the history.
    ``days`` from :func:`history_days`.
    """
    acc = inputs.accounts
    reserved = {*measure_names(config), *CONTEXT_COLUMNS, "segment", "stage", AS_OF}
    acc = acc.drop(*[c for c in acc.columns if c in reserved])  # attributes named like measures
    acc = acc.filter(~acc.is_prospect.fill_null(False))
    d = days.table
    acc = acc.join(d, acc.created_at.isnull() | (acc.created_at <= d.as_of)).select(
        d.as_of, *acc.columns
    )
    parts = [
        subscription_history(inputs.subscriptions, days),
        # with the custom measures it can compute from the same read of the rollup
        usage_history(inputs.rollup, days, config.usage, config.custom),
        relationship_history(inputs.contacts, inputs.activities, days),
        support_history(inputs.tickets, days),
        sentiment_history(inputs.surveys, days),
        payment_history(inputs.invoices, days),
        *(custom_history(inputs.rollup, days, m) for m in config.custom if not by_segment(m)),
        *([external_history(inputs.external, days, config.external)] if config.external else []),
    ]
    wide = acc
    for part in parts:
        wide = wide.left_join(part, [AS_OF, "account_id"]).drop("as_of_right", "account_id_right")
    # the custom measures after the built-in ones, in their configured order
    customs = [m.name for m in config.custom]
    ordered = [c for c in wide.columns if c not in customs and c not in config.external]
    wide = wide.select(*ordered, *customs, *[c for c in wide.columns if c in config.external])
    wide = wide.filter(wide.mrr > 0)
    seats = wide.licensed_seats
    budget = wide.category_budget.cast("float64")
    return wide.mutate(
        **{name: wide[name].fill_null(0) for name in _COUNTS},
        license_utilization=ibis.cases(
            # float64: on PostgreSQL both are SUM(bigint), a numeric, and so their ratio
            (seats > 0, wide.active_users_30d.fill_null(0).cast("float64") / seats),
            else_=ibis.null(),
        ),
        share_of_wallet=ibis.cases((budget > 0, wide.arr / budget), else_=ibis.null()),
    )


def compute_measures(inputs: MeasureInputs, as_of: date, config: MeasureConfig) -> ibis.Table:
    """Every measure of every customer as of ``as_of`` (see :data:`MEASURES` for units).

    Customers are accounts that are not prospects, were created on or before as_of and
    have MRR > 0 on as_of. Usage counts of a customer without events are 0. The one-day
    case of :func:`compute_history`.
    """
    return compute_history(inputs, history_days(inputs, [as_of], config), config).drop(AS_OF)


__all__ = [
    "CONTEXT_COLUMNS",
    "ENTITIES",
    "MEASURES",
    "USAGE_MEASURES",
    "MeasureConfig",
    "MeasureInputs",
    "compute_history",
    "compute_measures",
    "external_history",
    "external_measures",
    "history_days",
    "measure_names",
]
