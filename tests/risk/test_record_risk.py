"""Predictions stored with the health snapshot, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from tests.web.helpers import two_csm_book

DAY = date(2025, 6, 30)


def test_record_risk_stores_replaces_and_explains(workspace: Workspace) -> None:
    two_csm_book(workspace)
    health_service.compute_scores(workspace, DAY)
    drivers = [{"feature": "has_sponsor", "value": 0, "contribution": 0.4, "text": "no sponsor"}]
    rows = [
        {
            "account_id": "A1",
            "churn_probability": 0.25,
            "arr_at_risk": 300.0,
            "risk_drivers": drivers,
        },
        {"account_id": "B1", "churn_probability": 0.05, "arr_at_risk": 60.0, "risk_drivers": []},
        {"account_id": "ZZ", "churn_probability": 0.9, "arr_at_risk": 1.0, "risk_drivers": []},
    ]
    assert health_service.record_risk(workspace, DAY, rows) == 2  # ZZ has no snapshot
    risk = health_service.explain_account(workspace, "A1", DAY)["risk"]
    assert risk == {"churn_probability": 0.25, "arr_at_risk": 300.0, "drivers": drivers}
    assert health_service.explain_account(workspace, "A2", DAY)["risk"] is None

    assert health_service.record_risk(workspace, DAY, rows[1:2]) == 1  # a new run replaces
    assert health_service.explain_account(workspace, "A1", DAY)["risk"] is None
    assert health_service.explain_account(workspace, "B1", DAY)["risk"]["arr_at_risk"] == 60.0


def test_scoring_the_same_day_again_keeps_the_predictions(workspace: Workspace) -> None:
    two_csm_book(workspace)
    health_service.compute_scores(workspace, DAY)
    drivers = [{"feature": "has_sponsor", "value": 0, "contribution": 0.4, "text": "no sponsor"}]
    rows = [{"account_id": "A1", "churn_probability": 0.25, "arr_at_risk": 300.0,
             "risk_drivers": drivers}]  # fmt: skip
    assert health_service.record_risk(workspace, DAY, rows) == 1
    before = health_service.explain_account(workspace, "A1", DAY)

    # a second cycle the same day re-scores the snapshot: the prediction stays
    health_service.compute_scores(workspace, DAY)
    after = health_service.explain_account(workspace, "A1", DAY)
    assert after["risk"] == {"churn_probability": 0.25, "arr_at_risk": 300.0, "drivers": drivers}
    assert after["score"] == before["score"]
    assert health_service.explain_account(workspace, "A2", DAY)["risk"] is None
    other_day = health_service.compute_scores(workspace, date(2025, 7, 31))
    assert other_day.accounts
    assert health_service.explain_account(workspace, "A1", date(2025, 7, 31))["risk"] is None
