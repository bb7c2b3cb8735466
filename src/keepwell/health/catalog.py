"""The measure catalog: every measure a workspace can compute, in a scorecard or not,
with what it is and where it is weighted (``keepwell health measures``)."""

from __future__ import annotations

from dataclasses import dataclass

from keepwell.health.config import HealthConfig
from keepwell.health.measures import MEASURES
from keepwell.health.usage import CustomMeasure

#: External measures the product itself records, and what they are.
KNOWN_EXTERNAL: dict[str, str] = {
    "plan_progress": "success-plan progress in percent (0-100): the mean of objective "
    "attainment and the share of milestones done, recorded by each cycle",
    "references_stopped": "1 a customer who gave references declined the latest request or "
    "gave none in reference_window_days days, 0 still giving (keepwell references signal)",
}
_EXTERNAL = "recorded by an integration; the latest value on or before the day counts"


@dataclass(frozen=True)
class MeasureEntry:
    name: str
    source: str  # built-in | custom | external
    category: str
    definition: str
    weighted_in: tuple[str, ...]  # "scorecard/group weight" for each scorecard using it


def _custom_definition(measure: CustomMeasure) -> str:
    if measure.description:
        return measure.description
    per_user = " per active user" if measure.per_active_user else ""
    events = ", ".join(measure.events)
    return f"{measure.aggregation.value} of events {events} in {measure.window_days} days{per_user}"


def measure_catalog(config: HealthConfig) -> list[MeasureEntry]:
    """Built-in, custom and external measures in that order, each with the scorecards
    (and groups and weights) that use it; an empty ``weighted_in`` means the measure is
    computed and usable in segments and rules but not scored."""
    used: dict[str, list[str]] = {}
    for card in config.scorecards.values():
        for group in card.groups:
            for rule in group.measures:
                used.setdefault(rule.measure, []).append(
                    f"{card.name}/{group.name} {rule.weight:g}"
                )
    entries = [
        MeasureEntry(name, "built-in", category, definition, tuple(used.get(name, ())))
        for name, (category, definition) in MEASURES.items()
    ]
    entries += [
        MeasureEntry(m.name, "custom", "usage", _custom_definition(m), tuple(used.get(m.name, ())))
        for m in config.measures.custom
    ]
    entries += [
        MeasureEntry(
            name,
            "external",
            "external",
            KNOWN_EXTERNAL.get(
                name, "recorded by an integration, latest value on or before the day"
            ),
            tuple(used.get(name, ())),
        )
        for name in config.measures.external
    ]
    return entries
