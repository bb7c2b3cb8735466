"""Per-prediction drivers in a CSM's words: the features that raised an account's churn
risk most (largest positive contributions to the log-odds), each phrased from its value,
e.g. "active users fell 40% in 30 days", "no sponsor". Pure."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

TOP_DRIVERS = 3


def _pct(v: float) -> str:
    return f"{abs(v):.0%}"


def _moved(what: str, window: str) -> Callable[[float], str]:
    def phrase(v: float) -> str:
        verb = "fell" if v < 0 else "rose"
        return f"{what} {verb} {_pct(v)} {window}"

    return phrase


def _flag(yes: str, no: str) -> Callable[[float], str]:
    return lambda v: yes if v >= 0.5 else no


def _days(template: str) -> Callable[[float], str]:
    return lambda v: template.format(n=round(v))


PHRASES: dict[str, Callable[[float], str]] = {
    "active_users_trend_30d": _moved("active users", "in 30 days"),
    "events_trend_30d": _moved("product usage", "in 30 days"),
    "usage_slope_90d": _moved("usage trend", "per month over 90 days"),
    "mrr_change_90d": _moved("MRR", "in 90 days"),
    "license_utilization": lambda v: f"{v:.0%} of licensed seats active",
    "feature_breadth_30d": lambda v: f"uses {v:.0%} of key features",
    "active_users_30d": _days("{n} active users in 30 days"),
    "active_users_7d": _days("{n} active users in 7 days"),
    "events_30d": _days("{n} events in 30 days"),
    "days_since_last_activity": _days("no product activity for {n} days"),
    "users_removed_quarter": _days("{n} users lapsed this quarter"),
    "has_sponsor": _flag("has a sponsor", "no sponsor"),
    "has_champion": _flag("has a champion", "no champion"),
    "key_contact_left_90d": _flag("a sponsor or champion left in 90 days", "key contacts stayed"),
    "days_since_meeting": _days("no meeting for {n} days"),
    "days_since_business_review": _days("no business review for {n} days"),
    "open_urgent_tickets": _days("{n} open urgent tickets"),
    "ticket_volume_trend": _moved("ticket volume", "vs the previous 90 days"),
    "csat_90d": lambda v: f"support CSAT {v:.1f}/5",
    "nps_180d": lambda v: f"NPS {v:+.0f}",
    "nps_change_90d": lambda v: f"NPS {'fell' if v < 0 else 'rose'} {abs(v):.0f} points in 90 days",
    "max_days_past_due": _days("an invoice {n} days past due"),
    "late_share_180d": lambda v: f"{v:.0%} of invoices paid late in 180 days",
    "late_share_change": lambda v: f"late payments {'up' if v > 0 else 'down'} {abs(v):.0%}",
    "days_to_renewal": _days("renewal in {n} days"),
    "tenure_days": lambda v: f"customer for {v / 30.4:.0f} months",
    "auto_renew_share": lambda v: (
        "contract auto-renews" if v >= 0.5 else "contract does not auto-renew"
    ),
    "health_score": lambda v: f"health score {v:.0f}",
    "health_score_change_3m": lambda v: (
        f"health score {'fell' if v < 0 else 'rose'} {abs(v):.0f} points in 3 months"
    ),
    "active_users_30d_change_3m": lambda v: (
        f"{abs(v):.0f} {'fewer' if v < 0 else 'more'} active users than 3 months ago"
    ),
    "events_30d_change_3m": lambda v: (
        f"{abs(v):,.0f} {'fewer' if v < 0 else 'more'} events in 30 days than 3 months ago"
    ),
    "license_utilization_change_3m": lambda v: (
        f"seat utilization {'down' if v < 0 else 'up'} {abs(v) * 100:.0f} points in 3 months"
    ),
    "nps_180d_change_3m": lambda v: (
        f"NPS {'down' if v < 0 else 'up'} {abs(v):.0f} points in 3 months"
    ),
    "mrr_change_3m": lambda v: f"MRR {'down' if v < 0 else 'up'} {abs(v):,.0f} in 3 months",
    "days_to_known_renewal": _days("renewal in {n} days"),
    "days_in_stage": _days("{n} days in the current journey stage"),
    "products": _days("{n} products"),
    "open_ended_share": lambda v: f"{v:.0%} of MRR month to month",
    "logins_per_active_user_week": lambda v: f"{v:.1f} logins per active user a week",
    "users_added_quarter": lambda v: (
        "no new users this quarter" if v < 1 else f"{v:.0f} new users this quarter"
    ),
    "days_since_created_at": lambda v: f"customer for {v / 30.4:.0f} months",
    "employees": _days("{n:,} employees"),
    "active_days_per_user_30d": lambda v: f"users active {v:.1f} days a month",
    "urgent_tickets_90d": _days("{n} urgent tickets in 90 days"),
    "share_of_wallet": lambda v: f"share of wallet {v:.0%}",
    "arr": lambda v: f"ARR {v:,.0f}",
    "mrr": lambda v: f"MRR {v:,.0f}",
}


def phrase(feature: str, value: Any) -> str:
    """``feature`` with ``value`` in words; a generic "<feature> is <value>" otherwise."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"no data for {feature.replace('_', ' ')}"
    if isinstance(value, int | float | np.number) and feature in PHRASES:
        return PHRASES[feature](float(value))
    if isinstance(value, int | float | np.number):
        return f"{feature.replace('_', ' ')} is {float(value):,.4g}"
    return f"{feature.replace('_', ' ')} is {value}"


def top_drivers(
    features: Sequence[str],
    values: Sequence[Any],
    contributions: Sequence[float],
    top: int = TOP_DRIVERS,
) -> list[dict[str, Any]]:
    """The ``top`` features with the largest positive contribution (they raise the risk),
    each with its value, its contribution to the log-odds and its phrase."""
    order = np.argsort(-np.asarray(contributions, dtype=float), kind="stable")
    result = []
    for i in order[:top]:
        if contributions[i] <= 0:
            break
        value = values[i]
        result.append(
            {
                "feature": features[i],
                "value": _plain(value),
                "contribution": round(float(contributions[i]), 4),
                "text": phrase(features[i], value),
            }
        )
    return result


def _plain(value: Any) -> Any:
    if isinstance(value, np.number):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
