"""The health configuration: the default parses; mistakes are reported with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from keepwell.core.errors import ConfigurationError
from keepwell.health.config import (
    default_config_text,
    ensure_config_file,
    load_config,
    parse_config,
)

MINIMAL = """\
segments:
  - name: all
    rule: arr >= 0
scorecards:
  default:
    groups:
      - name: usage
        measures:
          - {measure: active_users_30d, red: 2, green: 10}
"""


def test_default_configuration_is_valid() -> None:
    config = parse_config(default_config_text(), "default_health.yaml")
    assert [s.name for s in config.segments] == ["high-touch", "mid-touch", "tech-touch"]
    assert config.bands.red_below == 50
    assert config.bands.green_above == 75
    assert "reports_per_active_user_30d" in {m.name for m in config.measures.custom}
    assert config.scorecard_for("tech-touch").name == "default"
    assert [s.name for s in config.stages][:2] == ["renewal", "onboarding"]


def test_minimal_configuration_and_direction() -> None:
    config = parse_config(MINIMAL)
    rule = config.scorecards["default"].groups[0].measures[0]
    assert rule.higher_is_better
    assert rule.weight == 1.0
    assert config.segments[0].rule.columns == {"arr"}


def test_ensure_config_file_writes_the_default_once(tmp_path: Path) -> None:
    path = ensure_config_file(tmp_path)
    assert path.read_text() == default_config_text()
    path.write_text(MINIMAL)
    ensure_config_file(tmp_path)
    assert load_config(path).segments[0].name == "all"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("rule: arr >= 0", "rule: lower(name) = 'x'"),
            "line 3 (rule of segment 'all'): the function",
        ),
        (
            ("rule: arr >= 0", "rule: revenue > 1"),
            "line 3 (rule of segment 'all'): unknown column",
        ),
        (("rule: arr >= 0", "rule: arr >= 0; drop table accounts"), "line 3"),
        (("active_users_30d", "active_userz"), "line 9: unknown measure 'active_userz'"),
        (
            ("red: 2, green: 10", "red: 2, green: 2"),
            "line 9: active_users_30d: red and green",
        ),
        (("red: 2, green: 10", "red: two, green: 10"), "line 9: red: expected a number"),
        (("red: 2, green: 10", "green: 10"), "line 9: active_users_30d: give red and green"),
        (("red: 2, green: 10", "red: 2, green: 10, percentile: true"), "give either percentile"),
        (("  default:", "  main:"), "line 5: a scorecard named 'default' is required"),
        (
            ("      - name: usage", "      - name: usage\n        weight: -1"),
            "line 8: weight: a weight must be positive",
        ),
        (
            ("      - name: usage", "      - name: usage\n        colour: red"),
            "line 8: unknown key 'colour' in a group",
        ),
        (("segments:", "segment:"), "line 1: unknown key 'segment'"),
        (("  - name: all", "  - name: [all"), "not valid YAML"),
    ],
)
def test_mistakes_are_reported_with_file_and_line(change: tuple[str, str], message: str) -> None:
    text = MINIMAL.replace(*change)
    with pytest.raises(ConfigurationError) as caught:
        parse_config(text, "ws/health.yaml")
    assert "ws/health.yaml" in str(caught.value)
    assert message in str(caught.value)


def test_bands_and_stages_are_checked() -> None:
    with pytest.raises(ConfigurationError, match=r"line 11: red_below \(80.0\) must not be above"):
        parse_config(MINIMAL + "bands:\n  red_below: 80\n  green_above: 60\n", "h.yaml")
    stage = "stages:\n  - name: onboarding\n    rule: tenure_days < 90\n    expected_days: 30\n"
    # days in a stage come from the stage history: expected_days needs no elapsed
    (onboarding,) = parse_config(MINIMAL + stage, "h.yaml").stages
    assert (onboarding.expected_days, onboarding.elapsed) == (30, None)
    with pytest.raises(
        ConfigurationError, match="line 14: stage 'onboarding': unknown KPI measure 'nothing'"
    ):
        parse_config(MINIMAL + stage + "    kpis: [tenure_days, nothing]\n", "h.yaml")
    twice = stage + "  - name: onboarding\n    rule: 'true'\n"
    with pytest.raises(ConfigurationError, match="stage names must be unique"):
        parse_config(MINIMAL + twice, "h.yaml")
    with pytest.raises(ConfigurationError, match=r"h\.yaml: the file is empty"):
        parse_config("\n", "h.yaml")


def test_custom_measures_are_checked_and_usable_in_scorecards() -> None:
    custom = (
        "measures:\n  custom:\n    - name: reports_30d\n      events: [report_created]\n"
        "      aggregation: sum\n"
    )
    with pytest.raises(
        ConfigurationError,
        match="line 14: aggregation: expected one of count, active_users, active_days, user_days",
    ):
        parse_config(MINIMAL + custom, "h.yaml")
    text = MINIMAL.replace("active_users_30d", "reports_30d") + custom.replace("sum", "count")
    config = parse_config(text, "h.yaml")
    assert config.measures.custom[0].name == "reports_30d"
    duplicate = custom.replace("reports_30d", "active_users_30d").replace("sum", "count")
    with pytest.raises(
        ConfigurationError, match="line 12: custom measure 'active_users_30d' is already"
    ):
        parse_config(MINIMAL + duplicate, "h.yaml")
