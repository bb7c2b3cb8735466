"""The demo as one use case: generate a company, import it, and read it back.

``keepwell demo`` is the single entry point of the demo; each capability that lands
adds its step here: the portfolio, health scores, one success cycle, and the churn
model trained on the company's history with its predictions stored for the last day.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from keepwell.contract.service import ImportReport, import_file
from keepwell.core import periods
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.periods import month_end, previous_month
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace
from keepwell.demo import closing
from keepwell.demo.catalog import Billing
from keepwell.demo.service import DemoSummary, generate_demo
from keepwell.health.service import (
    ScoreRun,
    compute_scores,
    latest_scores,
    rebuild_stage_history,
)
from keepwell.revenue import service as revenue_service
from keepwell.revenue.service import Summary, account_arr, portfolio_summary
from keepwell.risk import service as risk_service
from keepwell.success import service as success_service
from keepwell.team import service as team_service
from keepwell.voice import service as voice_service

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
    #: Teams, CSMs, targets and cost inputs set up for the team pages.
    team: dict[str, int] = field(default_factory=dict)
    voice: DemoVoice | None = None
    #: CTAs the replayed history opened and closed (:func:`_replay_history`).
    history: DemoHistory | None = None
    #: Reference requests made (with outcomes) and the account that stopped giving them.
    references: DemoReferences | None = None


@dataclass(frozen=True)
class DemoReferences:
    requests: int
    stopped_account: str | None


@dataclass(frozen=True)
class DemoVoice:
    """The customer's voice in the demo: survey emails queued and answered, accounts
    with success measures, and the link of the one shared plan."""

    surveys_queued: int
    surveys_answered: int
    measures: int
    shared_plan_account: str | None
    shared_plan_url: str | None


@dataclass(frozen=True)
class DemoHistory:
    """The success cycles replayed over the history: their days, the CTAs they opened
    and how many the demo's CSMs closed (by outcome)."""

    days: list[date]
    opened: int
    closed: dict[str, int]


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
    settings: Settings | None = None,
    history: bool = True,
) -> DemoRun:
    """Generate a demo company into ``data_dir``, import it into ``workspace``, and
    compute its portfolio summary and health scores as of the end of ``end_month``, run
    one success cycle, and (``churn_model``) train the churn model and store its
    predictions for that day. ``billing``: see :func:`generate_demo`. With ``history``,
    success cycles are first replayed on past month ends and their CTAs closed with what
    the data shows happened (:func:`_replay_history`)."""
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
    step("scoring customer health of the month before (so band moves can be explained)")
    compute_scores(workspace, previous_month_end(run.as_of))
    step("replaying the journey stages of past month ends (the stage history)")
    rebuild_stage_history(workspace, run.as_of)
    step("scoring customer health")
    run.scores = compute_scores(workspace, run.as_of)
    if history:
        run.history = _replay_history(workspace, run.as_of, months, seed, step)
    step("taking the feature requests from the timeline")
    success_service.sync_requests(workspace, run.as_of)
    step("asking reference customers: requests given and declined, one that stopped")
    run.references = _references(workspace, run.as_of)
    step("running a success cycle (rules, CTAs, tech-touch email queued)")
    stamp = datetime.combine(run.as_of, time(23, 59), tzinfo=UTC)
    run.cycle = success_service.run_cycle(workspace, run.as_of, clock=lambda: stamp, deliver=False)
    step("hearing the customer: a survey sent and answered, success measures, a shared plan")
    run.voice = _voice(workspace, run.as_of, stamp, settings or Settings())
    if churn_model:
        step("training the churn model on monthly snapshots of the history")
        try:
            run.risk = _train_and_predict(workspace, run.as_of)
        except InputError as exc:  # a company too small or too young to learn from
            run.risk_skipped = exc.message
    step("setting up teams, CSM capacities, targets and cost inputs")
    run.team = team_service.set_up_demo_team(workspace, run.as_of)
    return run


def previous_month_end(day: date) -> date:
    """The last day of the month before ``day``'s month."""
    return month_end(previous_month(day))


#: Success cycles replayed before the last day: every HISTORY_STEP months, the earliest
#: HISTORY_MONTHS before it; CTAs of a cycle close before the next one (those of the
#: last OPEN_MONTHS stay open).
HISTORY_MONTHS, HISTORY_STEP, OPEN_MONTHS = 12, 2, 2
#: Days after opening over which the demo's CSMs see what happened to the account.
CLOSING_WINDOW = 120


def _history_days(as_of: date, months: int) -> list[date]:
    """Month ends HISTORY_MONTHS, ..., HISTORY_STEP months before ``as_of``'s month,
    keeping 4 months of data before the first (usage windows need them)."""
    first = max(0, min(HISTORY_MONTHS, months - 5))
    days = []
    for back in range(first, 0, -HISTORY_STEP):
        month = as_of.replace(day=1)
        for _ in range(back):
            month = periods.previous_month(month)
        days.append(month_end(month))
    return days


def _fixed(stamp: datetime) -> Callable[[], datetime]:
    return lambda: stamp


