"""Time in the journey stage, from the stage history (pure).

The history is one entry per transition: the day an account entered a stage. As of a
day, an account entered its current stage on its latest entry before that day when that
entry names the same stage, else that very day (it just moved). An account without any
entry (its first snapshot) entered on the stage's ``elapsed`` estimate (e.g. the
account's start for onboarding), or that day without one. Overdue: more days in the
stage than its ``expected_days``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from statistics import median

from keepwell.health.config import Stage
from keepwell.health.portfolio import AccountHealth


@dataclass(frozen=True)
class Entry:
    """``account_id`` entered ``stage`` on ``entered_on``."""

    account_id: str
    stage: str
    entered_on: date


def _estimated_entry(health: AccountHealth) -> date:
    estimate = health.days_in_stage  # the stage's elapsed estimate, when it has one
    if estimate is None or estimate != estimate or estimate <= 0:
        return health.as_of
    return health.as_of - timedelta(days=int(estimate))


def entered_on(health: AccountHealth, last: Entry | None) -> date:
    """The day ``health``'s account entered its current stage, given its ``last`` entry
    before ``health.as_of`` (None: no history)."""
    if last is None:
        return _estimated_entry(health)
    return last.entered_on if last.stage == health.stage else health.as_of


def time_in_stage(
    assessed: Iterable[AccountHealth], last: Mapping[str, Entry], stages: Iterable[Stage]
) -> list[AccountHealth]:
    """``assessed`` with ``stage_entered_on``, ``days_in_stage`` (whole days since then)
    and ``stage_overdue`` (days in stage > the stage's ``expected_days``) from ``last``,
    each account's latest history entry before the day assessed."""
    expected = {s.name: s.expected_days for s in stages}
    result = []
    for health in assessed:
        day = entered_on(health, last.get(health.score.account_id))
        days = (health.as_of - day).days
        limit = expected.get(health.stage)
        result.append(
            replace(
                health, stage_entered_on=day, days_in_stage=float(days),
                stage_overdue=limit is not None and days > limit,
            )
        )  # fmt: skip
    return result


def new_entries(timed: Iterable[AccountHealth], last: Mapping[str, Entry]) -> list[Entry]:
    """The history entries ``timed`` (from :func:`time_in_stage`) adds: accounts without
    history, or whose stage changed since their ``last`` entry."""
    return [
        Entry(h.score.account_id, h.stage, h.stage_entered_on or h.as_of)
        for h in timed
        if (entry := last.get(h.score.account_id)) is None or entry.stage != h.stage
    ]


def replay(days: Mapping[date, list[AccountHealth]]) -> list[Entry]:
    """The history of stages seen on each of ``days`` (oldest first): an account's first
    day enters its stage on the estimate (see :func:`entered_on`), a later day whose
    stage differs from the day before enters it that day."""
    last: dict[str, Entry] = {}
    entries: list[Entry] = []
    for day in sorted(days):
        for entry in new_entries(time_in_stage(days[day], last, ()), last):
            last[entry.account_id] = entry
            entries.append(entry)
    return entries


@dataclass(frozen=True)
class Stint:
    """A stay in a stage that ended: ``days`` spent in ``stage``, left on ``left_on``."""

    stage: str
    days: int
    left_on: date


def finished_stints(entries: Iterable[Entry]) -> list[Stint]:
    """Every stay that a later entry of the same account ended."""
    by_account: dict[str, list[Entry]] = {}
    for entry in entries:
        by_account.setdefault(entry.account_id, []).append(entry)
    stints = []
    for rows in by_account.values():
        rows.sort(key=lambda e: e.entered_on)
        for before, after in itertools.pairwise(rows):
            days = (after.entered_on - before.entered_on).days
            stints.append(Stint(before.stage, days, after.entered_on))
    return stints


def median_or_none(values: Iterable[float | None]) -> float | None:
    """The median of the known values (None and NaN left out), None when there is none."""
    known = [float(v) for v in values if v is not None and v == v]
    return float(median(known)) if known else None
