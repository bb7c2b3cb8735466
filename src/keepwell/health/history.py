"""Health score history of one account, read from the stored snapshots."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.core.workspace import Workspace
from keepwell.health.models import HealthScore


def score_history(workspace: Workspace, account_id: str) -> list[dict[str, Any]]:
    """Every snapshot of ``account_id``, oldest first: date, score (0-100 or None when
    no measure had data), band, segment and stage."""
    query = (
        sa.select(
            HealthScore.as_of, HealthScore.score, HealthScore.band,
            HealthScore.segment, HealthScore.stage,
        )
        .where(HealthScore.account_id == account_id)
        .order_by(HealthScore.as_of)
    )  # fmt: skip
    with Session(workspace.engine) as session:
        return [dict(row._mapping) for row in session.execute(query)]
