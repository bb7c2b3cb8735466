"""Measures per account as of a date over the operational tables (contract entities).

Each function takes Ibis tables with the data-contract columns (dates ``date``,
timestamps UTC ``timestamp``, money decimals) and returns one row per account that has
data, keyed by ``account_id``. Only facts dated on or before ``as_of`` are read: a
timestamp counts when it is before the end of the as-of day in the workspace's time zone
(``timezone``, an IANA name; UTC by default), the same day boundaries as the event
rollup's ``day``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import ibis

DAY_SECONDS = 86_400
#: NPS answers 0-6 are detractors, 9-10 promoters.
DETRACTOR_MAX = 6
PROMOTER_MIN = 9
#: Days over which detractor answers are counted for the rules.
DETRACTOR_WINDOW_DAYS = 90
#: Per account: detractor answers in the window, the latest answer in it, and the latest
#: detractor answer (time, score).
NpsSignals = tuple[int, int | None, tuple[datetime, int] | None]


def day_end(day: date, timezone: str = "UTC") -> datetime:
    """The first instant after ``day`` in ``timezone`` (its next local midnight), in UTC."""
    after = day + timedelta(days=1)
    local = datetime(after.year, after.month, after.day, tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC)


def end_of(day: date, timezone: str = "UTC") -> ibis.Value:
    """:func:`day_end` as an Ibis timestamp literal."""
    return ibis.literal(day_end(day, timezone))


def _days_since(as_of: date, value: ibis.Value) -> ibis.Value:
    return ibis.literal(as_of).delta(value, unit="day")


def _days_before_end(as_of: date, timestamp: ibis.Value, timezone: str) -> ibis.Value:
    """Local days from ``timestamp`` to the as-of day: 0 for a time on the as-of day,
    ``ceil((end of as_of − timestamp) / 86 400 s) − 1`` (a DST change moves the boundary
    by its hour)."""
    end = int(day_end(as_of, timezone).timestamp())
    return ((end - timestamp.epoch_seconds()) / DAY_SECONDS).ceil().cast("int64") - 1


def _flag(condition: ibis.Value) -> ibis.Value:
    # CASE, not a cast: PostgreSQL casts no boolean to bigint or double
    return condition.fill_null(False).ifelse(1, 0).cast("int64").max()


def relationship_measures(
    contacts: ibis.Table, activities: ibis.Table, as_of: date, timezone: str = "UTC"
) -> ibis.Table:
    """``has_sponsor``, ``has_champion`` (0/1: a present contact in that role),
    ``key_contact_left_90d`` (0/1: a sponsor or champion whose ``left_on`` is in the last
    90 days), ``days_since_meeting`` and ``days_since_business_review`` (days).

    A contact is present as of d when ``left_on`` is after d, or when it has no
    ``left_on`` and is active.
    """
    c = contacts
    present = (c.left_on > as_of) | (c.left_on.isnull() & c.is_active)
    left_recently = c.left_on.between(as_of - timedelta(days=89), as_of)
    people = c.group_by("account_id").aggregate(
        has_sponsor=_flag(present & (c.role == "sponsor")),
        has_champion=_flag(present & (c.role == "champion")),
        key_contact_left_90d=_flag(left_recently & c.role.isin(["sponsor", "champion"])),
    )
    a = activities.filter(activities.occurred_at < end_of(as_of, timezone))
    meetings = a.group_by("account_id").aggregate(
        last_meeting=a.occurred_at.max(where=a.kind.isin(["meeting", "business_review"])),
        last_review=a.occurred_at.max(where=a.kind == "business_review"),
    )
    joined = people.outer_join(meetings, "account_id")
    return joined.select(
        account_id=ibis.coalesce(people.account_id, meetings.account_id),
        has_sponsor=people.has_sponsor,
        has_champion=people.has_champion,
        key_contact_left_90d=people.key_contact_left_90d,
        days_since_meeting=_days_before_end(as_of, meetings.last_meeting, timezone),
        days_since_business_review=_days_before_end(as_of, meetings.last_review, timezone),
    )


def support_measures(tickets: ibis.Table, as_of: date, timezone: str = "UTC") -> ibis.Table:
    """``open_urgent_tickets`` (open at the end of as_of with priority high or urgent),
    ``urgent_tickets_90d`` (tickets of priority high or urgent opened in the last 90 days),
    ``ticket_volume_trend`` ((opened in last 90d − opened in the 90d before) / max(before,
    1)) and ``csat_90d`` (mean csat 1–5 of tickets closed in the last 90 days)."""
    end = end_of(as_of, timezone)
    t = tickets.filter(tickets.opened_at < end)
    is_open = t.closed_at.isnull() | (t.closed_at >= end)
    start_90 = end_of(as_of - timedelta(days=90), timezone)
    recent = t.opened_at >= start_90
    before = ~recent & (t.opened_at >= end_of(as_of - timedelta(days=180), timezone))
    urgent = t.priority.isin(["high", "urgent"])
    closed_recently = (t.closed_at < end) & (t.closed_at >= start_90)
    agg = t.group_by("account_id").aggregate(
        open_urgent_tickets=(is_open & urgent).sum(),
        urgent_tickets_90d=(recent & urgent).sum(),
        opened_90d=recent.sum(),
        opened_before=before.sum(),
        # float64 first: on PostgreSQL AVG of an integer is a numeric
        csat_90d=t.csat.cast("float64").mean(where=closed_recently),
    )
    return agg.select(
        "account_id",
        "open_urgent_tickets",
        "urgent_tickets_90d",
        ticket_volume_trend=(agg.opened_90d - agg.opened_before)
        / ibis.greatest(agg.opened_before, 1),
        csat_90d=agg.csat_90d,
    )


def nps_by_account(
    surveys: ibis.Table, as_of: date, window_days: int = 180, timezone: str = "UTC"
) -> ibis.Table:
    """NPS (−100…100) per account over ``(as_of - window_days, as_of]``: each respondent's
    latest NPS response counts (the contact, or the response itself when anonymous)."""
    s = surveys.filter(
        surveys.kind == "nps",
        surveys.responded_at < end_of(as_of, timezone),
        surveys.responded_at >= end_of(as_of - timedelta(days=window_days), timezone),
    )
    s = s.mutate(respondent=ibis.coalesce(s.contact_id, s.response_id))
    rank = ibis.row_number().over(
        group_by=[s.account_id, s.respondent], order_by=ibis.desc(s.responded_at)
    )
    latest = s.mutate(rank=rank).filter(lambda r: r["rank"] == 0)
    return latest.group_by("account_id").aggregate(
        nps=(
            (latest.score >= PROMOTER_MIN).ifelse(1, 0).cast("float64").mean()
            - (latest.score <= DETRACTOR_MAX).ifelse(1, 0).cast("float64").mean()
        )
        * 100
    )


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


def sentiment_measures(surveys: ibis.Table, as_of: date, timezone: str = "UTC") -> ibis.Table:
    """``nps_180d`` and ``nps_change_90d`` (NPS now minus NPS as of 90 days earlier)."""
    now = nps_by_account(surveys, as_of, timezone=timezone)
    before = nps_by_account(surveys, as_of - timedelta(days=90), timezone=timezone)
    joined = now.left_join(before, "account_id")
    return joined.select(
        account_id=now.account_id, nps_180d=now.nps, nps_change_90d=now.nps - before.nps
    )


def _late(invoices: ibis.Table, as_of: date) -> ibis.Value:
    paid_by_then = invoices.paid_on.notnull() & (invoices.paid_on <= as_of)
    return (paid_by_then & (invoices.paid_on > invoices.due_on)) | (
        ~paid_by_then & (invoices.due_on < as_of)
    )


def payment_measures(invoices: ibis.Table, as_of: date) -> ibis.Table:
    """``max_days_past_due`` (days, of invoices unpaid at as_of; 0 when none is late),
    ``late_share_180d`` (share 0–1 of invoices due in the last 180 days paid late or
    still unpaid after their due date) and ``late_share_change`` (that share minus the
    share of the 180 days before). Void invoices are left out."""
    inv = invoices.filter(invoices.issued_on <= as_of, invoices.status.fill_null("open") != "void")
    unpaid = inv.paid_on.isnull() | (inv.paid_on > as_of)
    past_due = ibis.cases((unpaid & (inv.due_on < as_of), _days_since(as_of, inv.due_on)), else_=0)
    recent = inv.due_on.between(as_of - timedelta(days=179), as_of)
    before = inv.due_on.between(as_of - timedelta(days=359), as_of - timedelta(days=180))
    late = _late(inv, as_of).ifelse(1, 0).cast("float64")
    agg = inv.group_by("account_id").aggregate(
        max_days_past_due=past_due.max(),
        late_share_180d=late.mean(where=recent),
        late_share_before=late.mean(where=before),
    )
    return agg.select(
        "account_id",
        "max_days_past_due",
        "late_share_180d",
        late_share_change=agg.late_share_180d - agg.late_share_before,
    )


def _active_on(subs: ibis.Table, day: date) -> ibis.Value:
    return (subs.starts_on <= day) & (subs.ends_on.isnull() | (subs.ends_on > day))


def subscription_measures(subscriptions: ibis.Table, as_of: date) -> ibis.Table:
    """``mrr`` and ``arr`` (12 × mrr) as of the day (sum of active lines, in the lines'
    amounts: ``health.service`` converts them to the base currency first),
    ``mrr_change_90d`` (mrr / mrr 90 days earlier − 1), ``licensed_seats`` (quantity of
    active lines), ``tenure_days`` (days since the first line started) and
    ``days_to_renewal`` (days to the earliest end of an active line)."""
    s = subscriptions.filter(subscriptions.starts_on <= as_of)
    active = _active_on(s, as_of)
    earlier = _active_on(s, as_of - timedelta(days=90))
    mrr = s.mrr.cast("float64")
    agg = s.group_by("account_id").aggregate(
        mrr=mrr.sum(where=active).fill_null(0),
        mrr_before=mrr.sum(where=earlier).fill_null(0),
        licensed_seats=s.quantity.sum(where=active),
        first_start=s.starts_on.min(),
        next_end=s.ends_on.min(where=active),
    )
    return agg.select(
        "account_id",
        "mrr",
        arr=agg.mrr * 12,
        mrr_change_90d=ibis.cases(
            (agg.mrr_before > 0, agg.mrr / agg.mrr_before - 1), else_=ibis.null()
        ),
        licensed_seats=agg.licensed_seats,
        tenure_days=_days_since(as_of, agg.first_start),
        days_to_renewal=agg.next_end.delta(ibis.literal(as_of), unit="day"),
    )
