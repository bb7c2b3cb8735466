"""`keepwell health measures`: every measure the workspace can compute, with its
definition and where it is weighted; and every command the shipped YAML files name exists."""

from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path

import pytest
import typer

from keepwell.cli import load_all
from keepwell.health.catalog import measure_catalog
from keepwell.health.config import default_config_text, parse_config
from keepwell.health.measures import MEASURES
from tests.cli_runner import run_cli


def test_catalog_lists_built_in_custom_and_external_with_their_weights() -> None:
    text = default_config_text().replace(
        "  # external: [plan_progress]", "  external: [plan_progress, nps_vendor]"
    )
    entries = {e.name: e for e in measure_catalog(parse_config(text))}
    assert set(MEASURES) <= set(entries)
    custom = entries["reports_per_active_user_30d"]
    assert (custom.source, custom.definition) == (
        "custom",
        "reports created per active user in 30 days",
    )
    assert entries["nps_vendor"].source == "external"
    assert entries["plan_progress"].definition.startswith("success-plan progress")
    weighted = {n for n, e in entries.items() if e.weighted_in}
    assert weighted, "the default scorecards weight some measures"
    assert weighted < set(entries), "some measures are computed but not scored"
    card, weight = entries["feature_breadth_30d"].weighted_in[0].rsplit(" ", 1)
    assert card.startswith("default/")
    assert float(weight) > 0


def test_health_measures_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "ws"
    assert run_cli(["init", str(home)], home, capsys, monkeypatch).code == 0
    shown = run_cli(["health", "measures", "--format", "json"], home, capsys, monkeypatch)
    assert shown.code == 0, shown.err
    rows = {r["measure"]: r for r in json.loads(shown.out)}
    assert rows["days_since_last_activity"]["definition"] == "days since the last event"
    assert "not scored" in {r["weighted_in"] for r in rows.values()}


COMMAND = re.compile(
    r"`keepwell ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?|\(keepwell ([a-z-]+)(?: ([a-z-]+))?"
)


@pytest.mark.parametrize(
    ("package", "name"),
    [
        ("keepwell.health", "default_health.yaml"),
        ("keepwell.success", "default_rules.yaml"),
        ("keepwell.success", "default_playbooks.yaml"),
        ("keepwell.success", "default_plans.yaml"),
    ],
)
def test_commands_named_in_shipped_yaml_exist(package: str, name: str) -> None:
    root = load_all()
    ctx = typer.Context(root)
    text = files(package).joinpath(name).read_text(encoding="utf-8")
    for match in COMMAND.finditer(text):
        words = [w for w in match.groups() if w]
        command = root.get_command(ctx, words[0])
        assert command is not None, f"{name} names `keepwell {words[0]}`, which does not exist"
        if len(words) > 1 and hasattr(command, "commands"):
            sub = command.get_command(ctx, words[1])
            assert sub is not None, f"{name} names `keepwell {' '.join(words)}`"
