"""References: which customers are referenceable, requests to use them, their uses
with a fatigue limit, and the "100/100/100" tracker of the first 100 customers.

Fatigue: a customer is not asked more than ``max_uses`` times (its own limit, else
:data:`FATIGUE_LIMIT`) in any :data:`FATIGUE_WINDOW_DAYS` days; a use on day d counts
on days d .. d + window − 1.

100/100/100 for the first 100 customers (by first subscription start): the share that
is referenceable, the share still paying on the day, and the logo renewal rate =
accounts with a renewed line / accounts with a line that came up for renewal (lines
ending before the day minus the renewal grace period, so late renewals are not counted
as churn).

Outcomes: a request is ``requested``, then ``given`` (a use is recorded with it) or
``declined``, on its ``answered_on`` day; each step is audited and written on the
account's timeline (tag ``reference``). A customer who gave references and stopped
(:mod:`keepwell.success.reference_signal`, window: the workspace setting
``reference_window_days``) is the health measure :data:`STOPPED_MEASURE` and the rule
column of the same name.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.contract import service as contract_service
from keepwell.core.audit import changed, record_audit
from keepwell.core.database import transaction
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from keepwell.revenue import service as revenue_service
from keepwell.success.models import ReferenceProfile, ReferenceRequest, ReferenceUse
from keepwell.success.reference_signal import stopped_giving
from keepwell.success.timeline import add_note

FATIGUE_LIMIT = 2
FATIGUE_WINDOW_DAYS = 90
FIRST_CUSTOMERS = 100
RENEWAL_GRACE_DAYS = 30
OUTCOMES = ("given", "declined")
#: The health measure (and rule column): 1 a customer who gave references stopped, 0 not.
STOPPED_MEASURE = "references_stopped"
#: Timeline tag of reference requests and their outcomes.
TAG = "reference"


def set_referenceable(
    workspace: Workspace,
    account_id: str,
    referenceable: bool,
    *,
    on: date,
    max_uses: int | None = None,
    notes: str | None = None,
) -> None:
    """Flag (or unflag) an account as referenceable, with its own fatigue limit if any."""
    if max_uses is not None and max_uses < 1:
        raise InputError(f"max uses must be at least 1, got {max_uses}")
    with transaction(workspace.engine) as session:
        profile = session.get(ReferenceProfile, account_id)
        if profile is None:
            _account(session, account_id)
            profile = ReferenceProfile(account_id=account_id)
            session.add(profile)
        before = _profile(profile)
        profile.referenceable, profile.since = referenceable, on if referenceable else None
        profile.max_uses, profile.notes = max_uses, notes
        old, new = changed(before, _profile(profile))
        record_audit(
            session, action="reference.flag" if referenceable else "reference.unflag",
            target=account_id, account_id=account_id, before=old, after=new,
        )  # fmt: skip


def _profile(profile: ReferenceProfile) -> dict[str, Any]:
    return {"referenceable": bool(profile.referenceable), "max_uses": profile.max_uses,
            "notes": profile.notes}  # fmt: skip


def _account(session: Session, account_id: str) -> None:
    accounts = sa.table("accounts", sa.column("account_id"))
    found = session.execute(
        sa.select(accounts.c.account_id).where(accounts.c.account_id == account_id)
    ).first()
    if found is None:
        raise NotFoundError(f"no account {account_id!r}")


def uses_in_window(uses: Iterable[date], on: date) -> int:
    """Uses counting against the fatigue limit on day ``on``."""
    start = on - timedelta(days=FATIGUE_WINDOW_DAYS - 1)
    return sum(start <= day <= on for day in uses)


def next_available(uses: Iterable[date], on: date, limit: int) -> date:
    """The first day from ``on`` on which fewer than ``limit`` uses count."""
    ordered = sorted(d for d in uses if d <= on)
    day = on
    while uses_in_window(ordered, day) >= limit:
        window_start = day - timedelta(days=FATIGUE_WINDOW_DAYS - 1)
        oldest = min(d for d in ordered if d >= window_start)
        day = oldest + timedelta(days=FATIGUE_WINDOW_DAYS)
    return day


def _check_available(session: Session, account_id: str, on: date) -> ReferenceProfile:
    profile = session.get(ReferenceProfile, account_id, with_for_update=True)
    if profile is None or not profile.referenceable:
        raise InputError(
            f"account {account_id!r} is not referenceable",
            hint="flag it with `keepwell references flag ACCOUNT`",
        )
    limit = profile.max_uses or FATIGUE_LIMIT
    uses = _uses(session, account_id)
    if uses_in_window(uses, on) >= limit:
        free = next_available(uses, on, limit)
        raise InputError(
            f"account {account_id!r} was used as a reference {uses_in_window(uses, on)} "
            f"times in {FATIGUE_WINDOW_DAYS} days (limit {limit})",
            hint=f"ask another customer, or again from {free.isoformat()}",
        )
    return profile


def _uses(session: Session, account_id: str) -> list[date]:
    query = sa.select(ReferenceUse.used_on).where(ReferenceUse.account_id == account_id)
    return list(session.execute(query).scalars())


def request_reference(
    workspace: Workspace, account_id: str, *, purpose: str, requested_by: str | None, on: date
) -> int:
    """Ask to use a referenceable, non-fatigued account; the request's id."""
    with transaction(workspace.engine) as session:
        _check_available(session, account_id, on)
        request = ReferenceRequest(
            account_id=account_id,
            requested_by=requested_by,
            purpose=purpose,
            requested_on=on,
            status="requested",
        )
        session.add(request)
        session.flush()
        record_audit(
            session, action="reference.request", target=f"reference request {request.id}",
            account_id=account_id, after={"purpose": purpose, "requested_by": requested_by},
        )  # fmt: skip
        request_id = int(request.id)
    _on_timeline(workspace, account_id, requested_by, on, f"Reference requested: {purpose}")
    return request_id


