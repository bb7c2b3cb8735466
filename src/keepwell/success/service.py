"""Use cases of customer-success operations: the public surface of the success slice.

Faces (CLI, API) and other slices call these functions only. Nothing here reads the
clock: ``as_of`` is given, and ``clock`` (a function returning the current UTC time) is
passed in by the face for the cycle's lease, run records and notification delivery.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.contract import service as contract_service
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.memo import memo
from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from keepwell.notify import service as notify_service
from keepwell.revenue import service as revenue_service
from keepwell.success import plan_store
from keepwell.success.board import (
    add_task,
    close_cta,
    complete_task,
    cta_detail,
    cta_owners,
    list_ctas,
    playbook_fingerprint,
    playbook_openings,
    reassign_cta,
    redate_task,
    snooze_cta,
    start_cta,
    work_counts,
)
from keepwell.success.cycle import (
    LEASE,
    Clock,
    CycleReport,
    acquire_lease,
    ensure_file,
    last_finished,
    load_rules,
    release_lease,
    run_locked_cycle,
    wait_for_lease,
)
from keepwell.success.effectiveness import Opening, State, effectiveness
from keepwell.success.feature_requests import (
    RequestStatus,
    list_requests,
    merge_requests,
    record_ask,
    set_status,
    show_request,
    sync_requests,
)
from keepwell.success.feedback import add_feedback, top_requests
from keepwell.success.models import CycleLease, CycleRun
from keepwell.success.outcomes import OUTCOMES, outcomes_for
from keepwell.success.plan_store import (
    due_milestones,
    plan_progress,
    plans_behind,
    record_checkin,
    show_plan,
    update_milestone,
    update_objective,
)
from keepwell.success.plan_templates import (
    PLANS_FILE,
    PlanTemplate,
    default_plans_text,
    parse_plan_templates,
    template_for_segment,
)
from keepwell.success.records import (
    CONTACT_ROLES,
    edit_contact,
    record_renewal_call,
    renewal_calls,
    set_account_owner,
    set_segment_override,
)
from keepwell.success.references import (
    STOPPED_MEASURE,
    account_references,
    list_references,
    push_stopped_measure,
    record_outcome,
    record_use,
    reference_requests,
    request_reference,
    set_referenceable,
    stopped_signals,
)
from keepwell.success.references import tracker as reference_tracker
from keepwell.success.timeline import account_timeline, add_note
from keepwell.success.work import act_on_work, my_work, work_items

__all__ = [
    "CONTACT_ROLES",
    "OUTCOMES",
    "STOPPED_MEASURE",
    "CycleReport",
    "RequestStatus",
    "account_references",
    "account_timeline",
    "act_on_work",
    "add_feedback",
    "add_note",
    "add_task",
    "check_rules",
    "close_cta",
    "complete_task",
    "create_plan",
    "cta_detail",
    "cta_owners",
    "cycle_state",
    "due_milestones",
    "edit_contact",
    "feature_request_view",
    "feedback_board",
    "last_finished",
    "list_ctas",
    "list_references",
    "list_requests",
    "merge_requests",
    "my_work",
    "new_holder",
    "outcomes_for",
    "plan_progress",
    "plan_templates",
    "plans_behind",
    "playbook_effectiveness",
    "push_stopped_measure",
    "reassign_cta",
    "record_ask",
    "record_checkin",
    "record_outcome",
    "record_renewal_call",
    "record_use",
    "redate_task",
    "reference_requests",
    "reference_tracker",
    "renewal_calls",
    "request_reference",
    "run_cycle",
    "schedule_basis",
    "scheduled_tick",
    "segment_names",
    "set_account_owner",
    "set_referenceable",
    "set_segment",
    "set_status",
    "show_plan",
    "show_request",
    "snooze_cta",
    "start_cta",
    "stopped_signals",
    "sync_requests",
    "top_requests",
    "update_milestone",
    "update_objective",
    "work_counts",
    "work_items",
    "worker_tick",
]


def new_holder() -> str:
    """A name for this process in the cycle lease: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def check_rules(workspace: Workspace) -> dict[str, Any]:
    """The rules and playbooks of the workspace as they would run: their names and the
    problems (file, line, reason) of what would be left out."""
    rules, playbooks = load_rules(workspace)
    return {
        "rules": [r.name for r in rules.rules],
        "playbooks": list(playbooks.playbooks),
        "problems": [*playbooks.problems, *rules.problems],
    }


def run_cycle(
    workspace: Workspace,
    as_of: date,
    *,
    clock: Clock,
    holder: str | None = None,
    wait_seconds: float = 600.0,
    deliver: bool = True,
) -> CycleReport:
    """One cycle as of ``as_of``: score health, evaluate the rules, open CTAs (with their
    tasks and notifications), send tech-touch email, deliver due notifications.

    Waits up to ``wait_seconds`` for another process's cycle to finish; then runs.
    Without ``deliver`` the notifications stay queued (for ``keepwell worker``). The
    workspace's stores are closed at the end (they reopen lazily), so that the next
    lease holder can open the analytics file.
    Re-running changes nothing that already happened (unique keys in the store).
    """
    holder = holder or new_holder()
    if not wait_for_lease(workspace, holder, clock, wait_seconds):
        raise InputError(
            f"another cycle has held the lock for more than {wait_seconds:.0f} s",
            hint="wait for it, or run again later",
        )
    try:
        return run_locked_cycle(workspace, as_of, clock, holder, deliver=deliver)
    finally:
        workspace.close()  # the analytics file is free before the next holder opens it
        release_lease(workspace, holder)


