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
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.contract import service as contract_service
from keepwell.core.audit import changed, record_audit
from keepwell.core.database import transaction
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.workspace import Workspace
from keepwell.revenue import service as revenue_service
from keepwell.success.models import ReferenceProfile, ReferenceRequest, ReferenceUse

FATIGUE_LIMIT = 2
FATIGUE_WINDOW_DAYS = 90
FIRST_CUSTOMERS = 100
RENEWAL_GRACE_DAYS = 30


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
        return int(request.id)


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
            request.status = "used"
        use = ReferenceUse(account_id=account_id, request_id=request_id, used_on=on, kind=kind)
        session.add(use)
        session.flush()
        record_audit(
            session, action="reference.use", target=f"reference use {use.id}",
            account_id=account_id,
            after={"kind": kind, "used_on": on.isoformat(), "request_id": request_id},
        )  # fmt: skip
        return int(use.id)


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
