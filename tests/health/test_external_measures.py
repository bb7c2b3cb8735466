"""External measures: values other slices push into health (e.g. success plan progress),
read point-in-time by the scorecards and renormalized away when an account has none."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from keepwell.contract.service import import_file
from keepwell.core.errors import ConfigurationError, InputError
from keepwell.core.workspace import Workspace
from keepwell.health import service
from keepwell.health.config import parse_config
from tests.factories import write_rows

JUNE, JULY, AUGUST = date(2025, 6, 30), date(2025, 7, 31), date(2025, 8, 31)

HEALTH = """
version: 1
measures:
  external: [plan_progress]
segments:
  - name: everyone
    rule: "true"
scorecards:
  default:
    groups:
      - name: lifecycle
        weight: 80
        measures:
          - {measure: tenure_days, weight: 1, red: 30, green: 365}
      - name: plan
        weight: 20
        measures:
          - {measure: plan_progress, weight: 1, red: 30, green: 70}
"""


def _load(ws: Workspace, tmp_path: Path) -> None:
    files = {
        "accounts": [{"account_id": "A", "name": "Acme"}, {"account_id": "B", "name": "Beta"}],
        "subscriptions": [
            {"line_id": "a1", "account_id": "A", "product": "core", "mrr": "1000",
             "quantity": "10", "starts_on": "2024-01-01"},
            {"line_id": "b1", "account_id": "B", "product": "core", "mrr": "500",
             "quantity": "5", "starts_on": "2024-06-01"},
        ],
    }  # fmt: skip
    for entity, rows in files.items():
        report = import_file(ws, entity, write_rows(tmp_path / f"{entity}.csv", rows))
        assert report.rejected == 0, (entity, report)
    (ws.root / "health.yaml").write_text(HEALTH, encoding="utf-8")


def _values(ws: Workspace, as_of: date) -> dict[str, object]:
    return {h.score.account_id: h.values["plan_progress"] for h in service.assess(ws, as_of)}


def test_record_replaces_the_day_and_rejects_unknown_accounts(
    workspace: Workspace, tmp_path: Path
) -> None:
    _load(workspace, tmp_path)
    assert service.record_measure(workspace, "plan_progress", {"A": 10, "B": 20}, JUNE) == 2
    assert service.record_measure(workspace, "plan_progress", {"A": 40}, JUNE) == 1
    assert _values(workspace, JUNE) == {"A": 40.0, "B": None}  # B's June value was replaced
    with pytest.raises(InputError, match="an account is unknown"):
        service.record_measure(workspace, "plan_progress", {"Z": 1.0}, JUNE)
    with pytest.raises(InputError, match="lower-case identifier"):
        service.record_measure(workspace, "Plan Progress", {"A": 1.0}, JUNE)


def test_as_of_reads_the_latest_value_on_or_before_never_a_later_one(
    workspace: Workspace, tmp_path: Path
) -> None:
    _load(workspace, tmp_path)
    service.record_measure(workspace, "plan_progress", {"A": 40, "B": 55}, JUNE)
    before = _values(workspace, JULY)
    assert before == {"A": 40.0, "B": 55.0}  # June's values still hold in July
    service.record_measure(workspace, "plan_progress", {"A": 90}, AUGUST)
    service.record_measure(workspace, "other_measure", {"A": 1, "B": 2}, JUNE)
    assert _values(workspace, JULY) == before  # later values (and other measures) change nothing
    assert _values(workspace, AUGUST) == {"A": 90.0, "B": 55.0}
    service.record_measure(workspace, "plan_progress", {"A": 95}, AUGUST, complete=True)
    assert _values(workspace, AUGUST) == {"A": 95.0, "B": None}  # B's plan is gone
    assert _values(workspace, date(2025, 6, 29)) == {"A": None, "B": None}


def test_scorecard_uses_the_measure_and_renormalizes_it_away_when_missing(
    workspace: Workspace, tmp_path: Path
) -> None:
    _load(workspace, tmp_path)
    service.record_measure(workspace, "plan_progress", {"A": 70}, JUNE)
    service.compute_scores(workspace, JULY)
    a = service.explain_account(workspace, "A", JULY)
    measures = {m["measure"]: m for m in a["measures"]}
    assert measures["plan_progress"]["value"] == 70.0
    assert measures["plan_progress"]["points"] == pytest.approx(75)  # the green threshold
    assert "plan_progress" not in a["missing"]
    b = service.explain_account(workspace, "B", JULY)
    assert "plan_progress" in b["missing"]
    by_name = {m["measure"]: m for m in b["measures"]}
    assert by_name["plan_progress"]["value"] is None
    assert not by_name["plan_progress"]["contribution"]
    tenure = by_name["tenure_days"]
    assert b["score"] == pytest.approx(tenure["points"])  # its weight renormalized to 100 %
    assert b["score"] == pytest.approx(tenure["contribution"])
    assert sum(m["contribution"] for m in a["measures"]) == pytest.approx(a["score"])


def test_config_declares_external_measures() -> None:
    assert parse_config(HEALTH).measures.external == ("plan_progress",)
    undeclared = HEALTH.replace("  external: [plan_progress]\n", "  login_event: login\n")
    with pytest.raises(ConfigurationError, match="unknown measure 'plan_progress'"):
        parse_config(undeclared)
    clash = HEALTH.replace("[plan_progress]", "[plan_progress, tenure_days]")
    with pytest.raises(ConfigurationError, match="'tenure_days' is already defined"):
        parse_config(clash)
