"""The health configuration of a workspace (``health.yaml``): read, validate, explain errors.

Every problem is reported as a :class:`~keepwell.core.errors.ConfigurationError` naming
the file, the line and what is wrong, using the YAML node marks. The default file ships
with the package (``default_health.yaml``) and is copied into a workspace on first use.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

import yaml

from keepwell.core.errors import ConfigurationError
from keepwell.core.expressions import Expression, parse_expression
from keepwell.core.yamlfile import Reader, compose
from keepwell.core.yamlfile import number as _number
from keepwell.core.yamlfile import text as _text
from keepwell.health.measures import CONTEXT_COLUMNS, MeasureConfig, measure_names
from keepwell.health.usage import Aggregation, CustomMeasure, UsageConfig

HEALTH_FILE = "health.yaml"
DEFAULT_SCORECARD = "default"
T = TypeVar("T")
D = TypeVar("D")


@dataclass(frozen=True)
class MeasureRule:
    """How one measure maps to 0–100 points inside a group.

    With thresholds: ``points = clamp(50 + 25 × (value − red) / (green − red), 0, 100)``,
    so the red threshold scores 50, the green one 75, and the direction follows from
    whether green is above or below red. With ``percentile``: the percentile (0–100) of
    the value among the accounts of the same segment (reversed when lower is better).
    """

    measure: str
    weight: float
    red: float | None = None
    green: float | None = None
    percentile: bool = False
    higher_is_better: bool = True


@dataclass(frozen=True)
class Group:
    name: str
    weight: float
    measures: tuple[MeasureRule, ...]
    any_red: bool = False


@dataclass(frozen=True)
class Scorecard:
    name: str
    groups: tuple[Group, ...]


@dataclass(frozen=True)
class Bands:
    """Score bands: red below ``red_below``, green above ``green_above``, yellow between."""

    red_below: float = 50.0
    green_above: float = 75.0


@dataclass(frozen=True)
class Segment:
    name: str
    rule: Expression
    scorecard: str


@dataclass(frozen=True)
class Stage:
    """A journey stage: accounts matching ``rule`` are in it; overdue when the days since
    the account entered it (from the stage history) pass ``expected_days``.

    ``elapsed`` estimates the days already spent in the stage for an account the history
    does not know yet (its first snapshot; e.g. ``tenure_days`` for onboarding, which
    begins with the account); without it, such an account enters the stage that day.
    ``kpis`` are the stage's process KPIs (measure names, reported as medians) and
    ``outcome`` its outcome KPI (a rule: the share of the stage's accounts meeting it).
    """

    name: str
    rule: Expression
    expected_days: int | None = None
    elapsed: Expression | None = None
    kpis: tuple[str, ...] = ()
    outcome: Expression | None = None


@dataclass(frozen=True)
class HealthConfig:
    source: str
    measures: MeasureConfig
    bands: Bands
    segments: tuple[Segment, ...]
    stages: tuple[Stage, ...]
    scorecards: dict[str, Scorecard]

    def scorecard_for(self, segment: str) -> Scorecard:
        for s in self.segments:
            if s.name == segment:
                return self.scorecards[s.scorecard]
        return self.scorecards[DEFAULT_SCORECARD]


def default_config_text() -> str:
    """The commented default ``health.yaml`` shipped with Keepwell."""
    return files("keepwell.health").joinpath("default_health.yaml").read_text(encoding="utf-8")


def ensure_config_file(root: Path) -> Path:
    """Write the default ``health.yaml`` into the workspace ``root`` unless one exists."""
    path = root / HEALTH_FILE
    if not path.exists():
        path.write_text(default_config_text(), encoding="utf-8")
    return path


def load_config(path: Path) -> HealthConfig:
    """Read and validate the health configuration at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from exc
    return parse_config(text, str(path))


def parse_config(text: str, source: str = HEALTH_FILE) -> HealthConfig:
    """Validate the YAML ``text``; ``source`` names it in error messages."""
    return _Reader(source).config(compose(text, source))


class _Reader(Reader):
    """Walks the health configuration's node tree, checking each piece."""

    def expression(self, node: yaml.Node, what: str, columns: Collection[str]) -> Expression:
        text = self.value(node, what, _text)
        return parse_expression(text, where=f"{self.at(node)} ({what})", columns=columns)

    def config(self, root: yaml.Node) -> HealthConfig:
        keys = self.mapping(
            root,
            "the health configuration",
            ["scorecards", "segments"],
            ["version", "bands", "measures", "stages"],
        )
        self.version(keys)
        measures = self.measure_config(keys.get("measures"))
        columns = [*measure_names(measures), *CONTEXT_COLUMNS]
        scorecards = self.scorecards(keys["scorecards"], measure_names(measures))
        return HealthConfig(
            source=self.source,
            measures=measures,
            bands=self.bands(keys.get("bands")),
            segments=self.segments(keys["segments"], columns, scorecards),
            stages=self.stages(keys.get("stages"), columns),
            scorecards=scorecards,
        )

    def measure_config(self, node: yaml.Node | None) -> MeasureConfig:
        if node is None:
            return MeasureConfig()
        keys = self.mapping(
            node, "measures", [], ["key_features", "login_event", "custom", "external"]
        )
        features = (
            tuple(
                self.value(n, "a key feature", _text)
                for n in self.sequence(keys["key_features"], "key_features")
            )
            if "key_features" in keys
            else ()
        )
        login = self.opt(keys, "login_event", _text, "login")
        custom: list[CustomMeasure] = []
        for item in self.sequence(keys["custom"], "custom") if "custom" in keys else []:
            measure = self.custom_measure(item)
            if measure.name in MEASURE_NAMES_BUILTIN or measure.name in {m.name for m in custom}:
                raise self.fail(item, f"custom measure {measure.name!r} is already defined")
            custom.append(measure)
        taken = {*MEASURE_NAMES_BUILTIN, *(m.name for m in custom)}
        external = self.external(keys.get("external"), taken)
        return MeasureConfig(UsageConfig(features, login), tuple(custom), external)

    def external(self, node: yaml.Node | None, taken: set[str]) -> tuple[str, ...]:
        """Names of the external measures (values pushed by ``service.record_measure``)."""
        names: list[str] = []
        for item in self.sequence(node, "external") if node is not None else []:
            name = self.value(item, "an external measure name", _identifier)
            if name in taken or name in names:
                raise self.fail(item, f"external measure {name!r} is already defined")
            names.append(name)
        return tuple(names)

    def custom_measure(self, node: yaml.Node) -> CustomMeasure:
        keys = self.mapping(
            node,
            "a custom measure",
            ["name", "events"],
            ["window_days", "aggregation", "per_active_user", "description"],
        )
        events = tuple(
            self.value(n, "an event", _text) for n in self.sequence(keys["events"], "events")
        )
        if not events:
            raise self.fail(keys["events"], "events must name at least one event")
        return CustomMeasure(
            name=self.value(keys["name"], "name", _identifier),
            events=events,
            window_days=self.opt(keys, "window_days", _days, 30),
            aggregation=self.opt(keys, "aggregation", _aggregation, Aggregation.COUNT),
            per_active_user=self.opt(keys, "per_active_user", _bool, False),
            description=self.opt(keys, "description", _text, ""),
        )

    def bands(self, node: yaml.Node | None) -> Bands:
        if node is None:
            return Bands()
        keys = self.mapping(node, "bands", [], ["red_below", "green_above"])
        red = self.opt(keys, "red_below", _score, 50.0)
        green = self.opt(keys, "green_above", _score, 75.0)
        if red > green:
            raise self.fail(node, f"red_below ({red}) must not be above green_above ({green})")
        return Bands(red, green)

    def scorecards(self, node: yaml.Node, measures: list[str]) -> dict[str, Scorecard]:
        if not isinstance(node, yaml.MappingNode) or not node.value:
            raise self.fail(node, "scorecards must map scorecard names to their groups")
        result: dict[str, Scorecard] = {}
        for key_node, value_node in node.value:
            name = self.value(key_node, "a scorecard name", _text)
            keys = self.mapping(value_node, f"scorecard {name!r}", ["groups"], ["description"])
            groups = tuple(self.group(g, measures) for g in self.sequence(keys["groups"], "groups"))
            if not groups:
                raise self.fail(keys["groups"], f"scorecard {name!r} has no groups")
            result[name] = Scorecard(name, groups)
        if DEFAULT_SCORECARD not in result:
            raise self.fail(node, f"a scorecard named {DEFAULT_SCORECARD!r} is required")
        return result

    def group(self, node: yaml.Node, measures: list[str]) -> Group:
        keys = self.mapping(node, "a group", ["name", "measures"], ["weight", "any_red"])
        name = self.value(keys["name"], "group name", _text)
        rules = tuple(self.rule(n, measures) for n in self.sequence(keys["measures"], "measures"))
        if not rules:
            raise self.fail(keys["measures"], f"group {name!r} has no measures")
        return Group(
            name=name,
            weight=self.opt(keys, "weight", _weight, 1.0),
            measures=rules,
            any_red=self.opt(keys, "any_red", _bool, False),
        )

    def rule(self, node: yaml.Node, measures: list[str]) -> MeasureRule:
        keys = self.mapping(
            node,
            "a measure",
            ["measure"],
            ["weight", "red", "green", "percentile", "higher_is_better"],
        )
        measure = self.value(keys["measure"], "measure", _text)
        if measure not in measures:
            raise self.fail(
                keys["measure"],
                f"unknown measure {measure!r}",
                hint=f"known: {', '.join(measures)}",
            )
        weight = self.opt(keys, "weight", _weight, 1.0)
        percentile = self.opt(keys, "percentile", _bool, False)
        if percentile:
            if "red" in keys or "green" in keys:
                raise self.fail(node, f"{measure}: give either percentile or red/green, not both")
            higher = self.opt(keys, "higher_is_better", _bool, True)
            return MeasureRule(measure, weight, percentile=True, higher_is_better=higher)
        if "red" not in keys or "green" not in keys:
            raise self.fail(node, f"{measure}: give red and green thresholds, or percentile: true")
        if "higher_is_better" in keys:
            raise self.fail(
                keys["higher_is_better"],
                "with thresholds, the direction follows from red and green",
            )
        red = self.value(keys["red"], "red", _number)
        green = self.value(keys["green"], "green", _number)
        if red == green:
            raise self.fail(node, f"{measure}: red and green thresholds must differ (both {red})")
        return MeasureRule(measure, weight, red=red, green=green, higher_is_better=green > red)

    def segments(
        self, node: yaml.Node, columns: list[str], scorecards: dict[str, Scorecard]
    ) -> tuple[Segment, ...]:
        result: list[Segment] = []
        for item in self.sequence(node, "segments"):
            keys = self.mapping(item, "a segment", ["name", "rule"], ["scorecard"])
            name = self.value(keys["name"], "segment name", _text)
            fallback = name if name in scorecards else DEFAULT_SCORECARD
            card = self.opt(keys, "scorecard", _text, fallback)
            if card not in scorecards:
                raise self.fail(keys["scorecard"], f"no scorecard named {card!r}")
            rule = self.expression(keys["rule"], f"rule of segment {name!r}", columns)
            result.append(Segment(name, rule, card))
        if not result:
            raise self.fail(node, "at least one segment is required")
        return tuple(result)

    def stages(self, node: yaml.Node | None, columns: list[str]) -> tuple[Stage, ...]:
        result: list[Stage] = []
        for item in self.sequence(node, "stages") if node is not None else []:
            keys = self.mapping(
                item, "a stage", ["name", "rule"], ["expected_days", "elapsed", "kpis", "outcome"]
            )
            name = self.value(keys["name"], "stage name", _text)
            expected = self.opt(keys, "expected_days", _days, None)
            elapsed = self.optional_expression(
                keys, "elapsed", f"elapsed of stage {name!r}", columns
            )
            outcome = self.optional_expression(
                keys, "outcome", f"outcome of stage {name!r}", columns
            )
            rule = self.expression(keys["rule"], f"rule of stage {name!r}", columns)
            kpis = self.kpis(keys["kpis"], name, columns) if "kpis" in keys else ()
            result.append(Stage(name, rule, expected, elapsed, kpis, outcome))
        names = [s.name for s in result]
        if node is not None and len(set(names)) != len(names):
            raise self.fail(node, f"stage names must be unique, got {', '.join(names)}")
        return tuple(result)

    def optional_expression(
        self, keys: dict[str, yaml.Node], key: str, what: str, columns: list[str]
    ) -> Expression | None:
        return self.expression(keys[key], what, columns) if key in keys else None

    def kpis(self, node: yaml.Node, stage: str, columns: list[str]) -> tuple[str, ...]:
        result = []
        for item in self.sequence(node, f"kpis of stage {stage!r}"):
            measure = self.value(item, "a KPI", _text)
            if measure not in columns:
                raise self.fail(
                    item, f"stage {stage!r}: unknown KPI measure {measure!r}",
                    hint=f"known: {', '.join(columns)}",
                )  # fmt: skip
            result.append(measure)
        return tuple(result)


MEASURE_NAMES_BUILTIN = frozenset(measure_names(MeasureConfig()))


def _identifier(raw: Any) -> str:
    text = _text(raw)
    if not text.isidentifier() or text.lower() != text:
        raise ValueError(f"{text!r} must be a lower-case name of letters, digits and _")
    return text


def _aggregation(raw: Any) -> Aggregation:
    try:
        return Aggregation(raw)
    except ValueError:
        known = ", ".join(a.value for a in Aggregation)
        raise ValueError(f"expected one of {known}, got {raw!r}") from None


def _weight(raw: Any) -> float:
    value = _number(raw)
    if value <= 0:
        raise ValueError(f"a weight must be positive, got {raw!r}")
    return value


def _score(raw: Any) -> float:
    value = _number(raw)
    if not 0 <= value <= 100:
        raise ValueError(f"expected a score between 0 and 100, got {raw!r}")
    return value


def _days(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
        raise ValueError(f"expected a positive whole number of days, got {raw!r}")
    return raw


def _bool(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise ValueError(f"expected true or false, got {raw!r}")
    return raw
