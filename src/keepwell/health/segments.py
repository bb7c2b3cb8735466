"""Segments and journey stages of each account: the configured rules, compiled to Ibis.

Rules are expressions of the rule language (:mod:`keepwell.core.expressions`) over the
measure table; the first rule an account matches decides (a null result does not
match). An account matching no segment rule falls in ``unassigned``; no stage rule, in
``none``. ``days_in_stage`` here is the stage's ``elapsed`` estimate (null without one)
and ``stage_overdue`` compares it with ``expected_days``: what a day without stage
history can know (the back-test, the churn model's training days). The health service
replaces both with the days since the account entered the stage, from the stored stage
history (:mod:`keepwell.health.stage_time`). ``stage_outcome`` is the stage's outcome KPI
(null when the stage has none).
An account whose custom attribute ``segment_override`` names a configured segment (set
on Account 360 by a manager, or imported) is in that segment whatever the rules say.
"""

from __future__ import annotations

from typing import Any

import ibis

from keepwell.health.config import Segment, Stage

UNASSIGNED = "unassigned"
NO_STAGE = "none"
#: The account attribute that sets its segment by hand.
OVERRIDE = "segment_override"


def _first_match(table: ibis.Table, rules: list[tuple[Any, str]], default: str) -> ibis.Value:
    if not rules:
        return ibis.literal(default)
    cases = [(condition.fill_null(False), ibis.literal(name)) for condition, name in rules]
    return ibis.cases(*cases, else_=ibis.literal(default))


def assign_segments_and_stages(
    measures: ibis.Table, segments: tuple[Segment, ...], stages: tuple[Stage, ...]
) -> ibis.Table:
    """``measures`` with ``segment``, ``stage``, ``days_in_stage`` and ``stage_overdue``."""
    segment = _first_match(
        measures, [(s.rule.to_ibis(measures), s.name) for s in segments], UNASSIGNED
    )
    if OVERRIDE in measures.columns and segments:
        chosen = measures[OVERRIDE].cast("string")
        segment = chosen.isin([s.name for s in segments]).fill_null(False).ifelse(chosen, segment)
    stage = _first_match(measures, [(s.rule.to_ibis(measures), s.name) for s in stages], NO_STAGE)
    with_stage = measures.mutate(segment=segment, stage=stage)
    outcomes = [
        (with_stage.stage == s.name, s.outcome.to_ibis(with_stage).cast("boolean"))
        for s in stages
        if s.outcome is not None
    ]
    outcome = (
        ibis.cases(*outcomes, else_=ibis.null("boolean")) if outcomes else ibis.null("boolean")
    )
    with_stage = with_stage.mutate(stage_outcome=outcome)
    timed = [(s.name, s.elapsed, s.expected_days) for s in stages if s.elapsed is not None]
    elapsed_cases = [
        (with_stage.stage == name, elapsed.to_ibis(with_stage).cast("float64"))
        for name, elapsed, _ in timed
    ]
    overdue_cases = [
        (with_stage.stage == name, elapsed.to_ibis(with_stage) > expected)
        for name, elapsed, expected in timed
        if expected is not None
    ]
    if not timed:
        return with_stage.mutate(
            days_in_stage=ibis.null("float64"), stage_overdue=ibis.literal(False)
        )
    overdue = (
        ibis.cases(*overdue_cases, else_=ibis.literal(False)).fill_null(False)
        if overdue_cases
        else ibis.literal(False)
    )
    return with_stage.mutate(
        days_in_stage=ibis.cases(*elapsed_cases, else_=ibis.null("float64")),
        stage_overdue=overdue,
    )
