"""The demo as one use case: generate a company, import it, and read it back.

``keepwell demo`` is the single entry point of the demo; each capability that lands
adds its step here: the portfolio, health scores, one success cycle, and the churn
model trained on the company's history with its predictions stored for the last day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path

from keepwell.contract.service import ImportReport, import_file
from keepwell.core.errors import InputError
from keepwell.core.periods import month_end
from keepwell.core.workspace import Workspace
from keepwell.demo.catalog import Billing
from keepwell.demo.service import DemoSummary, generate_demo
from keepwell.health.service import ScoreRun, compute_scores, rebuild_stage_history
from keepwell.revenue.service import Summary, portfolio_summary
from keepwell.risk import service as risk_service
from keepwell.success import service as success_service

#: Import order: accounts first, every other entity refers to them.
IMPORT_ORDER = (
    "accounts",
    "contacts",
    "subscriptions",
    "invoices",
    "tickets",
    "surveys",
    "activities",
    "events",
)

Step = Callable[[str], None]


@dataclass
class DemoRun:
    data: DemoSummary
    imports: list[ImportReport] = field(default_factory=list)
    as_of: date | None = None
    summary: Summary | None = None
    scores: ScoreRun | None = None
    cycle: success_service.CycleReport | None = None
    risk: DemoRisk | None = None
    #: Why the churn model was not trained (a company too small or too young).
    risk_skipped: str | None = None


@dataclass(frozen=True)
class DemoRisk:
    """The demo's churn model: its version and held-out ROC AUC beside the health
    score's on the same rows, and the ARR at risk it predicts on the last day."""

    version: int
    roc_auc: float | None
    health_roc_auc: float | None
    arr_at_risk: float
    accounts: int


def run_demo(
    workspace: Workspace,
    data_dir: Path,
    *,
    accounts: int,
    months: int,
    seed: int,
    end_month: date,
    on_step: Step | None = None,
    churn_model: bool = True,
    billing: Billing = Billing.MIXED,
) -> DemoRun:
    """Generate a demo company into ``data_dir``, import it into ``workspace``, and
    compute its portfolio summary and health scores as of the end of ``end_month``, run
    one success cycle, and (``churn_model``) train the churn model and store its
    predictions for that day. ``billing``: see :func:`generate_demo`."""
    step = on_step or (lambda _message: None)
    step(f"generating {accounts:,} accounts over {months} months (seed {seed}, {billing} billing)")
    run = DemoRun(
        generate_demo(
            data_dir,
            accounts=accounts,
            months=months,
            seed=seed,
            end_month=end_month,
            billing=billing,
        )
    )
    for entity in IMPORT_ORDER:
        step(f"importing {entity} ({run.data.rows[entity]:,} rows)")
        run.imports.append(import_file(workspace, entity, run.data.files[entity]))
    run.as_of = month_end(end_month)
    step(f"computing the portfolio as of {run.as_of}")
    run.summary = portfolio_summary(workspace, run.as_of)
    step("replaying the journey stages of past month ends (the stage history)")
    rebuild_stage_history(workspace, run.as_of)
    step("scoring customer health")
    run.scores = compute_scores(workspace, run.as_of)
    step("taking the feature requests from the timeline")
    success_service.sync_requests(workspace, run.as_of)
    step("running a success cycle (rules, CTAs, tech-touch email queued)")
    stamp = datetime.combine(run.as_of, time(23, 59), tzinfo=UTC)
    run.cycle = success_service.run_cycle(workspace, run.as_of, clock=lambda: stamp, deliver=False)
    if churn_model:
        step("training the churn model on monthly snapshots of the history")
        try:
            run.risk = _train_and_predict(workspace, run.as_of)
        except InputError as exc:  # a company too small or too young to learn from
            run.risk_skipped = exc.message
    return run


def _train_and_predict(workspace: Workspace, as_of: date) -> DemoRisk:
    card = risk_service.train_model(workspace, as_of)
    predicted = risk_service.predict_risk(workspace, as_of, version=card["version"])
    metrics = card["metrics"]
    return DemoRisk(
        version=int(card["version"]),
        roc_auc=metrics["model"].get("roc_auc"),
        health_roc_auc=metrics.get("health_score", {}).get("roc_auc"),
        arr_at_risk=float(predicted["arr_at_risk"]),
        accounts=int(predicted["accounts"]),
    )
