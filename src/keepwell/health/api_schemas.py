"""Health's API schemas (response bodies), importable by every HTTP face: the
explanation is also part of the read model's Account 360 (portfolio's API), and its
risk drivers are the risk API's too."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel


class GroupScoreRead(BaseModel):
    """A measure group's score (0-100, null without data), its configured and effective
    weight (renormalised over groups with data) and band."""

    name: str
    score: float | None
    weight: float
    effective_weight: float
    capped_by_red: bool
    band: str


class MeasureScoreRead(BaseModel):
    """One measure: its value, points (0-100), weights and contribution to the score."""

    measure: str
    group: str
    value: float | None
    points: float | None
    weight: float
    effective_weight: float
    contribution: float
    band: str


class ChangeDriverRead(BaseModel):
    """A measure whose contribution changed since the previous snapshot."""

    measure: str
    contribution_change: float
    value_before: float | None
    value: float | None


class HealthChangeRead(BaseModel):
    """The previous snapshot of the account and what changed since."""

    as_of: date
    score: float | None
    band: str
    change: float | None
    drivers: list[ChangeDriverRead]


class RiskDriverRead(BaseModel):
    """A feature pushing the churn probability, its value and contribution (log-odds)."""

    feature: str
    value: bool | int | float | str | None
    contribution: float
    text: str


class SnapshotRiskRead(BaseModel):
    """The churn prediction stored with the snapshot: probability (0-1), ARR at risk
    (p x ARR, base currency per year) and the top drivers."""

    churn_probability: float
    arr_at_risk: float | None
    drivers: list[RiskDriverRead]


class HealthExplanationRead(BaseModel):
    """Why an account has its score on a snapshot day (see docs/metrics.md)."""

    account_id: str
    as_of: date
    segment: str
    scorecard: str
    stage: str | None
    stage_overdue: bool | None
    days_in_stage: float | None
    stage_entered_on: date | None = None
    score: float | None
    band: str
    groups: list[GroupScoreRead]
    measures: list[MeasureScoreRead]
    missing: list[str]
    mrr: float | None = None
    arr: float | None = None
    previous: HealthChangeRead | None
    risk: SnapshotRiskRead | None


class ScorePointRead(BaseModel):
    """One stored health score of an account."""

    as_of: date
    score: float | None
    band: str
    segment: str
    stage: str | None


class StageSummaryRead(BaseModel):
    """One journey stage as of a day: its accounts, median days in the stage (since they
    entered it), overdue and on track (share 0-1), outcome KPI (its rule and the share
    meeting it), process KPIs (medians) and the stays that ended in the past year."""

    stage: str
    accounts: int
    expected_days: int | None
    median_days_in_stage: float | None
    overdue: int
    on_track: int
    on_track_share: float | None
    outcome: str | None
    outcome_met_share: float | None
    kpis: dict[str, float | None]
    finished: int
    median_days_to_finish: float | None
