"""Who gets a CTA, how much is at stake, its priority, and when its tasks are due (pure).

Routing: a CTA on an account with an owner goes to that owner, whatever the rule says;
the segment's pool (``assignment.pools`` in rules.yaml) takes a CTA only when the
account has no owner (typically a tech-touch account). ``assign: pool`` in a rule is
kept for old files and means the same.

Stake: what the CTA is worth acting on, in the base currency a year:

    stake = ARR x p x urgency x sponsor

where ``p`` is the churn model's probability (without a model: red 0.5, yellow 0.2,
green 0.05, unscored 0.1), ``urgency`` = 1 + (90 - days to renewal) / 45 for a renewal
within 90 days (3 on the day, 2 at 45 days, 1 from 90 days), and ``sponsor`` = 1.5 when
a sponsor or champion left in the last 90 days. My work and the team queue are ordered
by it.

Priority: points of risk, each explained on the CTA:

    churn: p >= 0.6 -> 3, p >= 0.4 -> 2, p >= 0.2 -> 1 (without a model: red 2, yellow 1)
    renewal: within 30 days -> 2, within 90 days -> 1
    sponsor or champion left -> 1

5 points or more is ``urgent``, 3-4 ``high``, 1-2 ``medium``, 0 ``low``. The rule's
``priority`` is the least a CTA of that rule gets (an invoice 60 days late stays
urgent on a healthy account).

Task due dates of a CTA prepared for an event (a renewal: the rule's ``due_in``) are
counted backwards from the event: the last task is due on the event's day minus its
``before_days`` (0 by default) and the others keep their spacing before it; when the
event is too near for that spacing, the tasks are spread evenly from the opening day
to the event. No task is ever due after the event nor before the opening day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

#: Priorities from the least to the most urgent.
LEVELS = ("low", "medium", "high", "urgent")
#: Churn probability assumed from the health band when no churn model predicts one.
BAND_PROBABILITY = {"red": 0.5, "yellow": 0.2, "green": 0.05}
UNSCORED_PROBABILITY = 0.1
#: Renewals nearer than this many days raise the stake.
URGENT_WINDOW = 90
SPONSOR_FACTOR = 1.5


def route_owner(owner: str | None, segment: str | None, pools: Mapping[str, str]) -> str | None:
    """The CTA's owner: the account's owner; the segment's pool only for an account
    without one; None when neither exists."""
    if owner:
        return owner
    return pools.get(str(segment)) or None


@dataclass(frozen=True)
class Stake:
    """What is at stake on one account as a CTA opens, and the priority it earns."""

    value: Decimal
    priority: str
    points: int
    why: str


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def _probability(values: Mapping[str, Any]) -> tuple[float, bool]:
    """The churn probability and whether a model gave it (else from the band)."""
    p = _number(values.get("churn_probability"))
    if p is not None:
        return min(max(p, 0.0), 1.0), True
    return BAND_PROBABILITY.get(str(values.get("band")), UNSCORED_PROBABILITY), False


def sponsor_lost(values: Mapping[str, Any]) -> bool:
    """A sponsor or champion left in the last 90 days (``key_contact_left_90d``)."""
    return (_number(values.get("key_contact_left_90d")) or 0) >= 1


def _churn_points(p: float, modelled: bool, band: str) -> int:
    if not modelled:
        return {"red": 2, "yellow": 1}.get(band, 0)
    return 3 if p >= 0.6 else 2 if p >= 0.4 else 1 if p >= 0.2 else 0


def assess_stake(values: Mapping[str, Any], floor: str = "low") -> Stake:
    """The stake and priority of a CTA on the account whose rule row is ``values``
    (``arr``, ``churn_probability``, ``band``, ``days_to_renewal``,
    ``key_contact_left_90d``); ``floor`` is the rule's priority."""
    arr = Decimal(str(_number(values.get("arr")) or 0))
    p, modelled = _probability(values)
    band = str(values.get("band") or "unscored")
    days = _number(values.get("days_to_renewal"))
    lost = sponsor_lost(values)
    urgency = 1.0
    if days is not None and 0 <= days < URGENT_WINDOW:
        urgency = 1 + (URGENT_WINDOW - days) / 45
    factor = Decimal(str(round(p * urgency * (SPONSOR_FACTOR if lost else 1.0), 6)))
    value = (arr * factor).quantize(Decimal("0.01"))
    churn = _churn_points(p, modelled, band)
    renewal = 0 if days is None or days < 0 else 2 if days <= 30 else 1 if days <= 90 else 0
    points = churn + renewal + int(lost)
    level = "urgent" if points >= 5 else "high" if points >= 3 else "medium" if points else "low"
    if LEVELS.index(floor if floor in LEVELS else "low") > LEVELS.index(level):
        level = floor
    source = f"churn probability {p:.0%}" if modelled else f"health {band} (no churn model)"
    parts = [f"{source}: +{churn}"]
    parts.append(f"renewal in {days:.0f} days: +{renewal}" if days is not None and days >= 0
                 else "no renewal date: +0")  # fmt: skip
    parts.append(f"sponsor or champion left: +{int(lost)}")
    why = (
        f"{level}: {points} point{'' if points == 1 else 's'} ({'; '.join(parts)}); "
        f"the rule's least is {floor}. "
        f"At stake {value:,.0f} a year = ARR {arr:,.0f} x p {p:.2f} x urgency {urgency:.2f}"
        f"{' x sponsor 1.5' if lost else ''}"
    )
    return Stake(value, level, points, why)


def rank(level: str) -> int:
    """Sort key of a priority: 0 for urgent, up to 3 for low (9 if unknown)."""
    return LEVELS[::-1].index(level) if level in LEVELS else 9


def task_due_dates(
    offsets: Sequence[int],
    opened_on: date,
    event_on: date | None = None,
    before_days: Sequence[int] | None = None,
) -> list[date]:
    """Due days of tasks ``offsets`` days after ``opened_on``; with ``event_on``,
    counted backwards from it (see the module's text): never after the event nor
    before ``opened_on``."""
    if event_on is None or event_on < opened_on:
        return [opened_on + timedelta(days=d) for d in offsets]
    if not offsets:
        return []
    gaps = list(before_days or [0] * len(offsets))
    last = max(offsets)
    anchor = event_on - timedelta(days=min(gaps[offsets.index(last)], (event_on - opened_on).days))
    window = (anchor - opened_on).days
    if last <= window:
        dues = [anchor - timedelta(days=last - d) for d in offsets]
    else:
        dues = [opened_on + timedelta(days=round(d * window / last)) if last else anchor
                for d in offsets]  # fmt: skip
    return [min(max(d, opened_on), event_on) for d in dues]