def _on_timeline(
    workspace: Workspace, account_id: str, author: str | None, on: date, subject: str
) -> None:
    at = datetime.combine(on, time(12), UTC)
    add_note(workspace, account_id, author, "", [TAG], "note", at, subject=subject[:255])


def record_use(
    workspace: Workspace,
    account_id: str,
    *,
    kind: str,
    on: date,
    request_id: int | None = None,
) -> int:
    """Record a use (a call, a case study, a site visit…), refused past the fatigue
    limit; a request it fulfils becomes ``used``. The use's id."""
    with transaction(workspace.engine) as session:
        _check_available(session, account_id, on)
        if request_id is not None:
            request = session.get(ReferenceRequest, request_id)
            if request is None or request.account_id != account_id:
                raise NotFoundError(f"no reference request {request_id} for {account_id!r}")
            _check_open(request, on)
            request.status, request.answered_on = "given", on
        use = ReferenceUse(account_id=account_id, request_id=request_id, used_on=on, kind=kind)
        session.add(use)
        session.flush()
        record_audit(
            session, action="reference.use", target=f"reference use {use.id}",
            account_id=account_id,
            after={"kind": kind, "used_on": on.isoformat(), "request_id": request_id},
        )  # fmt: skip
        return int(use.id)


def _check_open(request: ReferenceRequest, on: date) -> None:
    if request.status != "requested":
        raise InputError(f"reference request {request.id} is already {request.status}")
    if on < request.requested_on:
        raise InputError(
            f"reference request {request.id} was made on {request.requested_on.isoformat()}, "
            f"it cannot be answered on {on.isoformat()}"
        )


def record_outcome(
    workspace: Workspace,
    request_id: int,
    outcome: str,
    *,
    on: date,
    kind: str = "call",
    actor: str | None = None,
) -> dict[str, Any]:
    """The customer gave (a use of ``kind`` is recorded, under the fatigue limit) or
    declined reference request ``request_id`` on ``on``; the request as it is now."""
    if outcome not in OUTCOMES:
        raise InputError(f"unknown outcome {outcome!r}", hint=", ".join(OUTCOMES))
    with Session(workspace.engine) as session:
        request = session.get(ReferenceRequest, request_id)
        if request is None:
            raise NotFoundError(f"no reference request {request_id}")
        account_id, purpose = request.account_id, request.purpose
    if outcome == "given":
        record_use(workspace, account_id, kind=kind, on=on, request_id=request_id)
    else:
        with transaction(workspace.engine) as session:
            request = session.get(ReferenceRequest, request_id, with_for_update=True)
            if request is None:  # deleted with its account meanwhile
                raise NotFoundError(f"no reference request {request_id}")
            _check_open(request, on)
            request.status, request.answered_on = "declined", on
            record_audit(
                session, action="reference.declined", target=f"reference request {request_id}",
                account_id=account_id, before={"status": "requested"},
                after={"status": "declined", "answered_on": on.isoformat()},
            )  # fmt: skip
    _on_timeline(workspace, account_id, actor, on, f"Reference {outcome}: {purpose}")
    return reference_requests(workspace, account_id=account_id, request_id=request_id)[0]


def reference_requests(
    workspace: Workspace, *, account_id: str | None = None, request_id: int | None = None
) -> list[dict[str, Any]]:
    """Reference requests (of one account, or one request), latest first."""
    query = sa.select(ReferenceRequest).order_by(
        ReferenceRequest.requested_on.desc(), ReferenceRequest.id.desc()
    )
    if account_id is not None:
        query = query.where(ReferenceRequest.account_id == account_id)
    if request_id is not None:
        query = query.where(ReferenceRequest.id == request_id)
    with Session(workspace.engine) as session:
        return [
            {"request_id": r.id, "account_id": r.account_id, "purpose": r.purpose,
             "requested_by": r.requested_by, "requested_on": r.requested_on,
             "status": r.status, "answered_on": r.answered_on}
            for r in session.execute(query).scalars()
        ]  # fmt: skip


def window_days(workspace: Workspace) -> int:
    """Days without a reference after which a referencing customer has stopped."""
    return int(workspace.setting("reference_window_days"))


