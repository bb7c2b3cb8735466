"""One cycle of customer-success operations: score → rules → actions → notifications.

Several processes may run cycles against one database. The cycle holds a lease (one
row, taken by a conditional UPDATE that only succeeds when the lease is free or
expired), so workers do not repeat each other's work; even without it, the unique
``open_key`` of CTAs and the notifications' dedupe keys make a re-run harmless.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.contract import service as contract_service
from keepwell.core.database import insert_once, transaction
from keepwell.core.errors import KeepwellError
from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from keepwell.notify import service as notify_service
from keepwell.risk import service as risk_service
from keepwell.success import ctas
from keepwell.success.matching import Match, evaluate_rules
from keepwell.success.models import CycleLease, CycleRun
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
LEASE_TTL = timedelta(minutes=30)
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
    playbooks = _parse_playbooks(_read(playbooks_path), str(playbooks_path))
    return parse_rules(_read(rules_path), playbooks, str(rules_path)), playbooks


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        return f"# cannot read {path}: {exc.strerror}\n"


def acquire_lease(workspace: Workspace, holder: str, now: datetime) -> bool:
    """Take the cycle lease for ``holder`` if it is free or expired at ``now``."""
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
            .values(holder=holder, expires_at=now + LEASE_TTL)
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
    deadline = time.monotonic() + wait_seconds
    while not acquire_lease(workspace, holder, clock()):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True


def last_finished(workspace: Workspace) -> datetime | None:
    """When the last cycle finished (from any process), None before the first."""
    with Session(workspace.engine) as session:
        return session.execute(sa.select(sa.func.max(CycleRun.finished_at))).scalar_one_or_none()


def run_locked_cycle(
    workspace: Workspace, as_of: date, clock: Clock, holder: str, *, deliver: bool = True
) -> CycleReport:
    """The cycle's steps, for the holder of the lease; recorded in ``success_cycle_runs``.
    Without ``deliver``, notifications stay queued for a later delivery."""
    with transaction(workspace.engine) as session:
        run = CycleRun(as_of=as_of, holder=holder, started_at=clock(), summary={})
        session.add(run)
        session.flush()
        run_id = run.id
    report = CycleReport(as_of)
    contract_service.refresh_event_rollup(workspace)  # a warehouse events source, if any
    # plan progress is a health measure (``measures: external:`` in health.yaml)
    progress = plan_progress(workspace, as_of)
    health_service.record_measure(workspace, "plan_progress", progress, as_of, complete=True)
    _, assessed = health_service.score_and_store(workspace, as_of)
    rules, playbooks = load_rules(workspace)
    report.problems = [*playbooks.problems, *rules.problems]
    risk = _predict_risk(workspace, as_of, assessed, report)
    report.rules = len(rules.rules)
    with transaction(workspace.engine) as session:
        report.woke = ctas.wake_snoozed(session, as_of, clock())
    rows = rule_rows(workspace, as_of, assessed=assessed, progress=progress, risk=risk)
    report.accounts = len(rows)
    matches, problems = evaluate_rules(rules.rules, rows)
    report.problems += problems
    report.matches = len(matches)
    _act(workspace, matches, rules, playbooks, as_of, clock, report)
    if deliver:
        delivery = notify_service.deliver_pending(workspace, now=clock())
        report.delivered = {
            "sent": delivery.sent,
            "retrying": delivery.retrying,
            "failed": delivery.failed,
            "pending": delivery.pending_total,
        }
    with transaction(workspace.engine) as session:
        session.execute(
            sa.update(CycleRun)
            .where(CycleRun.id == run_id)
            .values(finished_at=clock(), summary=_summary(report))
        )
    return report


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


def _act(
    workspace: Workspace,
    matches: list[Match],
    rules: RuleSet,
    playbooks: Playbooks,
    as_of: date,
    clock: Clock,
    report: CycleReport,
) -> None:
    # a match whose CTA is already live needs no transaction (most of them, once the
    # first cycles have run); a CTA opened meanwhile by another process is still
    # caught by the unique open_key of the insert
    with Session(workspace.engine) as session:
        live = ctas.live_keys(session)
    for match in matches:
        cta, tech = match.rule.cta, match.rule.tech_touch
        if cta is not None and ctas.open_key(match.account_id, match.rule.key) in live:
            report.already_open += 1
        elif cta is not None:
            book = playbooks.playbooks.get(cta.playbook) if cta.playbook else None
            with transaction(workspace.engine) as session:
                opening = ctas.open_cta(
                    session, match, assignment=rules.assignment, playbook=book,
                    as_of=as_of, now=clock(),
                )  # fmt: skip
            _count(report, opening)
        if tech is not None:
            with transaction(workspace.engine) as session:
                report.tech_touch_emails += notify_service.send_tech_touch(
                    session, account_id=match.account_id, role=tech.role,
                    template=tech.template, campaign=campaign_name(tech, as_of), as_of=as_of,
                )  # fmt: skip


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
        "problems": report.problems,
    }
