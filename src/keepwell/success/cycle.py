"""One cycle of customer-success operations: score → rules → actions → notifications.

Several processes may run cycles against one database. The cycle holds a lease (one
row, taken by a conditional UPDATE that only succeeds when the lease is free or
expired), so workers do not repeat each other's work; even without it, the unique
``open_key`` of CTAs and the notifications' dedupe keys make a re-run harmless. The
lease is short (``KEEPWELL_CYCLE_LEASE_SECONDS``) and renewed by a heartbeat thread
while the cycle runs, so a killed holder is taken over within that time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.contract import service as contract_service
from keepwell.core.audit import note_file_applied, record_audits
from keepwell.core.database import insert_once, transaction
from keepwell.core.errors import ConfigurationError, KeepwellError
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from keepwell.notify import service as notify_service
from keepwell.risk import service as risk_service
from keepwell.success import ctas
from keepwell.success.matching import Match, evaluate_rules
from keepwell.success.models import Cta, CycleLease, CycleRun
from keepwell.success.plan_store import plan_progress
from keepwell.success.playbooks import PLAYBOOKS_FILE, Playbooks, default_playbooks_text
from keepwell.success.playbooks import parse_playbooks as _parse_playbooks
from keepwell.success.rule_table import rule_rows
from keepwell.success.rules import (
    RULES_FILE,
    RuleSet,
    campaign_name,
    default_rules_text,
    parse_rules,
)

LEASE = "cycle"
#: The lease's default length (``KEEPWELL_CYCLE_LEASE_SECONDS``).
LEASE_TTL = timedelta(seconds=Settings.model_fields["cycle_lease_seconds"].default)
Clock = Callable[[], datetime]


@dataclass
class CycleReport:
    """What one cycle did. ``opened`` + ``already_open`` + ``cooling_down`` = CTA
    matches; ``problems`` name the file and line of every rule or playbook left out."""

    as_of: date
    accounts: int = 0
    rules: int = 0
    matches: int = 0
    opened: int = 0
    already_open: int = 0
    cooling_down: int = 0
    woke: int = 0
    tech_touch_emails: int = 0
    notifications: int = 0
    #: Accounts given a churn prediction (0 when no churn model is trained).
    predicted: int = 0
    delivered: dict[str, int] = field(default_factory=dict)
    #: Seconds spent in each step: scoring, rules, actions (CTAs, tech-touch), delivery;
    #: ``cpu_seconds`` the CPU time of this process in each (all its threads), the
    #: steadier figure on a shared machine.
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    opened_ids: list[int] = field(default_factory=list)


def ensure_file(root: Path, name: str, default: Callable[[], str]) -> Path:
    """``root/name``, written from the shipped default when missing."""
    path = root / name
    if not path.exists():
        path.write_text(default(), encoding="utf-8")
    return path


def load_rules(workspace: Workspace) -> tuple[RuleSet, Playbooks]:
    """The workspace's rules and playbooks (defaults written on first use), validated:
    what is bad is in the ``problems`` of each, the rest is usable."""
    playbooks_path = ensure_file(workspace.root, PLAYBOOKS_FILE, default_playbooks_text)
    rules_path = ensure_file(workspace.root, RULES_FILE, default_rules_text)
    playbooks_text, rules_text = _read(playbooks_path), _read(rules_path)
    note_file_applied(workspace.engine, "playbooks.apply", playbooks_path, playbooks_text)
    note_file_applied(workspace.engine, "rules.apply", rules_path, rules_text)
    playbooks = _parse_playbooks(playbooks_text, str(playbooks_path))
    return parse_rules(rules_text, playbooks, str(rules_path)), playbooks


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        return f"# cannot read {path}: {exc.strerror}\n"


@dataclass(frozen=True)
class LeaseTimes:
    """The cycle lease's length and heartbeat interval."""

    lease: timedelta
    heartbeat_seconds: float


