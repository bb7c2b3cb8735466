"""The rule table: one row per customer as of a day, for the rules to read.

Health gives the measures, segment, stage, score and band (``health.service.assess``,
or the assessment the cycle just stored), the previous snapshot's band and score, and the
recent NPS detractors (``health.service.nps_signals``); this slice adds its own columns
(live CTAs, success-plan progress, references stopped; see ``rules.SUCCESS_COLUMNS``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from keepwell.success.ctas import LIVE
from keepwell.success.models import Cta
from keepwell.success.plan_store import plan_progress
from keepwell.success.references import STOPPED_MEASURE, stopped_signals


def rule_rows(
    workspace: Workspace,
    as_of: date,
    *,
    assessed: list[health_service.AccountHealth] | None = None,
    progress: Mapping[str, float | None] | None = None,
    risk: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Every customer's row as of ``as_of`` (health values plus the success columns).
    ``assessed`` (the health as of ``as_of``, e.g. the one just stored as the snapshot)
    and ``progress`` (plan progress per account) are computed when not given; ``risk``
    (the churn model's predictions per account) is only known when given. Every
    other input is read in bulk: a handful of queries whatever the portfolio's size."""
    if assessed is None:
        assessed = health_service.assess(workspace, as_of)
    previous = _previous(workspace, as_of)
    live, renewals = _live_ctas(workspace)
    nps = health_service.nps_signals(workspace, as_of)
    if progress is None:
        progress = plan_progress(workspace, as_of)
    stopped = stopped_signals(workspace, as_of)
    rows = []
    for health in assessed:
        account_id = health.score.account_id
        before = previous.get(account_id, {})
        score = health.score.score
        detractors, latest, last_detractor = nps.get(account_id, (0, None, None))
        rows.append(
            {
                **health.values,
                "score": score,
                "band": health.score.band.value,
                "previous_band": before.get("band"),
                "previous_score": before.get("score"),
                "score_change": None
                if score is None or before.get("score") is None
                else score - before["score"],
                "open_ctas": live.get(account_id, 0),
                "open_renewal_ctas": renewals.get(account_id, 0),
                "detractors_90d": detractors,
                "latest_nps": latest,
                "days_since_detractor": None
                if last_detractor is None
                else (as_of - last_detractor[0].date()).days,
                "latest_detractor_score": None if last_detractor is None else last_detractor[1],
                "plan_progress": progress.get(account_id),
                STOPPED_MEASURE: stopped.get(account_id),
                **_risk_columns((risk or {}).get(account_id)),
            }
        )
    return rows


def _risk_columns(prediction: Mapping[str, Any] | None) -> dict[str, Any]:
    """The churn model's probability, ARR at risk and top driver (in words)."""
    p = prediction or {}
    drivers = p.get("risk_drivers") or []
    return {
        "churn_probability": p.get("churn_probability"),
        "arr_at_risk": p.get("arr_at_risk"),
        "churn_driver": drivers[0].get("text") if drivers else None,
    }


def _previous(workspace: Workspace, as_of: date) -> dict[str, dict[str, Any]]:
    """Per account, the band and score of its latest snapshot on or before the last
    snapshot date before ``as_of`` (one query)."""
    day = health_service.previous_snapshot(workspace, as_of)
    if day is None:
        return {}
    latest = health_service.latest_scores(workspace, day)
    return {account: {"band": band, "score": score} for account, (band, score) in latest.items()}


def _live_ctas(workspace: Workspace) -> tuple[Counter[str], Counter[str]]:
    query = sa.select(Cta.account_id, Cta.type).where(Cta.status.in_(LIVE))
    live: Counter[str] = Counter()
    renewals: Counter[str] = Counter()
    with Session(workspace.engine) as session:
        for account_id, kind in session.execute(query):
            live[account_id] += 1
            renewals[account_id] += kind == "renewal"
    return live, renewals
