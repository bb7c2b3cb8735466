"""Joint success plans: templates per segment (``plans.yaml``) and the progress formula.

Pure: no store is touched. A plan states the customer's own measures of success
(objectives: metric, baseline, target, due date) and who does what by when
(milestones: our side or the customer's).

Progress (0–100) = 100 × the mean of the parts a plan has:
  objectives: mean over objectives of clamp((current − baseline) / (target − baseline), 0, 1)
              (an objective without a current value counts 0);
  milestones: share of milestones done.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from importlib.resources import files

import yaml

from keepwell.core.errors import ConfigurationError
from keepwell.core.yamlfile import Reader, choice, compose, days, number, text

PLANS_FILE = "plans.yaml"


class Side(StrEnum):
    US = "us"
    CUSTOMER = "customer"


class MilestoneStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class ObjectiveTemplate:
    metric: str
    unit: str | None
    baseline: float
    target: float
    due_days: int


@dataclass(frozen=True)
class MilestoneTemplate:
    title: str
    side: Side
    owner: str  # csm, a contact role (sponsor, champion, admin…) or an address
    due_days: int


@dataclass(frozen=True)
class PlanTemplate:
    name: str
    title: str
    segments: tuple[str, ...]
    objectives: tuple[ObjectiveTemplate, ...]
    milestones: tuple[MilestoneTemplate, ...]


def default_plans_text() -> str:
    """The commented default ``plans.yaml`` shipped with Keepwell."""
    return files("keepwell.success").joinpath("default_plans.yaml").read_text("utf-8")


def parse_plan_templates(text_: str, source: str = PLANS_FILE) -> dict[str, PlanTemplate]:
    """Validate the YAML ``text_``; :class:`ConfigurationError` (file, line) if wrong."""
    reader = Reader(source)
    keys = reader.mapping(compose(text_, source), "the plans file", ["templates"], ["version"])
    reader.version(keys)
    return {
        name: _template(reader, name, node)
        for name, _k, node in reader.named(keys["templates"], "templates")
    }


def _template(reader: Reader, name: str, node: yaml.Node) -> PlanTemplate:
    keys = reader.mapping(
        node, f"template {name!r}", ["title"], ["segments", "objectives", "milestones"]
    )
    objectives = []
    for item in reader.sequence(keys["objectives"], "objectives") if "objectives" in keys else []:
        o = reader.mapping(item, "an objective", ["metric", "target", "due_days"],
                           ["unit", "baseline"])  # fmt: skip
        objective = ObjectiveTemplate(
            metric=reader.value(o["metric"], "metric", text),
            unit=reader.opt(o, "unit", text, None),
            baseline=reader.opt(o, "baseline", number, 0.0),
            target=reader.value(o["target"], "target", number),
            due_days=reader.value(o["due_days"], "due_days", days),
        )
        if objective.target == objective.baseline:
            raise reader.fail(item, f"objective {objective.metric!r}: target equals baseline")
        objectives.append(objective)
    milestones = []
    for item in reader.sequence(keys["milestones"], "milestones") if "milestones" in keys else []:
        m = reader.mapping(item, "a milestone", ["title", "side", "due_days"], ["owner"])
        milestones.append(
            MilestoneTemplate(
                title=reader.value(m["title"], "title", text),
                side=Side(reader.value(m["side"], "side", choice(list(Side)))),
                owner=reader.opt(m, "owner", text, "csm"),
                due_days=reader.value(m["due_days"], "due_days", days),
            )
        )
    if not objectives and not milestones:
        raise reader.fail(node, f"template {name!r} has neither objectives nor milestones")
    segments = reader.texts(keys["segments"], "a segment") if "segments" in keys else ()
    return PlanTemplate(
        name, reader.value(keys["title"], "title", text), segments,
        tuple(objectives), tuple(milestones),
    )  # fmt: skip


def template_for_segment(templates: dict[str, PlanTemplate], segment: str | None) -> str:
    """The template for ``segment``: the first naming it, else one named like it."""
    for template in templates.values():
        if segment is not None and segment in template.segments:
            return template.name
    if segment in templates:
        return str(segment)
    raise ConfigurationError(
        f"no plan template for segment {segment!r}", hint=f"known: {', '.join(templates)}"
    )


def attainment(baseline: float, target: float, current: float | None) -> float:
    """clamp((current − baseline) / (target − baseline), 0, 1); 0 without a current value."""
    if current is None or target == baseline:
        return 0.0
    return min(1.0, max(0.0, (current - baseline) / (target - baseline)))


def progress(attainments: list[float], milestones_done: int, milestones: int) -> float | None:
    """Plan progress in percent (see the module docstring); None for an empty plan."""
    parts = []
    if attainments:
        parts.append(sum(attainments) / len(attainments))
    if milestones:
        parts.append(milestones_done / milestones)
    return 100.0 * sum(parts) / len(parts) if parts else None
