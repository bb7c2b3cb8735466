"""The journey stages at a glance (pure): per stage, its accounts, how long they have
been in it, the share on track (not overdue), its process KPIs (medians of the stage's
``kpis`` measures) and outcome KPI (share meeting its ``outcome`` rule), and how long
the accounts that left it in the window spent there (for onboarding: time to first
value)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from keepwell.health.config import Stage
from keepwell.health.portfolio import AccountHealth
from keepwell.health.segments import NO_STAGE
from keepwell.health.stage_time import Stint, median_or_none


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def stage_summary(
    assessed: Sequence[AccountHealth],
    stages: Sequence[Stage],
    stints: Iterable[Stint],
    since: date,
) -> list[dict[str, Any]]:
    """One row per configured stage (in order, then ``none`` when an account is in no
    stage). Days are whole days; shares 0-1 (None without accounts). ``finished`` and
    ``median_days_to_finish`` count the stays in the stage that ended on or after
    ``since`` (:func:`~keepwell.health.stage_time.finished_stints`)."""
    ended: dict[str, list[int]] = {}
    for stint in stints:
        if stint.left_on >= since:
            ended.setdefault(stint.stage, []).append(stint.days)
    names = [s.name for s in stages]
    config: dict[str, Stage | None] = {s.name: s for s in stages}
    if any(a.stage not in config for a in assessed):
        names.append(NO_STAGE)
    rows = []
    for name in names:
        stage = config.get(name)
        members = [a for a in assessed if a.stage == name]
        overdue = sum(1 for a in members if a.stage_overdue)
        outcome = [a.stage_outcome for a in members if a.stage_outcome is not None]
        kpis = stage.kpis if stage else ()
        rows.append({
            "stage": name,
            "accounts": len(members),
            "expected_days": stage.expected_days if stage else None,
            "median_days_in_stage": median_or_none(a.days_in_stage for a in members),
            "overdue": overdue,
            "on_track": len(members) - overdue,
            "on_track_share": _share(len(members) - overdue, len(members)),
            "outcome": stage.outcome.source if stage and stage.outcome else None,
            "outcome_met_share": _share(sum(outcome), len(outcome)) if outcome else None,
            "kpis": {k: median_or_none(a.values.get(k) for a in members) for k in kpis},
            "finished": len(ended.get(name, [])),
            "median_days_to_finish": median_or_none(ended.get(name, [])),
        })  # fmt: skip
    return rows
