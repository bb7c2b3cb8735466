"""Measures per account as of a date over the operational tables (contract entities).

Each function takes Ibis tables with the data-contract columns (dates ``date``,
timestamps UTC ``timestamp``, money decimals) and returns one row per account that has
data, keyed by ``account_id``. Only facts dated on or before ``as_of`` are read: a
timestamp counts when it is before the end of the as-of day in the workspace's time zone
(``timezone``, an IANA name; UTC by default), the same day boundaries as the event
rollup's ``day``.

Each ``*_history`` function computes its measures as of many days at once: its input
joined with the as-of days (:mod:`keepwell.health.days`), grouped by ``as_of`` too; the
one-day functions are its one-day case.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

import ibis

from keepwell.health.days import AS_OF, AsOfDays, as_of_days, day_end, end, minus

DAY_SECONDS = 86_400
#: NPS answers 0-6 are detractors, 9-10 promoters.
DETRACTOR_MAX = 6
PROMOTER_MIN = 9
#: Days over which detractor answers are counted for the rules.
DETRACTOR_WINDOW_DAYS = 90
#: Per account: detractor answers in the window, the latest answer in it, and the latest
#: detractor answer (time, score).
NpsSignals = tuple[int, int | None, tuple[datetime, int] | None]


def end_of(day: date, timezone: str = "UTC") -> ibis.Value:
    """:func:`day_end` as an Ibis timestamp literal."""
    return ibis.literal(day_end(day, timezone))


def _on(table: ibis.Table, days: AsOfDays, *conditions: Any) -> ibis.Table:
    """``table`` joined with the as-of days: each row once per day for which every
    condition ``(table, days) -> boolean`` holds (every day when none is given)."""
    d = days.table
    predicates = [c(table, d) for c in conditions]
    joined = table.join(d, predicates) if predicates else table.cross_join(d)
    return joined.select(*table.columns, *d.columns)


def _days_before_end(t: ibis.Table, timestamp: ibis.Value) -> ibis.Value:
    """Local days from ``timestamp`` to the as-of day: 0 for a time on the as-of day,
    ``ceil((end of as_of − timestamp) / 86 400 s) − 1`` (a DST change moves the boundary
    by its hour)."""
    return ((t.end_epoch - timestamp.epoch_seconds()) / DAY_SECONDS).ceil().cast("int64") - 1


def _flag(condition: ibis.Value) -> ibis.Value:
    # CASE, not a cast: PostgreSQL casts no boolean to bigint or double
    return condition.fill_null(False).ifelse(1, 0).cast("int64").max()


def _one_day(history: ibis.Table) -> ibis.Table:
    return history.drop(AS_OF)


def relationship_history(
    contacts: ibis.Table, activities: ibis.Table, days: AsOfDays
) -> ibis.Table:
    """:func:`relationship_measures` as of each of ``days``: one row per (``as_of``,
    account)."""
    c = _on(contacts, days)
    present = (c.left_on > c.as_of) | (c.left_on.isnull() & c.is_active)
    left_recently = c.left_on.between(c[minus(89)], c.as_of)
    people = c.group_by([AS_OF, "account_id"]).aggregate(
        has_sponsor=_flag(present & (c.role == "sponsor")),
        has_champion=_flag(present & (c.role == "champion")),
        key_contact_left_90d=_flag(left_recently & c.role.isin(["sponsor", "champion"])),
    )
    a = _on(activities, days, lambda t, d: t.occurred_at < d[end(0)])
    meetings = a.group_by([AS_OF, "account_id", "end_epoch"]).aggregate(
        last_meeting=a.occurred_at.max(where=a.kind.isin(["meeting", "business_review"])),
        last_review=a.occurred_at.max(where=a.kind == "business_review"),
    )
    joined = people.outer_join(
        meetings,
        [people.as_of == meetings.as_of, people.account_id == meetings.account_id],
    )
    return joined.select(
        as_of=ibis.coalesce(people.as_of, meetings.as_of),
        account_id=ibis.coalesce(people.account_id, meetings.account_id),
        has_sponsor=people.has_sponsor,
        has_champion=people.has_champion,
        key_contact_left_90d=people.key_contact_left_90d,
        days_since_meeting=_days_before_end(meetings, meetings.last_meeting),
        days_since_business_review=_days_before_end(meetings, meetings.last_review),
    )


def relationship_measures(
    contacts: ibis.Table, activities: ibis.Table, as_of: date, timezone: str = "UTC"
) -> ibis.Table:
    """``has_sponsor``, ``has_champion`` (0/1: a present contact in that role),
    ``key_contact_left_90d`` (0/1: a sponsor or champion whose ``left_on`` is in the last
    90 days), ``days_since_meeting`` and ``days_since_business_review`` (days).

    A contact is present as of d when ``left_on`` is after d, or when it has no
    ``left_on`` and is active.
    """
    return _one_day(relationship_history(contacts, activities, as_of_days([as_of], timezone)))


def support_history(tickets: ibis.Table, days: AsOfDays) -> ibis.Table:
    """:func:`support_measures` as of each of ``days``."""
    t = _on(tickets, days, lambda t, d: t.opened_at < d[end(0)])
    is_open = t.closed_at.isnull() | (t.closed_at >= t[end(0)])
    recent = t.opened_at >= t[end(90)]
    before = ~recent & (t.opened_at >= t[end(180)])
    urgent = t.priority.isin(["high", "urgent"])
    closed_recently = (t.closed_at < t[end(0)]) & (t.closed_at >= t[end(90)])
    agg = t.group_by([AS_OF, "account_id"]).aggregate(
        open_urgent_tickets=(is_open & urgent).sum(),
        urgent_tickets_90d=(recent & urgent).sum(),
        opened_90d=recent.sum(),
        opened_before=before.sum(),
        # float64 first: on PostgreSQL AVG of an integer is a numeric
        csat_90d=t.csat.cast("float64").mean(where=closed_recently),
    )
    return agg.select(
        AS_OF,
        "account_id",
        "open_urgent_tickets",
        "urgent_tickets_90d",
        ticket_volume_trend=(agg.opened_90d - agg.opened_before)
        / ibis.greatest(agg.opened_before, 1),
        csat_90d=agg.csat_90d,
    )


def support_measures(tickets: ibis.Table, as_of: date, timezone: str = "UTC") -> ibis.Table:
    """``open_urgent_tickets`` (open at the end of as_of with priority high or urgent),
    ``urgent_tickets_90d`` (tickets of priority high or urgent opened in the last 90 days),
    ``ticket_volume_trend`` ((opened in last 90d − opened in the 90d before) / max(before,
    1)) and ``csat_90d`` (mean csat 1–5 of tickets closed in the last 90 days)."""
    return _one_day(support_history(tickets, as_of_days([as_of], timezone)))


def _nps_history(surveys: ibis.Table, days: AsOfDays, ends: tuple[str, str]) -> ibis.Table:
    """NPS per (as_of, account) of the responses from the instant in column ``ends[1]``
    (inclusive) to the one in ``ends[0]`` (exclusive): each respondent's latest NPS
    response counts (the contact, or the response itself when anonymous)."""
    s = _on(
        surveys.filter(surveys.kind == "nps"),
        days,
        lambda t, d: t.responded_at < d[ends[0]],
        lambda t, d: t.responded_at >= d[ends[1]],
    )
    s = s.mutate(respondent=ibis.coalesce(s.contact_id, s.response_id))
    rank = ibis.row_number().over(
        group_by=[s.as_of, s.account_id, s.respondent], order_by=ibis.desc(s.responded_at)
    )
    latest = s.mutate(rank=rank).filter(lambda r: r["rank"] == 0)
    return latest.group_by([AS_OF, "account_id"]).aggregate(
        nps=(
            (latest.score >= PROMOTER_MIN).ifelse(1, 0).cast("float64").mean()
            - (latest.score <= DETRACTOR_MAX).ifelse(1, 0).cast("float64").mean()
        )
        * 100
    )


def nps_by_account(
    surveys: ibis.Table, as_of: date, window_days: int = 180, timezone: str = "UTC"
) -> ibis.Table:
    """NPS (−100…100) per account over ``(as_of - window_days, as_of]``: each respondent's
    latest NPS response counts (the contact, or the response itself when anonymous)."""
    days = as_of_days([as_of], timezone)
    start = end_of(as_of - timedelta(days=window_days), timezone)
    table = days.table.mutate(window_start=start)
    return _one_day(_nps_history(surveys, AsOfDays(days.days, table), (end(0), "window_start")))


def nps_signals(
    responses: Iterable[Mapping[str, Any]], as_of: date, timezone: str = "UTC"
) -> dict[str, NpsSignals]:
    """Per account, from survey ``responses`` (account_id, kind, score, responded_at):
    NPS detractor answers (0–:data:`DETRACTOR_MAX`) in the :data:`DETRACTOR_WINDOW_DAYS`
    local days up to ``as_of``, the latest NPS answer in that window, and the latest
    detractor answer (time, score). Accounts without an NPS answer then are absent."""
    end = day_end(as_of, timezone)
    start = day_end(as_of - timedelta(days=DETRACTOR_WINDOW_DAYS), timezone)
    result: dict[str, NpsSignals] = {}
    nps = [r for r in responses if r["kind"] == "nps" and r["responded_at"] is not None]
    for row in sorted(nps, key=lambda r: r["responded_at"]):
        at = row["responded_at"]
        if not start <= at < end:
            continue
        count, _, last = result.get(row["account_id"], (0, None, None))
        detractor = row["score"] is not None and row["score"] <= DETRACTOR_MAX
        last = (at, int(row["score"])) if detractor else last
        result[row["account_id"]] = (count + detractor, row["score"], last)
    return result


def sentiment_history(surveys: ibis.Table, days: AsOfDays) -> ibis.Table:
    """:func:`sentiment_measures` as of each of ``days``."""
    now = _nps_history(surveys, days, (end(0), end(180)))
    before = _nps_history(surveys, days, (end(90), end(270)))
    joined = now.left_join(before, [AS_OF, "account_id"])
    return joined.select(
        as_of=now.as_of,
        account_id=now.account_id,
        nps_180d=now.nps,
        nps_change_90d=now.nps - before.nps,
    )


def sentiment_measures(surveys: ibis.Table, as_of: date, timezone: str = "UTC") -> ibis.Table:
    """``nps_180d`` and ``nps_change_90d`` (NPS now minus NPS as of 90 days earlier)."""
    return _one_day(sentiment_history(surveys, as_of_days([as_of], timezone)))


def payment_history(invoices: ibis.Table, days: AsOfDays) -> ibis.Table:
    """:func:`payment_measures` as of each of ``days``."""
    inv = _on(
        invoices.filter(invoices.status.fill_null("open") != "void"),
        days,
        lambda t, d: t.issued_on <= d.as_of,
    )
    as_of = inv.as_of
    unpaid = inv.paid_on.isnull() | (inv.paid_on > as_of)
    past_due = ibis.cases(
        (unpaid & (inv.due_on < as_of), as_of.delta(inv.due_on, unit="day")), else_=0
    )
    recent = inv.due_on.between(inv[minus(179)], as_of)
    before = inv.due_on.between(inv[minus(359)], inv[minus(180)])
    paid_by_then = inv.paid_on.notnull() & (inv.paid_on <= as_of)
    late = (paid_by_then & (inv.paid_on > inv.due_on)) | (~paid_by_then & (inv.due_on < as_of))
    late_share = late.ifelse(1, 0).cast("float64")
    agg = inv.group_by([AS_OF, "account_id"]).aggregate(
        max_days_past_due=past_due.max(),
        late_share_180d=late_share.mean(where=recent),
        late_share_before=late_share.mean(where=before),
    )
    return agg.select(
        AS_OF,
        "account_id",
        "max_days_past_due",
        "late_share_180d",
        late_share_change=agg.late_share_180d - agg.late_share_before,
    )


def payment_measures(invoices: ibis.Table, as_of: date) -> ibis.Table:
    """``max_days_past_due`` (days, of invoices unpaid at as_of; 0 when none is late),
    ``late_share_180d`` (share 0–1 of invoices due in the last 180 days paid late or
    still unpaid after their due date) and ``late_share_change`` (that share minus the
    share of the 180 days before). Void invoices are left out."""
    return _one_day(payment_history(invoices, as_of_days([as_of])))


def _active_on(subs: ibis.Table, day: ibis.Value) -> ibis.Value:
    return (subs.starts_on <= day) & (subs.ends_on.isnull() | (subs.ends_on > day))


def subscription_history(subscriptions: ibis.Table, days: AsOfDays) -> ibis.Table:
    """:func:`subscription_measures` as of each of ``days``."""
    s = _on(subscriptions, days, lambda t, d: t.starts_on <= d.as_of)
    active = _active_on(s, s.as_of)
    earlier = _active_on(s, s[minus(90)])
    mrr = s.mrr.cast("float64")
    agg = s.group_by([AS_OF, "account_id"]).aggregate(
        mrr=mrr.sum(where=active).fill_null(0),
        mrr_before=mrr.sum(where=earlier).fill_null(0),
        licensed_seats=s.quantity.sum(where=active),
        first_start=s.starts_on.min(),
        next_end=s.ends_on.min(where=active),
    )
    return agg.select(
        AS_OF,
        "account_id",
        "mrr",
        arr=agg.mrr * 12,
        mrr_change_90d=ibis.cases(
            (agg.mrr_before > 0, agg.mrr / agg.mrr_before - 1), else_=ibis.null()
        ),
        licensed_seats=agg.licensed_seats,
        tenure_days=agg.as_of.delta(agg.first_start, unit="day"),
        days_to_renewal=agg.next_end.delta(agg.as_of, unit="day"),
    )


def subscription_measures(subscriptions: ibis.Table, as_of: date) -> ibis.Table:
    """``mrr`` and ``arr`` (12 × mrr) as of the day (sum of active lines, in the lines'
    amounts: ``health.service`` converts them to the base currency first),
    ``mrr_change_90d`` (mrr / mrr 90 days earlier − 1), ``licensed_seats`` (quantity of
    active lines), ``tenure_days`` (days since the first line started) and
    ``days_to_renewal`` (days to the earliest end of an active line)."""
    return _one_day(subscription_history(subscriptions, as_of_days([as_of])))
