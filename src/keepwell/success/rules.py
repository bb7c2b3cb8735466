"""Rules (``rules.yaml``): conditions over each account's health row that open CTAs,
notify and send tech-touch email.

A rule's ``when`` is written in Keepwell's rule language (:mod:`keepwell.core.expressions`)
over one row per customer: every health measure, ``score``, ``band``,
``previous_band``, ``previous_score``, ``segment``, ``stage``, ``stage_overdue``, the
account's columns, and the success columns of :data:`SUCCESS_COLUMNS`. A rule that is
wrong (in the file, or failing on the data) is reported with file, line and reason;
the valid rules still run.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from importlib.resources import files
from typing import Any

import yaml

from keepwell.core.errors import ConfigurationError
from keepwell.core.expressions import Expression, parse_expression
from keepwell.core.yamlfile import Reader, choice, compose, days, identifier, text
from keepwell.success.playbooks import Playbooks

RULES_FILE = "rules.yaml"
#: Columns the success slice adds to the health row (besides score, band and stage).
SUCCESS_COLUMNS = {
    "previous_band": "the band of the previous snapshot (null on the first)",
    "previous_score": "the score of the previous snapshot",
    "score_change": "score - previous score (points)",
    "open_ctas": "CTAs of the account open, in progress or snoozed",
    "open_renewal_ctas": "renewal CTAs of the account open, in progress or snoozed",
    "detractors_90d": "NPS responses 0-6 in the last 90 days",
    "latest_nps": "the latest NPS response (0-10) in the last 90 days",
    "days_since_detractor": "days since the latest NPS response 0-6 (in 90 days)",
    "latest_detractor_score": "the score (0-6) of that response",
    "plan_progress": "progress of the active success plan (0-100), null without one",
    "references_stopped": "1 a customer who gave references declined the latest request or "
    "gave none in reference_window_days days (workspace setting, 365), 0 still giving, null "
    "never gave",
    "churn_probability": "the churn model's probability (0-1) as of the day, null without a "
    "trained model (keepwell risk train)",
    "arr_at_risk": "churn probability x ARR (base currency a year), null without a model",
    "churn_driver": "what raises the churn probability most, in words (e.g. 'no sponsor')",
}


class CtaType(StrEnum):
    RISK = "risk"
    OPPORTUNITY = "opportunity"
    LIFECYCLE = "lifecycle"
    RENEWAL = "renewal"


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class Assign(StrEnum):
    OWNER = "owner"  # the account owner, else the segment's pool
    POOL = "pool"  # the segment's pool, else the account owner


class Channel(StrEnum):
    EMAIL = "email"
    SLACK = "slack"
    WEBHOOK = "webhook"


@dataclass(frozen=True)
class CtaAction:
    type: CtaType
    priority: Priority
    title: str
    reason: str | None
    playbook: str | None
    assign: Assign
    due_days: int | None
    due_in: str | None = None  # a column holding the days until the CTA is due


@dataclass(frozen=True)
class TechTouch:
    role: str
    template: str
    campaign: str


@dataclass(frozen=True)
class Rule:
    """One trigger: the condition, where it applies, and what it does."""

    name: str
    where: str
    when: Expression
    key: str
    segments: tuple[str, ...] = ()
    cta: CtaAction | None = None
    notify: tuple[Channel, ...] = ()
    tech_touch: TechTouch | None = None
    cooldown_days: int = 30


@dataclass(frozen=True)
class Assignment:
    """Who gets CTAs: pools by segment, and addresses of task owner roles."""

    pools: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSet:
    """The valid rules of a file and one problem (file, line, reason) per bad piece."""

    source: str
    rules: tuple[Rule, ...]
    assignment: Assignment
    problems: tuple[str, ...] = ()


def default_rules_text() -> str:
    """The commented default ``rules.yaml`` shipped with Keepwell."""
    return files("keepwell.success").joinpath("default_rules.yaml").read_text("utf-8")


def parse_rules(text_: str, playbooks: Playbooks, source: str = RULES_FILE) -> RuleSet:
    """Validate the YAML ``text_``; a rule naming a playbook not in ``playbooks`` is bad."""
    try:
        root = compose(text_, source)
        reader = Reader(source)
        keys = reader.mapping(root, "the rules file", ["rules"], ["version", "assignment"])
        reader.version(keys)
        assignment = _assignment(reader, keys.get("assignment"))
        items = reader.sequence(keys["rules"], "rules")
    except ConfigurationError as exc:
        return RuleSet(source, (), Assignment(), (str(exc),))
    found: list[Rule] = []
    problems: list[str] = []
    for node in items:
        try:
            rule = _rule(reader, node, playbooks)
            if any(r.name == rule.name for r in found):
                raise reader.fail(node, f"a rule named {rule.name!r} is already defined")
            found.append(rule)
        except ConfigurationError as exc:
            problems.append(str(exc))
    return RuleSet(source, tuple(found), assignment, tuple(problems))


def _assignment(reader: Reader, node: yaml.Node | None) -> Assignment:
    if node is None:
        return Assignment()
    keys = reader.mapping(node, "assignment", [], ["pools", "roles"])
    maps: dict[str, dict[str, str]] = {"pools": {}, "roles": {}}
    for part in maps:
        for name, _k, value in reader.named(keys[part], part) if part in keys else []:
            maps[part][name] = reader.value(value, f"the address of {name!r}", text)
    return Assignment(maps["pools"], maps["roles"])


_RULE_KEYS = ["key", "segments", "cta", "notify", "tech_touch", "cooldown_days", "description"]


def _rule(reader: Reader, node: yaml.Node, playbooks: Playbooks) -> Rule:
    keys = reader.mapping(node, "a rule", ["name", "when"], _RULE_KEYS)
    name = reader.value(keys["name"], "rule name", identifier)
    condition = parse_expression(
        reader.value(keys["when"], "when", text), where=f"{reader.at(keys['when'])} (rule {name})"
    )
    cta = _cta(reader, keys["cta"], playbooks, name) if "cta" in keys else None
    notify = tuple(
        Channel(reader.value(n, "a channel", choice(list(Channel))))
        for n in (reader.sequence(keys["notify"], "notify") if "notify" in keys else [])
    )
    if notify and cta is None:
        raise reader.fail(keys["notify"], f"rule {name!r}: notify needs a cta to tell about")
    tech = _tech_touch(reader, keys["tech_touch"]) if "tech_touch" in keys else None
    if cta is None and tech is None:
        raise reader.fail(node, f"rule {name!r} does nothing: give a cta or a tech_touch")
    return Rule(
        name=name,
        where=reader.at(node),
        when=condition,
        key=reader.opt(keys, "key", identifier, name),
        segments=reader.texts(keys["segments"], "a segment") if "segments" in keys else (),
        cta=cta,
        notify=notify,
        tech_touch=tech,
        cooldown_days=reader.opt(keys, "cooldown_days", days, 30),
    )


def _cta(reader: Reader, node: yaml.Node, playbooks: Playbooks, rule: str) -> CtaAction:
    keys = reader.mapping(
        node,
        "a cta",
        ["type", "title"],
        ["priority", "reason", "playbook", "assign", "due_days", "due_in"],
    )
    playbook = reader.opt(keys, "playbook", identifier, None)
    if playbook is not None and playbook not in playbooks.playbooks:
        raise reader.fail(
            keys["playbook"],
            f"rule {rule!r}: playbook {playbook!r} is not defined (or not valid) in "
            f"{playbooks.source}",
            hint=f"known: {', '.join(playbooks.playbooks) or 'none'}",
        )
    reason = reader.opt(keys, "reason", text, None)
    if reason is not None:
        _check_template(reader, keys["reason"], reason)
    return CtaAction(
        type=CtaType(reader.value(keys["type"], "type", choice(list(CtaType)))),
        priority=Priority(reader.opt(keys, "priority", choice(list(Priority)), "medium")),
        title=reader.value(keys["title"], "title", text),
        reason=reason,
        playbook=playbook,
        assign=Assign(reader.opt(keys, "assign", choice(list(Assign)), "owner")),
        due_days=reader.opt(keys, "due_days", days, None),
        due_in=reader.opt(keys, "due_in", _column, None),
    )


def _column(raw: Any) -> str:
    value = text(raw)
    if not value.isidentifier():
        raise ValueError(f"{value!r} is not a column name")
    return value


#: Placeholders a tech-touch campaign name may hold, so that a contact can get the
#: same campaign again in another period (notify sends each campaign once per contact).
CAMPAIGN_FIELDS = ("year", "quarter", "month")


def _tech_touch(reader: Reader, node: yaml.Node) -> TechTouch:
    keys = reader.mapping(node, "tech_touch", ["role", "template", "campaign"], [])
    campaign = reader.value(keys["campaign"], "campaign", text)
    try:
        names = {name for _l, name, _s, _c in string.Formatter().parse(campaign) if name}
    except ValueError as exc:
        raise reader.fail(keys["campaign"], f"campaign: {exc}") from exc
    if not names <= set(CAMPAIGN_FIELDS):
        raise reader.fail(
            keys["campaign"],
            f"campaign {campaign!r}: only {{year}}, {{quarter}} and {{month}} can be filled in",
        )
    return TechTouch(
        role=reader.value(keys["role"], "role", identifier),
        template=reader.value(keys["template"], "template", text),
        campaign=campaign,
    )


def campaign_name(tech: TechTouch, as_of: date) -> str:
    """The campaign with its period filled in, e.g. ``renewal-{year}`` → ``renewal-2026``;
    quarter is ``2026q4``, month ``2026-10``."""
    return tech.campaign.format(
        year=f"{as_of:%Y}", quarter=f"{as_of:%Y}q{(as_of.month - 1) // 3 + 1}",
        month=f"{as_of:%Y-%m}",
    )  # fmt: skip


def _check_template(reader: Reader, node: yaml.Node, template: str) -> None:
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise reader.fail(node, f"reason: {exc}") from exc
    for _literal, name, spec, conversion in fields:
        if name is None:
            continue
        if not name.isidentifier() or conversion:
            raise reader.fail(node, f"reason: {{{name}}} must be a plain column name")
        if spec:
            try:
                format(0.5, spec)
            except ValueError as exc:
                raise reader.fail(node, f"reason: bad format {spec!r} for {name}: {exc}") from exc


def template_columns(template: str) -> list[str]:
    """The column names a reason template refers to."""
    return [name for _l, name, _s, _c in string.Formatter().parse(template) if name]


def render_reason(rule: Rule, values: dict[str, Any]) -> str:
    """The CTA's reason: the rule's template filled with the row's values (``n/a`` for
    missing ones), followed by the values of the columns the condition read."""
    assert rule.cta is not None
    triggered = "; ".join(
        f"{c}={_show(values.get(c), '', MISSING.get(c, 'n/a'))}" for c in sorted(rule.when.columns)
    )
    if rule.cta.reason is None:
        return f"{rule.cta.title} ({triggered})"
    parts = []
    for literal, name, spec, _conv in string.Formatter().parse(rule.cta.reason):
        parts.append(literal)
        if name:
            parts.append(_show(values.get(name), spec or "", MISSING.get(name, "n/a")))
    return f"{''.join(parts)} [{triggered}]"


#: What a reason says for a missing value of these columns (others: ``n/a``): on an
#: account's first snapshot there is no previous one, which "n/a" did not say.
MISSING = {
    "previous_band": "none (no earlier snapshot)",
    "previous_score": "none (no earlier snapshot)",
}


def _show(value: Any, spec: str, missing: str = "n/a") -> str:
    if value is None:
        return missing
    if isinstance(value, float) and not spec:
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return str(value)