def worker_tick(
    workspace: Workspace,
    *,
    as_of: date,
    clock: Clock,
    interval_seconds: float,
    holder: str,
) -> CycleReport | None:
    """What one worker does per wake-up: deliver due notifications (retries), and run a
    cycle when the last one (by any worker, as recorded in the store) finished more than
    ``interval_seconds`` ago and no other worker holds the lease. None if no cycle ran."""
    notify_service.deliver_pending(workspace, now=clock())
    if not acquire_lease(workspace, holder, clock()):
        return None
    try:
        finished = last_finished(workspace)
        if finished is not None and clock() - finished < timedelta(seconds=interval_seconds):
            return None
        return run_locked_cycle(workspace, as_of, clock, holder)
    finally:
        workspace.close()
        release_lease(workspace, holder)


def scheduled_tick(
    workspace: Workspace,
    *,
    as_of: date,
    clock: Clock,
    holder: str,
    is_due: Callable[[datetime | None], bool],
) -> CycleReport | None:
    """What a server's scheduler does when a cycle may be due: run one when
    ``is_due(schedule_basis(...))`` (checked again once the lease is held, so two
    processes never run the same slot) and no other process holds the lease. None if
    no cycle ran. The workspace's stores are closed at the end, as with
    :func:`run_cycle`."""
    if not is_due(schedule_basis(workspace)):
        return None
    if not acquire_lease(workspace, holder, clock()):
        return None
    try:
        if not is_due(schedule_basis(workspace)):
            return None
        return run_locked_cycle(workspace, as_of, clock, holder)
    finally:
        workspace.close()
        release_lease(workspace, holder)


def schedule_basis(workspace: Workspace) -> datetime | None:
    """What a schedule counts from: when the last cycle finished; None (due at once)
    before the first cycle, and when the latest cycle started never finished (stopped
    by a shutdown or failed: it runs again; while it still runs, its lease keeps the
    scheduler out)."""
    with Session(workspace.engine) as session:
        last = session.scalars(sa.select(CycleRun).order_by(CycleRun.id.desc()).limit(1)).first()
    return None if last is None else last.finished_at


def cycle_state(workspace: Workspace) -> dict[str, Any]:
    """The cycles as recorded in the store, for ``keepwell status``: the last one
    started (``finished_at`` None while it runs, or when it was interrupted), the last
    one finished, and who holds the lease until when."""
    with Session(workspace.engine) as session:
        last = session.scalars(sa.select(CycleRun).order_by(CycleRun.id.desc()).limit(1)).first()
        done = session.scalars(
            sa.select(CycleRun)
            .where(CycleRun.finished_at.is_not(None))
            .order_by(CycleRun.finished_at.desc())
            .limit(1)
        ).first()
        lease = session.get(CycleLease, LEASE)
        return {
            "last": _run(last),
            "last_finished": _run(done),
            "lease_holder": lease.holder if lease else None,
            "lease_expires_at": lease.expires_at if lease else None,
        }