def cycle_settings() -> LeaseTimes:
    """The lease settings of this process (``KEEPWELL_CYCLE_LEASE_SECONDS``,
    ``KEEPWELL_CYCLE_HEARTBEAT_SECONDS``); :class:`ConfigurationError` when invalid or
    when the heartbeat is more than a third of the lease (a late beat or two would
    lose it)."""
    hint = "see KEEPWELL_CYCLE_LEASE_SECONDS and KEEPWELL_CYCLE_HEARTBEAT_SECONDS"
    try:
        settings = Settings()
    except ValueError as exc:  # pydantic's ValidationError: one line per bad setting
        lines = [f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', e)}"
                 for e in getattr(exc, "errors", list)()]  # fmt: skip
        raise ConfigurationError("invalid settings: " + ("; ".join(lines) or str(exc)),
                                 hint=hint) from None  # fmt: skip
    lease, beat = settings.cycle_lease_seconds, settings.cycle_heartbeat_seconds
    if beat * 3 > lease:
        raise ConfigurationError(
            f"KEEPWELL_CYCLE_HEARTBEAT_SECONDS ({beat:g}) must be at most a third of "
            f"KEEPWELL_CYCLE_LEASE_SECONDS ({lease:g})",
            hint=hint,
        )
    return LeaseTimes(timedelta(seconds=lease), beat)


