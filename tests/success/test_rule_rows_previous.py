"""The rule rows' previous band and score, read for all accounts in one query, equal
what health explains account by account (the latest snapshot on or before the last
snapshot date), also for an account missing from that last snapshot."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from keepwell.core.database import transaction
from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from keepwell.health.models import HealthScore
from keepwell.success.plan_store import plan_progress
from keepwell.success.rule_table import rule_rows
from tests.success.company import AS_OF, load_company


def test_previous_band_matches_explain_account(workspace: Workspace, tmp_path: Path) -> None:
    ws = workspace
    load_company(ws, tmp_path)
    earlier, last = AS_OF - timedelta(days=60), AS_OF - timedelta(days=30)
    health_service.compute_scores(ws, earlier)
    health_service.compute_scores(ws, last)
    with transaction(ws.engine) as session:  # B has no row in the last snapshot
        session.execute(
            sa.delete(HealthScore).where(HealthScore.as_of == last, HealthScore.account_id == "B")
        )
    rows = {r["account_id"]: r for r in rule_rows(ws, AS_OF)}
    assert set(rows) == {"A", "B"}
    for account, row in rows.items():
        explained = health_service.explain_account(ws, account, last)
        assert (row["previous_band"], row["previous_score"]) == (
            explained["band"],
            explained["score"],
        )
    assert health_service.explain_account(ws, "B", last)["as_of"] == earlier
    assert rows["B"]["previous_band"] is not None


def test_rows_from_the_stored_assessment_equal_a_fresh_one(
    workspace: Workspace, tmp_path: Path
) -> None:
    ws = workspace
    load_company(ws, tmp_path)
    health_service.compute_scores(ws, AS_OF - timedelta(days=30))
    _, assessed = health_service.score_and_store(ws, AS_OF)
    given = rule_rows(ws, AS_OF, assessed=assessed, progress=plan_progress(ws, AS_OF))
    assert given == rule_rows(ws, AS_OF)
    stored = health_service.snapshot_rows(ws, AS_OF)
    assert [(r["account_id"], r["band"]) for r in stored] == [
        (r["account_id"], r["band"]) for r in given
    ]
