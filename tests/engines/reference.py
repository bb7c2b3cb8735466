"""Independent references for the engine parity tests: the definitions of
docs/metrics.md (and the modules' docstrings) computed in plain Python over the fixture
rows, without Ibis or any engine. Every engine, DuckDB included, is compared with these,
so a change in one engine's result fails its parity test."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pyarrow as pa

from keepwell.health.usage import Aggregation, CustomMeasure, UsageConfig
from keepwell.revenue.movements import COLUMNS, MOVEMENTS

Row = dict[str, Any]
CENT6 = Decimal("0.000001")
ZERO = Decimal("0.000000")
OPEN_END = 999_999


def rows_of(table: pa.Table) -> list[Row]:
    return table.to_pylist()


# --- usage -------------------------------------------------------------------------------


def _in(day: date, as_of: date, start: int, end: int = 0) -> bool:
    """``day`` in the window ``(as_of - start, as_of - end]``."""
    return as_of - timedelta(days=start) < day <= as_of - timedelta(days=end)


def _ratio_change(now: float | int | None, before: float | int | None) -> float | None:
    return now / before - 1.0 if before else None


def usage_measures(rollup: Iterable[Row], as_of: date, config: UsageConfig) -> list[Row]:
    """The usage measures of :func:`keepwell.health.usage.usage_measures`, by definition:
    windows end on ``as_of`` inclusive; users are named users (events without a user id
    count as events, never as users)."""
    by_account: dict[str, list[Row]] = defaultdict(list)
    for row in rollup:
        if row["day"] <= as_of:
            by_account[row["account_id"]].append(row)
    quarter_start = date(as_of.year, 3 * ((as_of.month - 1) // 3) + 1, 1)
    result = []
    for account, rows in by_account.items():

        def users(start: int, end: int = 0, rows: list[Row] = rows) -> set[str]:
            return {
                r["user_id"]
                for r in rows
                if r["user_id"] is not None and _in(r["day"], as_of, start, end)
            }

        def events(start: int, end: int = 0, rows: list[Row] = rows) -> int | None:
            hits = [r["count"] for r in rows if _in(r["day"], as_of, start, end)]
            return sum(hits) if hits else None

        events_30d = events(30) or 0
        active_30d, active_prev = len(users(30)), len(users(60, 30))
        # least squares of the daily totals over the 90 days (missing days are 0)
        daily = [0.0] * 90
        for r in rows:
            if _in(r["day"], as_of, 90):
                daily[89 - (as_of - r["day"]).days] += r["count"]
        mean = sum(daily) / 90
        x_mean = 89 / 2
        slope = sum((x - x_mean) * (y - mean) for x, y in enumerate(daily)) / sum(
            (x - x_mean) ** 2 for x in range(90)
        )
        logins = sum(
            r["count"]
            for r in rows
            if _in(r["day"], as_of, 30) and r["event"] == config.login_event
        )
        used = {r["event"] for r in rows if _in(r["day"], as_of, 30)}
        first: dict[str, date] = {}
        last: dict[str, date] = {}
        for r in rows:
            if r["user_id"] is not None:
                user = r["user_id"]
                first[user] = min(first.get(user, r["day"]), r["day"])
                last[user] = max(last.get(user, r["day"]), r["day"])
        lapsed_from, lapsed_to = quarter_start - timedelta(days=30), as_of - timedelta(days=30)
        result.append(
            {
                "account_id": account,
                "active_users_7d": len(users(7)),
                "active_users_30d": active_30d,
                "events_30d": events_30d,
                "events_trend_30d": _ratio_change(events_30d, events(60, 30)),
                "active_users_trend_30d": _ratio_change(active_30d, active_prev),
                "usage_slope_90d": slope * 30 / mean if mean > 0 else None,
                "logins_per_active_user_week": logins / active_30d * 7 / 30 if active_30d else None,
                "feature_breadth_30d": (
                    sum(1 for k in config.key_features if k in used) / len(config.key_features)
                    if config.key_features
                    else None
                ),
                "days_since_last_activity": (as_of - max(r["day"] for r in rows)).days,
                "users_added_quarter": sum(1 for d in first.values() if d >= quarter_start),
                "users_removed_quarter": sum(
                    1 for d in last.values() if lapsed_from <= d <= lapsed_to
                ),
            }
        )
    return result


def custom_measure(rollup: Iterable[Row], as_of: date, measure: CustomMeasure) -> list[Row]:
    """A custom measure by its definition: the aggregation of the rows of its events in
    ``(as_of - window_days, as_of]``, per active user (any event) when asked."""
    by_account: dict[str, list[Row]] = defaultdict(list)
    for row in rollup:
        if _in(row["day"], as_of, measure.window_days):
            by_account[row["account_id"]].append(row)
    result = []
    for account, rows in by_account.items():
        mine = [r for r in rows if r["event"] in measure.events]
        value: float
        if measure.aggregation is Aggregation.COUNT:
            value = float(sum(r["count"] for r in mine))
        elif measure.aggregation is Aggregation.ACTIVE_USERS:
            value = float(len({r["user_id"] for r in mine if r["user_id"] is not None}))
        elif measure.aggregation is Aggregation.ACTIVE_DAYS:
            value = float(len({r["day"] for r in mine}))
        else:
            value = float(len({(r["user_id"], r["day"]) for r in mine if r["user_id"] is not None}))
        users = len({r["user_id"] for r in rows if r["user_id"] is not None})
        if measure.per_active_user:
            result.append({"account_id": account, measure.name: value / users if users else None})
        else:
            result.append({"account_id": account, measure.name: value})
    return result


# --- revenue -----------------------------------------------------------------------------


def month_of(day: date) -> int:
    return day.year * 12 + day.month - 1


def converted_lines(subscriptions: Iterable[Row], fx_rates: Iterable[Row], base: str) -> list[Row]:
    """Lines in the base currency: a foreign line converts at the rate of its start month
    or the latest earlier month, rounded once to 6 places; months as indexes."""
    rates: dict[str, dict[int, Decimal]] = defaultdict(dict)
    for fx in fx_rates:
        rates[fx["currency"].upper()][month_of(fx["month"])] = Decimal(fx["rate"])
    result = []
    for line in subscriptions:
        currency = (line["currency"] or base).upper()
        start = month_of(line["starts_on"])
        mrr = Decimal(line["mrr"])
        if currency != base:
            month = max(m for m in rates[currency] if m <= start)
            mrr = (mrr * rates[currency][month]).quantize(CENT6, rounding=ROUND_HALF_UP)
        end = month_of(line["ends_on"]) if line["ends_on"] else OPEN_END
        result.append({**line, "mrr": mrr.quantize(CENT6), "start_m": start, "end_m": end})
    return result


def month_end_mrr(
    lines: Iterable[Row], key: tuple[str, ...], until: int
) -> dict[tuple[Any, ...], dict[int, Decimal]]:
    """MRR of each key at the end of each month up to ``until`` it has a line in
    (month-end method: a line counts in months ``start_m <= m < end_m``)."""
    mrr: dict[tuple[Any, ...], dict[int, Decimal]] = defaultdict(dict)
    for line in lines:
        months = mrr[tuple(line[k] for k in key)]
        for m in range(line["start_m"], min(line["end_m"], until + 1)):
            months[m] = months.get(m, ZERO) + line["mrr"]
    return mrr


def monthly_movements(lines: list[Row], first: int, last: int, *, by_product: bool) -> list[Row]:
    """Starting MRR, the five movements and ending MRR per month (docs/metrics.md): with
    p the key's MRR at the end of the month before and c at the end of the month,
    new (p = 0 < c, first MRR ever) +c, reactivation (p = 0 < c, MRR before) +c,
    expansion (0 < p < c) c - p, contraction (0 < c < p) c - p, churn (p > 0 = c) -p."""
    key = ("account_id", "product") if by_product else ("account_id",)
    mrr = month_end_mrr(lines, key, last)
    groups = sorted({k[1] if by_product else "all" for k in mrr})
    result = []
    for group in groups:
        keys = [k for k in mrr if (k[1] if by_product else "all") == group]
        for m in range(first, last + 1):
            row: Row = {"group": group, "m": m}
            amounts = dict.fromkeys(MOVEMENTS, ZERO)
            counts = dict.fromkeys(MOVEMENTS, 0)
            for k in keys:
                p, c = mrr[k].get(m - 1, ZERO), mrr[k].get(m, ZERO)
                had_before = any(v > 0 for month, v in mrr[k].items() if month < m)
                kind = (
                    ("reactivation" if had_before else "new") if p == 0 < c
                    else "expansion" if 0 < p < c
                    else "contraction" if 0 < c < p
                    else "churn" if p > 0 == c
                    else None
                )  # fmt: skip
                if kind is not None:
                    amounts[kind] += c - p
                    counts[kind] += 1
            row["starting_mrr"] = sum((mrr[k].get(m - 1, ZERO) for k in keys), ZERO)
            row.update(amounts)
            row["ending_mrr"] = sum((mrr[k].get(m, ZERO) for k in keys), ZERO)
            row["starting_accounts"] = sum(1 for k in keys if mrr[k].get(m - 1, ZERO) > 0)
            row.update({f"{k}_accounts": counts[k] for k in MOVEMENTS})
            row["ending_accounts"] = sum(1 for k in keys if mrr[k].get(m, ZERO) > 0)
            result.append({c: row[c] for c in COLUMNS})
    return result


def cohort_table(lines: list[Row], first: int, last: int, groups: Mapping[str, str]) -> list[Row]:
    """Logo and revenue retention by cohort (an account's first month with MRR in
    ``first..last``) and age in months; an account stays in its cohort when it comes
    back after churning."""
    mrr = month_end_mrr(lines, ("account_id",), last)
    cells: dict[tuple[str, int, int], list[Decimal]] = defaultdict(list)
    for (account,), months in mrr.items():
        paying = sorted(m for m, v in months.items() if first <= m <= last and v > 0)
        if not paying:
            continue
        for m in paying:
            cells[(groups[account], paying[0], m)].append(months[m])
    result = []
    for (group, cohort, m), values in cells.items():
        base = cells[(group, cohort, cohort)]
        total, base_total = sum(values, ZERO), sum(base, ZERO)
        result.append(
            {
                "group": group,
                "cohort": cohort,
                "age": m - cohort,
                "cohort_accounts": len(base),
                "accounts": len(values),
                "logo_retention": len(values) / len(base),
                "cohort_mrr": base_total,
                "mrr": total,
                "revenue_retention": float(total) / float(base_total),
            }
        )
    return result


def survivor_counts(lines: list[Row], period_months: int, first: int, last: int) -> list[Row]:
    """Accounts still active after k renewal periods per cohort (the sBG input): cohort =
    month of first MRR; on annual renewals (``period_months`` 12) when the longest term
    of its paying lines starting that month is 334-396 days, else monthly (under 334);
    active after k periods when it has not churned (first month end without MRR) by the
    end of month cohort + k x period."""
    mrr = month_end_mrr(lines, ("account_id",), last)
    result: dict[tuple[int, int], int] = {}
    for (account,), months in mrr.items():
        paying = sorted(m for m, v in months.items() if v > 0)
        if not paying:
            continue
        cohort = paying[0]
        churn = next(
            (m for m in range(cohort + 1, last + 1)
             if months.get(m - 1, ZERO) > 0 and months.get(m, ZERO) == 0),
            None,
        )  # fmt: skip
        terms = [
            (ln["ends_on"] - ln["starts_on"]).days if ln["ends_on"] else 0
            for ln in lines
            if ln["account_id"] == account and ln["mrr"] > 0
            and ln["end_m"] > ln["start_m"] == cohort
        ]  # fmt: skip
        term = max(terms)
        annual = 334 <= term <= 396
        if (period_months == 12) != annual or (period_months == 1 and term >= 334):
            continue
        k = 0
        while cohort + k * period_months <= last:
            alive = churn is None or churn > cohort + k * period_months
            result[(cohort, k)] = result.get((cohort, k), 0) + int(alive)
            k += 1
    return [{"cohort": c, "period": k, "active": n} for (c, k), n in result.items()]
