"""A cycle pushes success-plan progress into health as the external measure
``plan_progress``, which a scorecard then scores (and the snapshot explains)."""

from __future__ import annotations

from pathlib import Path

import pytest

from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from keepwell.health.config import default_config_text
from keepwell.success import service
from tests.success.company import AS_OF, Clock, load_company

LAST_DEFAULT_MEASURE = "          - {measure: mrr_change_90d, weight: 1, red: -0.1, green: 0.0}\n"
PLAN_GROUP = """      - name: plan
        weight: 5
        measures:
          - {measure: plan_progress, weight: 1, red: 30, green: 70}
"""


def _health_yaml_scoring_plan_progress() -> str:
    text = default_config_text()
    assert LAST_DEFAULT_MEASURE in text
    text = text.replace("\nmeasures:\n", "\nmeasures:\n  external: [plan_progress]\n", 1)
    return text.replace(LAST_DEFAULT_MEASURE, LAST_DEFAULT_MEASURE + PLAN_GROUP)


def test_cycle_records_plan_progress_and_the_snapshot_scores_it(
    workspace: Workspace, tmp_path: Path
) -> None:
    ws = workspace
    load_company(ws, tmp_path)
    (ws.root / "health.yaml").write_text(_health_yaml_scoring_plan_progress(), encoding="utf-8")
    health_service.compute_scores(ws, AS_OF)  # the plan template comes from the segment
    plan = service.create_plan(ws, "A", as_of=AS_OF)
    service.update_objective(ws, plan["objectives"][0]["objective_id"], current=40)
    expected = service.plan_progress(ws, AS_OF)["A"]
    assert expected > 0

    service.run_cycle(ws, AS_OF, clock=Clock(), deliver=False)
    a = health_service.explain_account(ws, "A", AS_OF)
    measures = {m["measure"]: m for m in a["measures"]}
    assert measures["plan_progress"]["value"] == pytest.approx(expected)
    assert measures["plan_progress"]["contribution"] > 0
    b = health_service.explain_account(ws, "B", AS_OF)  # no plan: left out, renormalized
    assert "plan_progress" in b["missing"]
    assert sum(m["contribution"] or 0 for m in b["measures"]) == pytest.approx(b["score"])
