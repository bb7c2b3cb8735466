"""The monthly progress meeting of a shared plan (pure): when the next one is, and its
agenda generated from the plan.

Cadence: monthly from the plan's creation day, on the same day of the month (the last
day for a shorter month). Agenda: overdue milestones of each side (oldest first), the
customer's measures against target, the next milestones due within 30 days, and the
open points of the last meeting's notes.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

UPCOMING_DAYS = 30


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_meeting(created_on: date, as_of: date) -> date:
    """The first monthly meeting day on or after ``as_of``."""
    n = max(0, (as_of.year - created_on.year) * 12 + as_of.month - created_on.month - 1)
    while add_months(created_on, n) < as_of:
        n += 1
    return add_months(created_on, n)


def agenda(
    plan: Mapping[str, Any], measures: Sequence[Mapping[str, Any]], as_of: date
) -> list[str]:
    """The agenda items, in meeting order (plain sentences)."""
    items: list[str] = []
    milestones = plan.get("milestones", [])
    for side, who in (("customer", "Your side"), ("us", "Our side")):
        late = sorted(
            (m for m in milestones if m.get("overdue") and m.get("side") == side),
            key=lambda m: m["due_on"],
        )
        items += [f"{who}, overdue since {m['due_on']}: {m['title']}" for m in late]
    for m in measures:
        latest = m.get("latest")
        now = "no reading yet" if latest is None else f"now {latest:g}"
        items.append(
            f"{m['name']}: {now} {m['unit']} against a target of {m['target']:g} by "
            f"{m['target_on']} (baseline {m['baseline']:g})"
        )
    soon = as_of + timedelta(days=UPCOMING_DAYS)
    for m in milestones:
        if m.get("status") != "done" and not m.get("overdue") and m["due_on"] <= soon:
            items.append(f"Coming up by {m['due_on']}: {m['title']}")
    checkins = plan.get("checkins", [])
    if checkins and checkins[-1].get("notes"):
        items.append(f"From the last meeting ({checkins[-1]['held_on']}): {checkins[-1]['notes']}")
    return items or ["Review the plan together and agree the next milestones"]