def stopped_signals(
    workspace: Workspace, on: date, window: int | None = None
) -> dict[str, float | None]:
    """Per account with any reference given or declined: :data:`STOPPED_MEASURE` on
    ``on`` (1.0 stopped, 0.0 still giving, None never gave), two queries in all."""
    window = window_days(workspace) if window is None else window
    given: dict[str, list[date]] = {}
    declined: dict[str, list[date]] = {}
    with Session(workspace.engine) as session:
        for account_id, day in session.execute(
            sa.select(ReferenceUse.account_id, ReferenceUse.used_on)
        ):
            given.setdefault(account_id, []).append(day)
        for account_id, answered in session.execute(
            sa.select(ReferenceRequest.account_id, ReferenceRequest.answered_on).where(
                ReferenceRequest.status == "declined"
            )
        ):
            if answered is not None:
                declined.setdefault(account_id, []).append(answered)
    return {
        account: stopped_giving(given.get(account, []), declined.get(account, []), on, window)
        for account in sorted({*given, *declined})
    }


def push_stopped_measure(workspace: Workspace, on: date) -> int:
    """Store :data:`STOPPED_MEASURE` as an external health measure measured on ``on``
    (declare it under ``measures: external:`` in health.yaml to score it); the rows."""
    return health_service.record_measure(
        workspace, STOPPED_MEASURE, stopped_signals(workspace, on), on, complete=True
    )


def account_references(workspace: Workspace, account_id: str, on: date) -> dict[str, Any]:
    """One account's reference requests, uses and whether it stopped giving."""
    with Session(workspace.engine) as session:
        _account(session, account_id)
        profile = session.get(ReferenceProfile, account_id)
        uses = session.execute(
            sa.select(ReferenceUse).where(ReferenceUse.account_id == account_id)
            .order_by(ReferenceUse.used_on.desc(), ReferenceUse.id.desc())
        ).scalars()  # fmt: skip
        used = [{"use_id": u.id, "used_on": u.used_on, "kind": u.kind,
                 "request_id": u.request_id} for u in uses]  # fmt: skip
    return {
        "account_id": account_id,
        "referenceable": bool(profile is not None and profile.referenceable),
        "stopped": stopped_signals(workspace, on).get(account_id),
        "window_days": window_days(workspace),
        "requests": reference_requests(workspace, account_id=account_id),
        "uses": used,
    }


def list_references(workspace: Workspace, on: date) -> list[dict[str, Any]]:
    """Referenceable accounts with their uses in the window, limit and next free day."""
    with Session(workspace.engine) as session:
        profiles = session.execute(
            sa.select(ReferenceProfile)
            .where(ReferenceProfile.referenceable.is_(True))
            .order_by(ReferenceProfile.account_id)
        ).scalars()
        rows = []
        for p in profiles:
            uses, limit = _uses(session, p.account_id), p.max_uses or FATIGUE_LIMIT
            rows.append(
                {
                    "account_id": p.account_id,
                    "since": p.since,
                    "limit": limit,
                    "uses_in_window": uses_in_window(uses, on),
                    "available_on": next_available(uses, on, limit),
                    "notes": p.notes,
                }
            )
        return rows


def tracker(workspace: Workspace, on: date) -> dict[str, Any]:
    """The 100/100/100 tracker of the first :data:`FIRST_CUSTOMERS` customers (see the
    module docstring for the three shares)."""
    lines = contract_service.read_table(workspace, "subscriptions").to_pylist()
    first_start: dict[str, date] = {}
    for line in lines:
        if line["mrr"] and line["mrr"] > 0 and line["starts_on"] <= on:
            account = line["account_id"]
            first_start[account] = min(first_start.get(account, date.max), line["starts_on"])
    first = sorted(first_start, key=lambda a: (first_start[a], a))[:FIRST_CUSTOMERS]
    retained = {
        line["account_id"] for line in lines
        if line["mrr"] and line["mrr"] > 0 and line["starts_on"] <= on
        and (line["ends_on"] is None or line["ends_on"] > on)
    }  # fmt: skip
    with Session(workspace.engine) as session:
        flagged = set(session.execute(
            sa.select(ReferenceProfile.account_id).where(ReferenceProfile.referenceable.is_(True))
        ).scalars())  # fmt: skip
    up, renewed = _renewals(workspace, set(first), min(first_start.values(), default=on), on)
    count = len(first)
    return {
        "as_of": on, "customers": count,
        "referenceable": len(flagged & set(first)), "retained": len(retained & set(first)),
        "up_for_renewal": up, "renewed": renewed,
        "referenceable_share": len(flagged & set(first)) / count if count else None,
        "retained_share": len(retained & set(first)) / count if count else None,
        "renewal_rate": renewed / up if up else None,
    }  # fmt: skip


def _renewals(workspace: Workspace, accounts: set[str], start: date, on: date) -> tuple[int, int]:
    end = on - timedelta(days=RENEWAL_GRACE_DAYS)
    if end < start:
        return 0, 0
    outcomes: dict[str, bool] = {}
    for row in revenue_service.past_renewals(workspace, start, end):
        if row["account_id"] in accounts:
            kept = row["outcome"] != "churned"
            outcomes[row["account_id"]] = outcomes.get(row["account_id"], False) or kept
    return len(outcomes), sum(outcomes.values())
