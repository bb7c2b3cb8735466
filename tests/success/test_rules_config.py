"""Rules and playbooks files: the defaults load cleanly; a bad rule or playbook is
reported with file, line and reason while the valid ones stay usable."""

from __future__ import annotations

from datetime import date

import pytest

from keepwell.success.matching import evaluate_rules
from keepwell.success.plan_templates import (
    attainment,
    default_plans_text,
    parse_plan_templates,
    progress,
)
from keepwell.success.playbooks import default_playbooks_text, parse_playbooks
from keepwell.success.rules import campaign_name, default_rules_text, parse_rules, render_reason

PLAYBOOKS = """\
version: 1
playbooks:
  good:
    tasks:
      - {title: Call them, due_days: 2}
      - {title: Escalate, due_days: 10, owner_role: manager}
  broken:
    tasks:
      - {title: No due date}
"""

RULES = """\
version: 1
rules:
  - name: low-usage
    when: active_users_30d < 3
    cta: {type: risk, title: Low usage, playbook: good, reason: "only {active_users_30d} users"}
  - name: sneaky
    when: upper(name) = 'X'
    cta: {type: risk, title: Bad function}
  - name: uses-broken-playbook
    when: arr > 0
    cta: {type: risk, title: Whatever, playbook: broken}
  - name: wrong-type
    when: arr > 0
    cta: {type: disaster, title: Nope}
  - name: unknown-column
    when: no_such_measure > 1
    cta: {type: risk, title: Typo}
  - name: big
    when: arr >= 100000
    segments: [high-touch]
    cta: {type: opportunity, priority: low, title: Big one}
"""


def test_default_files_have_no_problems() -> None:
    playbooks = parse_playbooks(default_playbooks_text(), "playbooks.yaml")
    assert playbooks.problems == ()
    rules = parse_rules(default_rules_text(), playbooks, "rules.yaml")
    assert rules.problems == ()
    assert len(rules.rules) >= 10
    assert {r.cta.type.value for r in rules.rules if r.cta} == {
        "risk", "opportunity", "lifecycle", "renewal"
    }  # fmt: skip
    templates = parse_plan_templates(default_plans_text())
    assert set(templates) == {"high-touch", "mid-touch", "tech-touch"}


def test_bad_playbook_reported_with_file_and_line_others_kept() -> None:
    playbooks = parse_playbooks(PLAYBOOKS, "/ws/playbooks.yaml")
    assert list(playbooks.playbooks) == ["good"]
    assert playbooks.playbooks["good"].tasks[1].owner_role == "manager"
    assert playbooks.playbooks["good"].due_on(date(2026, 1, 1)) == date(2026, 1, 11)
    (problem,) = playbooks.problems
    assert problem.startswith("/ws/playbooks.yaml line 9: a task needs 'due_days'")


def test_bad_rules_reported_with_file_line_reason_valid_rules_still_run() -> None:
    playbooks = parse_playbooks(PLAYBOOKS, "playbooks.yaml")
    rules = parse_rules(RULES, playbooks, "/ws/rules.yaml")
    assert [r.name for r in rules.rules] == ["low-usage", "unknown-column", "big"]
    problems = "\n".join(rules.problems)
    assert "/ws/rules.yaml line 7 (rule sneaky): the function upper() is not allowed" in problems
    assert "/ws/rules.yaml line 11: rule 'uses-broken-playbook': playbook 'broken'" in problems
    assert "/ws/rules.yaml line 14: type: expected one of risk" in problems
    assert len(rules.problems) == 3

    rows = [
        {"account_id": "A", "active_users_30d": 1, "arr": 120000.0, "segment": "high-touch"},
        {"account_id": "B", "active_users_30d": 9, "arr": 50000.0, "segment": "mid-touch"},
        {"account_id": "C", "active_users_30d": None, "arr": 150000.0, "segment": "mid-touch"},
    ]
    matches, runtime = evaluate_rules(rules.rules, rows)
    assert [(m.rule.name, m.account_id) for m in matches] == [("low-usage", "A"), ("big", "A")]
    (problem,) = runtime  # the unknown column is found on the data, the others still ran
    assert problem.startswith("/ws/rules.yaml line 16 (rule unknown-column): unknown column")
    assert render_reason(matches[0].rule, matches[0].values) == (
        "only 1 users [active_users_30d=1]"
    )


def test_invalid_yaml_and_wrong_structure_reject_the_file() -> None:
    playbooks = parse_playbooks(PLAYBOOKS, "playbooks.yaml")
    broken = parse_rules("rules: [\n  - name: x\n", playbooks, "r.yaml")
    assert broken.rules == ()
    assert broken.problems[0].startswith("r.yaml line 2: not valid YAML")
    wrong = parse_rules("version: 2\nrules: []\n", playbooks, "r.yaml")
    assert wrong.problems == ("r.yaml line 1: version: only version 1 is known, got 2",)


def test_plan_progress_formula() -> None:
    assert attainment(0, 80, 40) == pytest.approx(0.5)
    assert attainment(10, 0, 5) == pytest.approx(0.5)  # lower is better
    assert attainment(0, 80, 120) == 1.0
    assert attainment(0, 80, None) == 0.0
    assert progress([0.5, 1.0], 1, 4) == pytest.approx(100 * (0.75 + 0.25) / 2)
    assert progress([], 2, 2) == 100.0
    assert progress([], 0, 0) is None


def test_tech_touch_campaign_periods() -> None:
    playbooks = parse_playbooks(PLAYBOOKS, "playbooks.yaml")
    text = """\
rules:
  - name: nudge
    when: arr > 0
    tech_touch: {role: admin, template: adoption_tip, campaign: "tip-{quarter}"}
  - name: bad
    when: arr > 0
    tech_touch: {role: admin, template: adoption_tip, campaign: "tip-{name}"}
"""
    rules = parse_rules(text, playbooks, "r.yaml")
    (nudge,) = rules.rules
    assert nudge.tech_touch is not None
    assert campaign_name(nudge.tech_touch, date(2026, 10, 31)) == "tip-2026q4"
    assert rules.problems[0].startswith("r.yaml line 7: campaign 'tip-{name}': only {year}")


def test_a_reason_says_there_was_no_previous_snapshot() -> None:
    """The default red-health rule on an account's first snapshot said "band at the
    previous snapshot: n/a"; it now says there was none."""
    playbooks = parse_playbooks(default_playbooks_text(), "playbooks.yaml")
    rules = parse_rules(default_rules_text(), playbooks, "rules.yaml")
    red = next(r for r in rules.rules if r.name == "health-turned-red")
    text = render_reason(red, {"score": 31.0, "band": "red", "previous_band": None})
    assert "n/a" not in text
    assert "band at the previous snapshot: none (no earlier snapshot)" in text
