"""Shared plan links in the store: issue one to a person of the customer, revoke it,
and open it (a link whose signature, share or nonce does not match is refused as not
ours; one past its expiry or revoked is gone)."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.core.audit import record_audit
from keepwell.core.database import transaction
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.workspace import Workspace
from keepwell.voice import links
from keepwell.voice.errors import LinkGoneError, LinkInvalidError
from keepwell.voice.models import PlanShare

#: Longest a shared plan link may live.
MAX_DAYS = 366


def create_share(
    workspace: Workspace,
    *,
    plan_id: int,
    account_id: str,
    shared_with: str,
    email: str | None,
    days: int,
    now: datetime,
    actor: str | None,
) -> tuple[int, str]:
    """A new link to plan ``plan_id`` for ``shared_with`` valid ``days`` days; its id
    and nonce."""
    name = " ".join(shared_with.split())
    if not name or len(name) > 200:
        raise InputError("name the person the plan is shared with (1-200 characters)")
    if not 1 <= days <= MAX_DAYS:
        raise InputError(f"a shared link lives 1-{MAX_DAYS} days, got {days}")
    nonce = secrets.token_urlsafe(24)
    with transaction(workspace.engine) as session:
        share = PlanShare(plan_id=plan_id, account_id=account_id, shared_with=name,
                          email=(email or "").strip().lower() or None, nonce=nonce,
                          created_at=now, expires_at=now + timedelta(days=days),
                          created_by=actor)  # fmt: skip
        session.add(share)
        session.flush()
        after = {"shared_with": name, "expires_at": share.expires_at.isoformat()}
        record_audit(session, action="plan.share", target=f"plan {plan_id} share {share.id}",
                     account_id=account_id, actor=actor, after=after)  # fmt: skip
        return int(share.id), nonce


def revoke_share(
    workspace: Workspace, share_id: int, now: datetime, *, scope_accounts: set[str] | None
) -> dict[str, Any]:
    """Revoke link ``share_id`` (idempotent: the first revocation is kept)."""
    with transaction(workspace.engine) as session:
        share = session.get(PlanShare, share_id)
        if share is None or (scope_accounts is not None and share.account_id not in scope_accounts):
            raise NotFoundError(f"no shared plan link {share_id}")
        if share.revoked_at is None:
            share.revoked_at = now
            record_audit(session, action="plan.share.revoke", target=f"share {share_id}",
                         account_id=share.account_id)  # fmt: skip
        return describe(share, now)


def describe(share: PlanShare, now: datetime) -> dict[str, Any]:
    state = "revoked" if share.revoked_at else "expired" if now >= share.expires_at else "active"
    return {"share_id": share.id, "plan_id": share.plan_id, "account_id": share.account_id,
            "shared_with": share.shared_with, "email": share.email,
            "created_at": share.created_at, "expires_at": share.expires_at,
            "revoked_at": share.revoked_at, "state": state}  # fmt: skip


def list_shares(workspace: Workspace, account_id: str, now: datetime) -> list[dict[str, Any]]:
    query = sa.select(PlanShare).where(PlanShare.account_id == account_id).order_by(PlanShare.id)
    with Session(workspace.engine) as session:
        return [describe(s, now) for s in session.execute(query).scalars()]


def open_share(workspace: Workspace, token: str, secret: str, now: datetime) -> dict[str, Any]:
    """The share of link ``token``: :class:`LinkInvalidError` when it is not a link we
    issued, :class:`LinkGoneError` when it expired or was revoked."""
    share_id, nonce = links.read_share_token(token, secret)
    with Session(workspace.engine) as session:
        share = session.get(PlanShare, share_id)
        if share is None or not hmac.compare_digest(share.nonce, nonce):
            raise LinkInvalidError("this plan link is not valid")
        if share.revoked_at is not None:
            raise LinkGoneError(
                "this plan link was withdrawn", hint="ask your contact for a new one"
            )
        if now >= share.expires_at:
            raise LinkGoneError("this plan link has expired", hint="ask your contact for a new one")
        return describe(share, now)