def acquire_lease(
    workspace: Workspace, holder: str, now: datetime, ttl: timedelta | None = None
) -> bool:
    """Take the cycle lease for ``holder`` until ``now`` + ``ttl`` (default
    ``KEEPWELL_CYCLE_LEASE_SECONDS``) if it is free, expired at ``now``, or already
    ``holder``'s."""
    ttl = ttl if ttl is not None else cycle_settings().lease
    with transaction(workspace.engine) as session:
        insert_once(session, CycleLease, {"name": LEASE}, "name")
    with transaction(workspace.engine) as session:
        result = session.execute(
            sa.update(CycleLease)
            .where(
                CycleLease.name == LEASE,
                sa.or_(
                    CycleLease.holder.is_(None),
                    CycleLease.holder == holder,
                    CycleLease.expires_at < now,
                ),
            )
            .values(holder=holder, expires_at=now + ttl)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1


def renew_lease(
    workspace: Workspace, holder: str, now: datetime, ttl: timedelta | None = None
) -> bool:
    """Extend ``holder``'s lease to ``now`` + ``ttl``; False when ``holder`` no longer
    holds it (it expired and another process took it)."""
    ttl = ttl if ttl is not None else cycle_settings().lease
    with transaction(workspace.engine) as session:
        result = session.execute(
            sa.update(CycleLease)
            .where(CycleLease.name == LEASE, CycleLease.holder == holder)
            .values(expires_at=now + ttl)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1


def release_lease(workspace: Workspace, holder: str) -> None:
    with transaction(workspace.engine) as session:
        session.execute(
            sa.update(CycleLease)
            .where(CycleLease.name == LEASE, CycleLease.holder == holder)
            .values(holder=None, expires_at=None)
        )


def wait_for_lease(workspace: Workspace, holder: str, clock: Clock, wait_seconds: float) -> bool:
    """Poll for the lease for up to ``wait_seconds``; whether it was taken."""
    ttl = cycle_settings().lease
    deadline = time.monotonic() + wait_seconds
    while not acquire_lease(workspace, holder, clock(), ttl):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True


@dataclass
class Heartbeat:
    """What the heartbeat of a lease saw: ``renewals`` made, and ``lost`` when the lease
    was found taken by another process (this holder stopped renewing for too long)."""

    renewals: int = 0
    lost: bool = False
    errors: list[str] = field(default_factory=list)


@contextmanager
def heartbeat(workspace: Workspace, holder: str, clock: Clock) -> Iterator[Heartbeat]:
    """Renew ``holder``'s lease every ``KEEPWELL_CYCLE_HEARTBEAT_SECONDS`` (real time)
    from a background thread for as long as the block runs. A renewal that fails (the
    store busy) is tried again at the next beat; a lease found lost is not retaken."""
    settings = cycle_settings()
    beat = Heartbeat()
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(settings.heartbeat_seconds):
            try:
                if not renew_lease(workspace, holder, clock(), settings.lease):
                    beat.lost = True
                    return
                beat.renewals += 1
            except Exception as exc:  # the store busy or gone: try again at the next beat
                beat.errors.append(f"{type(exc).__name__}: {exc}")

    thread = threading.Thread(target=run, name=f"lease-heartbeat-{holder}", daemon=True)
    thread.start()
    try:
        yield beat
    finally:
        stop.set()
        thread.join()


def last_finished(workspace: Workspace) -> datetime | None:
    """When the last cycle finished (from any process), None before the first."""
    with Session(workspace.engine) as session:
        return session.execute(sa.select(sa.func.max(CycleRun.finished_at))).scalar_one_or_none()


def run_locked_cycle(
    workspace: Workspace, as_of: date, clock: Clock, holder: str, *, deliver: bool = True
) -> CycleReport:
    """The cycle's steps, for the holder of the lease (renewed by a heartbeat while they
    run); recorded in ``success_cycle_runs``. Without ``deliver``, notifications stay
    queued for a later delivery."""
    with heartbeat(workspace, holder, clock) as beat:
        report = _run_steps(workspace, as_of, clock, holder, deliver=deliver)
    if beat.lost:
        report.problems.append(
            "the cycle lease was taken over by another process while this cycle ran "
            "(its heartbeat could not renew it in time); nothing was done twice"
        )
    return report


def _run_steps(
    workspace: Workspace, as_of: date, clock: Clock, holder: str, *, deliver: bool
) -> CycleReport:
    with transaction(workspace.engine) as session:
        run = CycleRun(as_of=as_of, holder=holder, started_at=clock(), summary={})
        session.add(run)
        session.flush()
        run_id = run.id
    report = CycleReport(as_of)
    timer = _Timer(report.seconds, report.cpu_seconds)
    contract_service.refresh_event_rollup(workspace)  # a warehouse events source, if any
    # plan progress is a health measure (``measures: external:`` in health.yaml)
    progress = plan_progress(workspace, as_of)
    health_service.record_measure(workspace, "plan_progress", progress, as_of, complete=True)
    _, assessed = health_service.score_and_store(workspace, as_of)
    rules, playbooks = load_rules(workspace)
    report.problems = [*playbooks.problems, *rules.problems]
    risk = _predict_risk(workspace, as_of, assessed, report)
    timer.lap("scoring")
    report.rules = len(rules.rules)
    with transaction(workspace.engine) as session:
        report.woke = ctas.wake_snoozed(session, as_of, clock())
    rows = rule_rows(workspace, as_of, assessed=assessed, progress=progress, risk=risk)
    report.accounts = len(rows)
    matches, problems = evaluate_rules(rules.rules, rows)
    report.problems += problems
    report.matches = len(matches)
    timer.lap("rules")
    _act(workspace, matches, rules, playbooks, as_of, clock, report)
    _audit_opened(workspace, report.opened_ids, holder)
    timer.lap("actions")
    if deliver:
        delivery = notify_service.deliver_pending(workspace, now=clock())
        report.delivered = {
            "sent": delivery.sent,
            "retrying": delivery.retrying,
            "failed": delivery.failed,
            "deferred": delivery.deferred,
            "pending": delivery.pending_total,
        }
        timer.lap("delivery")
    with transaction(workspace.engine) as session:
        session.execute(
            sa.update(CycleRun)
            .where(CycleRun.id == run_id)
            .values(finished_at=clock(), summary=_summary(report))
        )
    return report


class _Timer:
    """Elapsed and CPU seconds of the cycle's steps (monotonic timers: durations, not
    dates)."""

    def __init__(self, wall: dict[str, float], cpu: dict[str, float]) -> None:
        self.wall, self.cpu = wall, cpu
        self.last, self.last_cpu = time.perf_counter(), time.process_time()

    def lap(self, step: str) -> None:
        now, now_cpu = time.perf_counter(), time.process_time()
        self.wall[step] = round(now - self.last, 3)
        self.cpu[step] = round(now_cpu - self.last_cpu, 3)
        self.last, self.last_cpu = now, now_cpu


def _predict_risk(
    workspace: Workspace,
    as_of: date,
    assessed: list[health_service.AccountHealth],
    report: CycleReport,
) -> dict[str, Mapping[str, Any]]:
    """When a churn model is trained: its predictions as of ``as_of``, stored with the
    snapshot just scored (so the day's snapshot carries them) and returned by account
    for the rules. A model that cannot predict is a problem of the report, not a
    failed cycle."""
    if not risk_service.has_model(workspace):
        return {}
    try:
        result = risk_service.predict_risk(workspace, as_of, assessed=assessed)
    except KeepwellError as exc:
        report.problems.append(f"churn model: {exc}")
        return {}
    report.predicted = int(result["stored"])
    return {str(r["account_id"]): r for r in result["predictions"]}


#: Matches acted on per transaction: few transactions (a commit per match cost more
#: than the work), yet each short enough that other writers (event ingestion in the
#: server, on SQLite's single writer lock) wait a fraction of a second at most.
ACT_BATCH = 500


def _act(
    workspace: Workspace,
    matches: list[Match],
    rules: RuleSet,
    playbooks: Playbooks,
    as_of: date,
    clock: Clock,
    report: CycleReport,
) -> None:
    # a match whose CTA is already live needs no write (most of them, once the first
    # cycles have run); a CTA opened meanwhile by another process is still caught by
    # the unique open_key of the insert
    with Session(workspace.engine) as session:
        live = ctas.live_keys(session)
    settings = Settings()  # read once, not once per match
    for start in range(0, len(matches), ACT_BATCH):
        batch = matches[start : start + ACT_BATCH]
        to_open = []
        for match in batch:
            if match.rule.cta is None:
                continue
            if ctas.open_key(match.account_id, match.rule.key) in live:
                report.already_open += 1
            else:
                to_open.append(match)
        touches = [
            notify_service.TechTouch(
                account_id=m.account_id,
                role=m.rule.tech_touch.role,
                template=m.rule.tech_touch.template,
                campaign=campaign_name(m.rule.tech_touch, as_of),
            )
            for m in batch
            if m.rule.tech_touch is not None
        ]
        if not to_open and not touches:
            continue
        with transaction(workspace.engine) as session:
            openings = ctas.open_ctas(
                session, to_open, assignment=rules.assignment,
                playbooks=playbooks.playbooks, as_of=as_of, now=clock(),
            )  # fmt: skip
            sent = notify_service.send_tech_touch_many(
                session, touches, as_of=as_of, settings=settings
            )
        for opening in openings:
            _count(report, opening)
        report.tech_touch_emails += sum(sent)


def _audit_opened(workspace: Workspace, ids: list[int], holder: str) -> None:
    """The CTAs this cycle opened, in the audit trail (``cta.open`` by whoever runs the
    cycle, ``details.by`` naming the cycle's holder): one read and one batch insert,
    whatever their number."""
    if not ids:
        return
    columns = (Cta.id, Cta.account_id, Cta.rule, Cta.owner, Cta.priority, Cta.title, Cta.due_on)
    with transaction(workspace.engine) as session:
        rows = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for cta_id, account, rule, owner, priority, title, due in session.execute(
                sa.select(*columns).where(Cta.id.in_(chunk))
            ):
                rows.append({
                    "action": "cta.open", "target": str(cta_id), "account_id": account,
                    "details": {"by": f"cycle:{holder}"},
                    "after": {"status": "open", "rule": rule, "owner": owner,
                              "priority": priority, "title": title,
                              "due_on": due.isoformat() if due else None},
                })  # fmt: skip
        record_audits(session, rows)


def _count(report: CycleReport, opening: ctas.Opening) -> None:
    if opening.cta_id is None:
        if opening.outcome == "cooling_down":
            report.cooling_down += 1
        else:
            report.already_open += 1
        return
    report.opened += 1
    report.opened_ids.append(opening.cta_id)
    report.notifications += opening.notifications


def _summary(report: CycleReport) -> dict[str, Any]:
    return {
        "accounts": report.accounts,
        "rules": report.rules,
        "matches": report.matches,
        "opened": report.opened,
        "already_open": report.already_open,
        "tech_touch_emails": report.tech_touch_emails,
        "notifications": report.notifications,
        "predicted": report.predicted,
        "delivered": report.delivered,
        "seconds": report.seconds,
        "cpu_seconds": report.cpu_seconds,
        "problems": report.problems,
    }
