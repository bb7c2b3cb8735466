"""Segments and journey stages of each account: the configured rules, compiled to Ibis.

Rules are expressions of the rule language (:mod:`keepwell.core.expressions`) over the
measure table; the first rule an account matches decides (a null result does not
match). An account matching no segment rule falls in ``unassigned``; no stage rule, in
``none``. An account whose custom attribute ``segment_override`` names a configured
segment (set on Account 360 by a manager, or imported) is in that segment whatever the
rules say. A stage with ``expected_days`` flags accounts whose ``elapsed`` days passed it.
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
    timed = [(s.name, s.elapsed, s.expected_days) for s in stages if s.elapsed is not None]
    elapsed_cases = [
        (with_stage.stage == name, elapsed.to_ibis(with_stage).cast("float64"))
        for name, elapsed, _ in timed
    ]
    overdue_cases = [
        (with_stage.stage == name, elapsed.to_ibis(with_stage) > (expected or 0))
        for name, elapsed, expected in timed
    ]
    if not timed:
        return with_stage.mutate(
            days_in_stage=ibis.null("float64"), stage_overdue=ibis.literal(False)
        )
    return with_stage.mutate(
        days_in_stage=ibis.cases(*elapsed_cases, else_=ibis.null("float64")),
        stage_overdue=ibis.cases(*overdue_cases, else_=ibis.literal(False)).fill_null(False),
    )