def _replay_history(
    workspace: Workspace, as_of: date, months: int, seed: int, step: Step
) -> DemoHistory:
    """Run the success cycle on past month ends and close each cycle's CTAs before the
    next one with the outcome the data shows (:mod:`keepwell.demo.closing`), as a
    team working the cycle's CTAs would have: playbook effectiveness then has closed
    CTAs and outcomes to count."""
    days = _history_days(as_of, months)
    rng = random.Random(seed)
    renewals = revenue_service.past_renewals(workspace, days[0], as_of) if days else []
    opened, closed = 0, dict[str, int]()
    for index, day in enumerate(days):
        step(f"replaying the success cycle as of {day} and closing its CTAs")
        stamp = datetime.combine(day, time(23, 0), tzinfo=UTC)
        report = success_service.run_cycle(workspace, day, clock=_fixed(stamp), deliver=False)
        opened += report.opened
        following = days[index + 1] if index + 1 < len(days) else as_of
        if (as_of - day).days < OPEN_MONTHS * 30:
            continue
        for cta in success_service.list_ctas(workspace, as_of=day):
            happened = closing.what_happened(renewals, cta["account_id"], day,
                                             day + timedelta(days=CLOSING_WINDOW))  # fmt: skip
            outcome = closing.closing_outcome(cta["type"], happened, rng)
            on = min(following - timedelta(days=1), day + timedelta(days=rng.randint(7, 45)))
            success_service.close_cta(
                workspace, cta["cta_id"], outcome=outcome,
                reason=f"demo: {outcome.replace('_', ' ')}, as the account's data shows",
                now=datetime.combine(on, time(16, 0), tzinfo=UTC),
            )  # fmt: skip
            closed[outcome] = closed.get(outcome, 0) + 1
    return DemoHistory(days, opened, dict(sorted(closed.items())))


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


#: The demo's relationship survey.
DEMO_CAMPAIGN = voice_service.Campaign(
    "relationship-nps", "nps", "How likely are you to recommend us to a colleague?",
    None, None, 180, 90, date.min,
)  # fmt: skip


def _voice(workspace: Workspace, as_of: date, stamp: datetime, settings: Settings) -> DemoVoice:
    """After the cycle (so the demo's scores and CTAs are those of its own data): an NPS
    campaign queued on the last day, a third of its contacts answering in line with
    their account's health; the three largest customers' success measures with monthly
    readings; the largest customer's plan shared with its first contact."""
    campaign = replace(DEMO_CAMPAIGN, created_on=as_of)
    voice_service.define_campaign(workspace, campaign)
    queued = voice_service.run_campaigns(workspace, as_of, settings)["queued"]
    health = latest_scores(workspace, as_of)
    answered = 0
    for i, send in enumerate(voice_service.list_sends(workspace, campaign.name)):
        if i % 3 == 0:
            score = health.get(send["account_id"], ("", 50.0))[1] or 50.0
            nps = min(10, max(0, round(score / 10) + i % 5 - 2))
            voice_service.record_answer(workspace, send["send_id"], stamp, nps, None)
            answered += 1
    largest = sorted(account_arr(workspace, as_of).items(), key=lambda kv: (-kv[1]["arr"], kv[0]))
    for account_id, _ in largest[:3]:
        measure = voice_service.add_measure(
            workspace, account_id, name="Hours saved per week", unit="hours", baseline=2,
            target=40, started_on=as_of - timedelta(days=150),
            target_on=as_of + timedelta(days=120),
        )  # fmt: skip
        for month in range(5):
            day = as_of - timedelta(days=120 - 30 * month)
            value = 2 + (month + 1) * (4 + len(account_id) % 3)
            voice_service.record_reading(workspace, measure, day, value, "demo")
    account, url = _shared_plan(workspace, largest[0][0] if largest else None, as_of, stamp,
                                settings)  # fmt: skip
    voice_service.push_health_measures(workspace, as_of)
    return DemoVoice(queued, answered, min(3, len(largest)), account, url)


#: Demo reference requests: (days before the as-of day asked, purpose, outcome), per
#: account; the second gave one, then declined the latest two (it stopped giving).
_REFERENCE_STORIES = (
    ((200, "Sales call with a prospect", "given"), (45, "Case study", "given")),
    ((250, "Sales call with a prospect", "given"), (60, "Webinar speaker", "declined"),
     (20, "Sales call with a prospect", "declined")),
    ((10, "Analyst briefing", None),),
)  # fmt: skip


def _references(workspace: Workspace, as_of: date) -> DemoReferences:
    largest = sorted(account_arr(workspace, as_of).items(), key=lambda kv: (-kv[1]["arr"], kv[0]))
    accounts = [account_id for account_id, _ in largest[3 : 3 + len(_REFERENCE_STORIES)]]
    made = 0
    for account_id, story in zip(accounts, _REFERENCE_STORIES, strict=False):
        success_service.set_referenceable(
            workspace, account_id, True, on=as_of - timedelta(days=300)
        )
        for days_before, purpose, outcome in story:
            on = as_of - timedelta(days=days_before)
            request = success_service.request_reference(
                workspace, account_id, purpose=purpose, requested_by="sales@example.com", on=on
            )
            made += 1
            if outcome is not None:
                success_service.record_outcome(
                    workspace, request, outcome, on=on + timedelta(days=3), actor="demo"
                )
    stopped = accounts[1] if len(accounts) > 1 else None
    return DemoReferences(made, stopped)


def _shared_plan(
    workspace: Workspace, account_id: str | None, as_of: date, stamp: datetime,
    settings: Settings,
) -> tuple[str | None, str | None]:  # fmt: skip
    if account_id is None:
        return None, None
    try:
        success_service.show_plan(workspace, account_id, as_of)
    except NotFoundError:
        success_service.create_plan(workspace, account_id, as_of=as_of - timedelta(days=45))
    share = voice_service.share_plan(workspace, account_id, shared_with="Your sponsor",
                                     email=None, days=90, now=stamp, settings=settings)  # fmt: skip
    return account_id, str(share["url"])
