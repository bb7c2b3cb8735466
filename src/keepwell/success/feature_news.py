"""What a change of a feature request tells the world, in the caller's transaction:
the asking customers' contacts when it ships (one email each through the notification
outbox, ever: the dedupe key names the request and the address) and, when an outbound
webhook URL is configured, the request as an issue-tracker document
(:mod:`keepwell.success.tracker_issue`), one delivery per change (its version)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.contract import service as contract_service
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace
from keepwell.notify import service as notify_service
from keepwell.success.models import FeatureAsk, FeatureRequest
from keepwell.success.tracker_issue import tracker_issue


def tell_customers(workspace: Workspace, session: Session, request: FeatureRequest) -> int:
    """Queue the shipped email to each ask's contact (the account's active contacts
    with an email when the ask names none); returns how many were new."""
    asks = session.execute(
        sa.select(FeatureAsk.account_id, FeatureAsk.contact_id, FeatureAsk.quote).where(
            FeatureAsk.request_id == request.request_id
        )
    ).all()
    contacts = _active_contacts(workspace, {a for a, _c, _q in asks})
    queued = 0
    for account_id, contact_id, quote in asks:
        people = contacts.get(account_id, [])
        chosen = [c for c in people if c["contact_id"] == contact_id] if contact_id else people
        for person in chosen:
            email = str(person["email"]).strip().lower()
            queued += notify_service.enqueue(
                session, channel="email", target=email,
                subject=f"Shipped: {request.title}",
                body=_shipped_text(person.get("name"), request.title, quote),
                dedupe_key=f"feature-shipped:{request.request_id}:{email}"[:255],
                account_id=account_id,
                payload={"feature_request": request.request_id, "contact_id": person["contact_id"]},
            )  # fmt: skip
    return queued


def _shipped_text(name: str | None, title: str, quote: str | None) -> str:
    asked = f'You told us: "{quote.strip(chr(34))}"\n\n' if quote else ""
    return (
        f"Hello {name or 'there'},\n\nYou asked us for {title!r}. It has shipped.\n\n"
        f"{asked}Thank you for telling us what you need.\n"
    )


def _active_contacts(
    workspace: Workspace, accounts: Collection[str]
) -> dict[str, list[dict[str, Any]]]:
    result: dict[str, list[dict[str, Any]]] = {}
    for account in sorted(accounts):  # by the index: a request has few accounts
        for row in contract_service.read_table(
            workspace, "contacts", account_id=account
        ).to_pylist():
            if not row.get("email") or row.get("is_active") is False or row.get("left_on"):
                continue
            result.setdefault(account, []).append(row)
    return result


def webhook_on() -> bool:
    """Whether an outbound webhook URL is configured (``KEEPWELL_WEBHOOK_URL``)."""
    return bool(Settings().webhook_url)


def queue_webhook(session: Session, request: FeatureRequest, on: bool) -> None:
    """Queue ``request`` as an issue-tracker document when ``on``."""
    if not on:
        return
    session.flush()
    document = tracker_issue(request_fields(request), asks_of(session, request.request_id))
    notify_service.enqueue(
        session, channel="webhook", target="",
        subject=f"Feature request: {request.title}", body=document["body"],
        dedupe_key=f"feature:{request.request_id}:v{request.version}",
        payload={"issue": document},
    )  # fmt: skip


def request_fields(request: FeatureRequest) -> dict[str, Any]:
    """The request's own fields (JSON-ready but for dates)."""
    return {"request_id": request.request_id, "title": request.title, "status": request.status,
            "merged_into": request.merged_into, "created_at": request.created_at,
            "updated_at": request.updated_at, "shipped_at": request.shipped_at}  # fmt: skip


def asks_of(session: Session, request_id: int) -> list[dict[str, Any]]:
    """The asks of ``request_id``, oldest first."""
    query = sa.select(FeatureAsk).where(FeatureAsk.request_id == request_id)
    rows = session.execute(query.order_by(FeatureAsk.asked_at, FeatureAsk.ask_id)).scalars()
    return [
        {"ask_id": r.ask_id, "account_id": r.account_id, "contact_id": r.contact_id,
         "quote": r.quote, "arr": r.arr, "asked_at": r.asked_at, "author": r.author,
         "activity_id": r.activity_id}
        for r in rows
    ]  # fmt: skip
