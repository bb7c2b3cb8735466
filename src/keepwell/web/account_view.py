"""Everything Account 360 and the business review show about one account, gathered
from the slices' services: detail, health and its history, revenue, usage, contacts,
and (when those slices are present) CTAs, tasks, success plan, timeline and risk."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from keepwell.contract import queries
from keepwell.core.errors import NotFoundError
from keepwell.core.warehouse import DELTA, ROLLUP
from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from keepwell.health.history import score_history
from keepwell.web import risk_view, success_view
from keepwell.web.directory import directory

#: Days of usage shown.
USAGE_DAYS = 180
#: Days over which a feature counts as adopted.
ADOPTION_DAYS = 30
KEY_ROLES = ("sponsor", "champion")


def _health(workspace: Workspace, account_id: str) -> dict[str, Any] | None:
    try:
        return health_service.explain_account(workspace, account_id)
    except NotFoundError:
        return None


def usage_by_month(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Daily rollup rows (day, event, count, users) summed per month and event; the
    active users of a month are the most distinct users seen on one day of it."""
    events: dict[str, dict[str, int]] = {}
    users: dict[str, int] = {}
    for row in rows:
        month = row["day"].strftime("%Y-%m")
        per = events.setdefault(row["event"], {})
        per[month] = per.get(month, 0) + int(row["count"])
        users[month] = max(users.get(month, 0), int(row["users"]))
    months = sorted({m for per in events.values() for m in per})
    return {"months": months, "events": events, "peak_users": users}


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


#: One account's daily usage per event, from the rollup and its pending delta (summed
#: by key, like ``AnalyticsStore.rollup``): the same rows as ``queries.account_usage``,
#: as one parameterised DuckDB query (no expression compilation per page view).
USAGE_SQL = f"""
SELECT day, event, CAST(sum("count") AS BIGINT) AS "count", count(DISTINCT user_id) AS users
FROM (SELECT day, account_id, user_id, event, "count" FROM {ROLLUP}
      UNION ALL SELECT day, account_id, user_id, event, "count" FROM {DELTA}) AS r
WHERE account_id = $account AND day >= $first AND day <= $last
GROUP BY day, event ORDER BY day, event
"""


def account_usage(
    workspace: Workspace, lock: threading.Lock, account_id: str, first: date, last: date
) -> list[dict[str, Any]]:
    """Events and distinct users of ``account_id`` per day and event in [first, last]."""
    params = {"account": account_id, "first": first, "last": last}
    with lock:
        raw = workspace.analytics().con.con
        cursor = raw.execute(USAGE_SQL, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _usage(workspace: Workspace, lock: threading.Lock, account_id: str, as_of: date) -> Any:
    return account_usage(workspace, lock, account_id, as_of - timedelta(days=USAGE_DAYS), as_of)


def account_view(
    workspace: Workspace, lock: threading.Lock, account_id: str, as_of: date, scope: str | None
) -> dict[str, Any]:
    """The account as Account 360 shows it (NotFoundError when out of ``scope``)."""
    detail = queries.account_detail(workspace, account_id, scope=scope)
    row = directory(workspace, as_of).by_id.get(account_id, {})
    usage = _usage(workspace, lock, account_id, as_of)
    surveys = detail["surveys"]
    health = _health(workspace, account_id)
    return {
        "account": detail,
        "row": row,
        "arr": row.get("arr", Decimal(0)),
        "health": health,
        "history": score_history(workspace, account_id),
        "usage": usage_by_month(usage),
        "adoption": adoption(usage, as_of),
        "left": key_people_left(detail["contacts"]),
        "nps": [s for s in surveys if s["kind"] == "nps"],
        "csat": [s for s in surveys if s["kind"] == "csat"],
        "risk": risk_view.account_risk(health),
        "risk_model": risk_view.has_model(workspace),
        "work": success_view.account_work(workspace, account_id, as_of, scope),
        "plan": success_view.success_plan(workspace, account_id, as_of),
        "timeline": success_view.timeline(workspace, account_id, detail["timeline"]),
    }