def _run(run: CycleRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {"id": run.id, "as_of": run.as_of, "holder": run.holder,
            "started_at": run.started_at, "finished_at": run.finished_at,
            "summary": dict(run.summary or {})}  # fmt: skip


def plan_templates(workspace: Workspace) -> dict[str, PlanTemplate]:
    """The workspace's plan templates (``plans.yaml``, written from the default)."""
    path = ensure_file(workspace.root, PLANS_FILE, default_plans_text)
    return parse_plan_templates(path.read_text(encoding="utf-8"), str(path))


def create_plan(
    workspace: Workspace, account_id: str, *, as_of: date, template: str | None = None
) -> dict[str, Any]:
    """Create the account's success plan from ``template`` (default: the template of the
    account's segment in its latest health snapshot) and return it."""
    templates = plan_templates(workspace)
    account = _account(workspace, account_id)
    if template is None:
        try:
            segment = health_service.explain_account(workspace, account_id)["segment"]
        except NotFoundError:
            raise InputError(
                f"account {account_id!r} has no health snapshot to take its segment from",
                hint="give --template, or run `keepwell score` first",
            ) from None
        template = template_for_segment(templates, segment)
    if template not in templates:
        raise InputError(f"no plan template {template!r}", hint=f"known: {', '.join(templates)}")
    plan_store.create_plan(workspace, account, templates[template], as_of)
    return show_plan(workspace, account_id, as_of)


def _account(workspace: Workspace, account_id: str) -> dict[str, Any]:
    accounts = contract_service.read_table(workspace, "accounts").select(["account_id", "owner"])
    for row in accounts.to_pylist():
        if row["account_id"] == account_id:
            return dict(row)
    raise NotFoundError(f"no account {account_id!r}")


#: Requests on the feedback board.
BOARD_REQUESTS = 50


def feedback_board(workspace: Workspace, as_of: date, scope: str | None) -> dict[str, Any]:
    """The most requested features (:func:`top_requests`) with the accounts and ARR
    behind them; a CSM limited to a book (``scope``) sees requests of their accounts
    only, and only those accounts listed."""
    requests = top_requests(workspace, as_of, BOARD_REQUESTS)
    accounts = contract_service.account_owners(
        workspace, [a for r in requests for a in r["account_ids"]]
    )
    items = []
    for request in requests:
        ids = [
            a
            for a in request["account_ids"]
            if a in accounts and (scope is None or accounts[a]["owner"] == scope)
        ]
        if scope is not None and not ids:
            continue
        items.append({
            "request_id": request["request_id"], "status": request["status"],
            "title": request["request"], "accounts": request["accounts"],
            "mentions": request["mentions"], "arr": request["arr"], "latest": request["last_at"],
            "accounts_list": [{"account_id": a, "name": accounts[a]["name"]} for a in ids],
        })  # fmt: skip
    return {"items": items}


#: Days after a CTA opened within which churn counts as its outcome.
EFFECT_HORIZON_DAYS = 180


def playbook_effectiveness(
    workspace: Workspace, as_of: date, horizon_days: int = EFFECT_HORIZON_DAYS
) -> dict[str, Any]:
    """Per playbook: its CTAs by outcome, and the churn within ``horizon_days`` of the
    accounts that got it against comparable accounts that did not (matched on the
    health snapshot of the opening day; see :mod:`keepwell.success.effectiveness`).

    Kept while the playbooks' CTAs are unchanged (:func:`playbook_fingerprint`) like the
    portfolio's figures (the server drops them after an import or a cycle)."""
    fingerprint = playbook_fingerprint(workspace, as_of)
    return memo(("playbook effectiveness", workspace.key, as_of, horizon_days, fingerprint),
                lambda: _effectiveness(workspace, as_of, horizon_days))  # fmt: skip


def _effectiveness(workspace: Workspace, as_of: date, horizon_days: int) -> dict[str, Any]:
    ctas = playbook_openings(workspace, as_of)
    openings = [Opening(c["playbook"], c["account_id"], c["opened_on"], c["outcome"])
                for c in ctas]  # fmt: skip
    days = tuple(sorted({o.day for o in openings}))
    # the accounts' states on the opening days come from stored snapshots and renewals:
    # kept like the portfolio's figures (the server drops them after an import or a cycle)
    states = memo(("playbook states", workspace.key, as_of, horizon_days, days),
                  lambda: _opening_states(workspace, as_of, horizon_days, days))  # fmt: skip
    return {
        "as_of": as_of,
        "horizon_days": horizon_days,
        "closed": sum(1 for c in ctas if c["status"] == "closed"),
        "playbooks": [e.as_dict() for e in effectiveness(openings, states)],
    }


def _opening_states(
    workspace: Workspace, as_of: date, horizon_days: int, days: tuple[date, ...]
) -> dict[date, dict[str, State]]:
    """Each account's state on each of ``days``: its band, segment and churn
    probability in that day's snapshot, and whether it churned at a renewal within
    ``horizon_days`` (None while that window is not over on ``as_of``)."""
    ends: dict[str, list[tuple[date, bool]]] = {}
    if days:
        for row in revenue_service.past_renewals(workspace, days[0], as_of):
            ends.setdefault(str(row["account_id"]), []).append(
                (row["ends_on"], row["outcome"] == "churned")
            )
    states: dict[date, dict[str, State]] = {}
    for day in days:
        last = day + timedelta(days=horizon_days)
        known = last <= as_of
        states[day] = {}
        for r in health_service.snapshot_states(workspace, day):
            window = [c for d, c in ends.get(str(r["account_id"]), []) if day < d <= last]
            states[day][str(r["account_id"])] = State(
                str(r["band"]),
                str(r["segment"]),
                r["churn_probability"],
                any(window) if known else None,
                renews=bool(window),
            )
    return states


def segment_names(workspace: Workspace) -> list[str]:
    """The segments health.yaml configures, in rule order."""
    return [s.name for s in health_service.health_config(workspace).segments]


def set_segment(
    workspace: Workspace, account_id: str, segment: str | None, *, scope: str | None
) -> None:
    """Set (or, empty, clear) the account's segment by hand; the next scoring uses it."""
    set_segment_override(workspace, account_id, segment, segments=segment_names(workspace),
                         scope=scope)  # fmt: skip


def feature_request_view(
    workspace: Workspace, request_id: int, scope: str | None
) -> dict[str, Any]:
    """:func:`show_request`; a CSM limited to a book (``scope``) sees only the asks of
    their accounts (the totals stay the request's)."""
    item = show_request(workspace, request_id)
    if scope is None:
        return item
    owners = contract_service.account_owners(workspace, [a["account_id"] for a in item["asks"]])
    asks = [a for a in item["asks"] if owners.get(a["account_id"], {}).get("owner") == scope]
    return {**item, "asks": asks}
