"""Goals for the next period of a business review, proposed from what the review found:
open success-plan objectives, the weakest health measures, unused features, a key
contact who left, a renewal coming up, and support that needs attention."""

from __future__ import annotations

from typing import Any

MAX_GOALS = 6


def _measure_goals(health: dict[str, Any] | None) -> list[str]:
    if not health:
        return []
    weak = sorted(
        (m for m in health.get("measures", []) if m.get("points") is not None),
        key=lambda m: m["points"],
    )
    return [
        f"Improve {m['measure'].replace('_', ' ')} (now {m['points']:.0f} of 100 points)"
        for m in weak[:2]
        if m["points"] < 60
    ]


def next_period_goals(review: dict[str, Any]) -> list[str]:
    """Up to :data:`MAX_GOALS` goals, most important first (plain sentences)."""
    found: list[str] = []
    for person in review["left"]:
        who = person.get("name") or "the contact who left"
        found.append(f"Find a new {person['role']} to replace {who}")
    plan = review.get("plan")
    for objective in (plan or {}).get("objectives", []):
        if (objective.get("progress") or 0) < 1:
            target = objective.get("target")
            goal = f"Reach the objective {objective['title']}"
            if isinstance(target, int | float):
                goal += f" (target {target:g})"
            found.append(goal)
    found += _measure_goals(review.get("health"))
    unused = [a["event"] for a in review["adoption"] if not a["recent"]]
    if unused:
        found.append("Adopt unused features: " + ", ".join(unused[:3]))
    renewal = review["renewal"]
    if renewal["next_renewal"] is not None:
        found.append(f"Prepare the renewal due {renewal['next_renewal']}")
    if review["support"]["urgent"]:
        found.append("Close out the high-priority support issues of this period")
    return found[:MAX_GOALS] or ["Keep the current momentum: agree next objectives together"]
