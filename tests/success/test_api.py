"""The HTTP API of CTAs, tasks and plans, with the CSM restriction: a CSM limited to
their book sees and changes only their accounts' CTAs and plans."""

from __future__ import annotations

from pathlib import Path

from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from keepwell.success import service
from tests.success.company import AS_OF, OWNER_A, OWNER_B, Clock, load_company
from tests.web.helpers import add_user, client, make_app


def test_ctas_and_plans_over_http_with_the_csm_restriction(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    ws = sqlite_workspace
    load_company(ws, tmp_path)
    service.run_cycle(ws, AS_OF, clock=Clock(), deliver=False)
    health_service.compute_scores(ws, AS_OF)
    app = make_app(ws)
    ann = client(app, add_user(ws, OWNER_A, "csm"))
    bob = client(app, add_user(ws, OWNER_B, "csm"))
    boss = client(app, add_user(ws, "boss@example.com", "admin"))
    reader = client(app, add_user(ws, "vera@example.com", "viewer", scope="read"))
    assert client(app).get("/api/v1/ctas").status_code == 401

    everything = boss.get("/api/v1/ctas", params={"as_of": AS_OF.isoformat()}).json()
    assert {c["account_id"] for c in everything} == {"A", "B"}
    mine = ann.get("/api/v1/ctas").json()
    assert {c["account_id"] for c in mine} == {"A"}
    sponsor = next(c for c in mine if c["rule"] == "sponsor-left")["cta_id"]
    late = next(c for c in everything if c["rule"] == "late-invoice")["cta_id"]
    assert ann.get(f"/api/v1/ctas/{late}").status_code == 404  # B is not ann's
    assert ann.patch(f"/api/v1/ctas/{late}", json={"status": "in_progress"}).status_code == 404

    detail = ann.get(f"/api/v1/ctas/{sponsor}").json()
    assert detail["trigger_values"]["key_contact_left_90d"] == 1
    task = detail["tasks"][0]["task_id"]
    assert bob.post(f"/api/v1/tasks/{task}/complete").status_code == 404
    assert reader.post(f"/api/v1/tasks/{task}/complete").status_code == 403
    done = ann.post(f"/api/v1/tasks/{task}/complete")
    assert done.json() == {"task_id": task, "cta_id": sponsor, "open_tasks": 1}
    snoozed = ann.patch(f"/api/v1/ctas/{sponsor}", json={"status": "snoozed"})
    assert snoozed.status_code == 400
    assert "until" in snoozed.json()["error"]["message"]
    closed = ann.patch(
        f"/api/v1/ctas/{sponsor}",
        json={"status": "closed", "outcome": "saved", "reason": "new sponsor"},
    ).json()
    assert (closed["status"], closed["outcome"]) == ("closed", "saved")

    assert bob.post("/api/v1/accounts/A/plan", json={}).status_code == 404
    created = ann.post("/api/v1/accounts/A/plan", json={})
    assert created.status_code == 201
    plan = created.json()
    assert plan["template"] == "high-touch"
    milestone = plan["milestones"][0]["milestone_id"]
    path = f"/api/v1/plans/milestones/{milestone}"
    assert bob.patch(path, json={"status": "done"}).status_code == 404
    assert ann.patch(path, json={"status": "done"}).status_code == 204
    objective = plan["objectives"][0]["objective_id"]
    update = {"current": 40}
    assert ann.patch(f"/api/v1/plans/objectives/{objective}", json=update).status_code == 204
    shown = ann.get("/api/v1/accounts/A/plan").json()
    assert shown["progress"] > 0
    assert bob.get("/api/v1/accounts/A/plan").status_code == 404
