"""What Account 360 and the business review show about one account, shaped from what the
slices' services return (``portfolio.service.account_view`` gathers it). Pure."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

#: Days of usage shown.
USAGE_DAYS = 180
#: Days over which a feature counts as adopted.
ADOPTION_DAYS = 30
KEY_ROLES = ("sponsor", "champion")


def usage_by_month(rows: list[dict[str, Any]], as_of: date | None = None) -> dict[str, Any]:
    """Daily rollup rows (day, event, count, users) summed per month and event; the
    active users of a month are the most distinct users seen on one day of it.
    ``partial`` is the month of ``as_of`` when ``as_of`` is not its last day (that
    month's figures are not complete), else None."""
    events: dict[str, dict[str, int]] = {}
    users: dict[str, int] = {}
    for row in rows:
        month = row["day"].strftime("%Y-%m")
        per = events.setdefault(row["event"], {})
        per[month] = per.get(month, 0) + int(row["count"])
        users[month] = max(users.get(month, 0), int(row["users"]))
    months = sorted({m for per in events.values() for m in per})
    partial = None
    if as_of is not None and (as_of + timedelta(days=1)).month == as_of.month:
        partial = as_of.strftime("%Y-%m")
    return {"months": months, "events": events, "peak_users": users, "partial": partial}


#: NPS answers in the rolling mean on Account 360.
NPS_WINDOW = 5


def nps_trend(surveys: list[dict[str, Any]], window: int = NPS_WINDOW) -> dict[str, Any]:
    """The account's NPS answers oldest first (``days``, ``scores``) and the mean of
    the last ``window`` answers at each (``rolling``): the answers are separate people,
    the mean is the trend."""
    answers = sorted(surveys, key=lambda s: str(s["responded_at"]))
    scores = [s["score"] for s in answers]
    rolling = [
        sum(scores[max(0, i + 1 - window) : i + 1]) / len(scores[max(0, i + 1 - window) : i + 1])
        for i in range(len(scores))
    ]
    days = [str(s["responded_at"])[:10] for s in answers]
    return {"days": days, "scores": scores, "rolling": rolling, "window": window}


def adoption(rows: list[dict[str, Any]], as_of: date) -> list[dict[str, Any]]:
    """Per event name: events and the most daily users in the last :data:`ADOPTION_DAYS`
    days, and whether it was used then at all (most used first)."""
    since = as_of - timedelta(days=ADOPTION_DAYS)
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        item = found.setdefault(row["event"], {"event": row["event"], "recent": 0, "users": 0})
        if row["day"] > since:
            item["recent"] += int(row["count"])
            item["users"] = max(item["users"], int(row["users"]))
    return sorted(found.values(), key=lambda i: (-i["recent"], i["event"]))


def key_people_left(contacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sponsors and champions who left (inactive, or with a ``left_on`` date)."""
    return [
        c
        for c in contacts
        if c.get("role") in KEY_ROLES and (c.get("is_active") is False or c.get("left_on"))
    ]


def account_risk(health: dict[str, Any] | None) -> dict[str, Any] | None:
    """The churn probability (0-1), ARR at risk and drivers stored with the account's
    latest health snapshot, or None when the model has not scored it."""
    risk = (health or {}).get("risk")
    if not risk or risk.get("churn_probability") is None:
        return None
    return {
        "probability": risk["churn_probability"],
        "arr_at_risk": risk.get("arr_at_risk"),
        "drivers": risk.get("drivers") or [],
    }


def plan_view(plan: dict[str, Any]) -> dict[str, Any]:
    """The success plan as the page shows it: objectives titled by their metric when
    untitled, progress as their attainment (0-1), the plan named by its title."""
    for objective in plan.get("objectives", []):
        objective.setdefault("title", objective.get("metric"))
        objective.setdefault("progress", objective.get("attainment"))
    plan.setdefault("name", plan.get("title"))
    return plan
