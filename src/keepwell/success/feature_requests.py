"""Feature requests as their own records: what customers ask for, who asked, in their
words, with the ARR behind it, and what became of it.

A request (:class:`~keepwell.success.models.FeatureRequest`) has a title and a status
(:class:`RequestStatus`); each customer asking is an ask (account, contact, quote, ARR
when asked). A new ask joins the live request whose title is similar
(:mod:`keepwell.success.request_titles`), else opens one. A person merges two requests
(the asks move, the merged one points to the other). Activities tagged
``feature_request`` (imported or noted) are taken as asks once each (:func:`sync_requests`).

Every change leaves an audit row (kind ``feedback``) and, when an outbound webhook URL
is configured, queues the request as an issue-tracker document
(:mod:`keepwell.success.tracker_issue`) through the notification outbox. When a request
ships, each asking customer's contact is emailed through the outbox exactly once (the
dedupe key names the request and the address, whatever happens to the status later).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from keepwell.contract import service as contract_service
from keepwell.core.audit import record_audit
from keepwell.core.database import transaction
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.memo import memo
from keepwell.core.workspace import Workspace
from keepwell.revenue import service as revenue_service
from keepwell.success.feature_news import (
    asks_of,
    queue_webhook,
    request_fields,
    tell_customers,
    webhook_on,
)
from keepwell.success.models import FeatureAsk, FeatureRequest
from keepwell.success.request_titles import best_match, normalize_request

log = logging.getLogger("keepwell.feedback")
FEATURE_REQUEST = "feature_request"
TITLE_LENGTH = 200


class RequestStatus(StrEnum):
    OPEN = "open"
    PLANNED = "planned"
    SHIPPED = "shipped"
    DECLINED = "declined"


@dataclass(frozen=True)
class Ask:
    """One customer asking, before it is stored."""

    account_id: str
    title: str
    asked_at: datetime
    contact_id: str | None = None
    quote: str = ""
    author: str | None = None
    activity_id: str | None = None


def _title(text: str) -> str:
    title = " ".join(text.split())
    if not normalize_request(title):
        raise InputError("a feature request needs a title", hint="give --title TEXT")
    if len(title) > TITLE_LENGTH:
        raise InputError(f"the title has {len(title)} characters; at most {TITLE_LENGTH}")
    return title


def _status(value: str) -> RequestStatus:
    try:
        return RequestStatus(value.strip().lower())
    except ValueError:
        known = ", ".join(s.value for s in RequestStatus)
        raise InputError(f"unknown status {value!r}", hint=f"one of {known}") from None


def account_arr(workspace: Workspace, as_of: date) -> dict[str, Decimal]:
    """ARR of each account paying on ``as_of`` (revenue's figure: 12 x the MRR of its
    lines active that day, base currency)."""
    # kept like the portfolio's figures (the server drops them after an import or a
    # cycle): the feedback board ranks by it on each visit; building it reads the book
    return memo(
        ("paying accounts' ARR", workspace.key, as_of), lambda: _account_arr(workspace, as_of)
    )


def _account_arr(workspace: Workspace, as_of: date) -> dict[str, Decimal]:
    paying = revenue_service.account_arr(workspace, as_of).items()
    return {account: Decimal(row["arr"]) for account, row in paying if row["arr"] > 0}


def check_asker(workspace: Workspace, account_id: str, contact_id: str | None) -> None:
    """:class:`NotFoundError` for an unknown account, :class:`InputError` for a contact
    that is not one of the account's."""
    contract_service.visible_account(workspace, account_id, scope=None)
    if not contact_id:
        return
    contacts = contract_service.read_table(workspace, "contacts", account_id=account_id)
    if contact_id not in contacts.column("contact_id").to_pylist():
        raise InputError(f"contact {contact_id!r} is not a contact of account {account_id!r}")


# ---- writes -------------------------------------------------------------------------


def record_ask(
    workspace: Workspace,
    account_id: str,
    title: str,
    *,
    as_of: date,
    asked_at: datetime,
    contact_id: str | None = None,
    quote: str = "",
    author: str | None = None,
    request_id: int | None = None,
    activity_id: str | None = None,
) -> dict[str, Any]:
    """Record that ``account_id`` asks for ``title`` (the account's ARR on ``as_of`` kept
    with it): joined to ``request_id`` when given (followed to the request it was merged
    into), else to the live request with a similar title, else a new request. Returns
    the request (:func:`show_request`)."""
    check_asker(workspace, account_id, contact_id)
    ask = Ask(account_id, _title(title), asked_at, contact_id or None, quote.strip(), author,
              activity_id)  # fmt: skip
    arr = account_arr(workspace, as_of).get(account_id)
    webhook = webhook_on()
    with transaction(workspace.engine) as session:
        target = _resolve(session, request_id) if request_id is not None else None
        request = _take(session, ask, arr, target, _live_titles(session), asked_at)
        record_audit(
            session, action="feedback.ask", target=f"feature:{request.request_id}",
            account_id=account_id,
            after={"title": ask.title, "request": request.request_id,
                   "contact_id": ask.contact_id, "quote": ask.quote,
                   "arr": None if arr is None else str(arr)},
        )  # fmt: skip
        queue_webhook(session, request, webhook)
        request_id = request.request_id
    return show_request(workspace, request_id)


def _take(
    session: Session,
    ask: Ask,
    arr: Decimal | None,
    target: FeatureRequest | None,
    live: list[tuple[int, str]],
    now: datetime,
) -> FeatureRequest:
    """Store ``ask`` under ``target`` or the similar live request or a new one (added
    to ``live``)."""
    if target is None:
        match = best_match(ask.title, live)
        target = session.get(FeatureRequest, match) if match is not None else None
    if target is None:
        target = FeatureRequest(
            title=ask.title, title_key=normalize_request(ask.title)[:TITLE_LENGTH],
            status=RequestStatus.OPEN.value, version=1, created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(target)
        session.flush()
        live.append((target.request_id, target.title))
    else:
        target.version += 1
        target.updated_at = max(target.updated_at, now)
    session.add(
        FeatureAsk(
            request_id=target.request_id, account_id=ask.account_id, contact_id=ask.contact_id,
            quote=ask.quote, arr=arr, asked_at=ask.asked_at, author=ask.author,
            activity_id=ask.activity_id,
        )
    )  # fmt: skip
    return target


def _live_titles(session: Session) -> list[tuple[int, str]]:
    query = sa.select(FeatureRequest.request_id, FeatureRequest.title).where(
        FeatureRequest.merged_into.is_(None)
    )
    return [(int(i), str(t)) for i, t in session.execute(query.order_by(FeatureRequest.request_id))]


def _resolve(session: Session, request_id: int) -> FeatureRequest:
    """The request ``request_id``, or the one it was merged into (followed)."""
    seen: set[int] = set()
    request = session.get(FeatureRequest, request_id, with_for_update=True)
    while (
        request is not None and request.merged_into is not None and request.request_id not in seen
    ):
        seen.add(request.request_id)
        request = session.get(FeatureRequest, request.merged_into, with_for_update=True)
    if request is None:
        raise NotFoundError(f"no feature request {request_id}", hint="see keepwell feedback list")
    return request


def sync_requests(workspace: Workspace, as_of: date) -> int:
    """Take every activity tagged ``feature_request`` not taken yet as an ask (title: its
    subject, else its body's first line; quote: its body; ARR on ``as_of``), oldest
    first, in one transaction with one audit row. Returns how many were taken."""
    taken = _taken_activities(workspace)
    asks = sorted(
        (a for a in _tagged_activities(workspace) if a.activity_id not in taken),
        key=lambda a: (a.asked_at, a.activity_id or ""),
    )
    if not asks:
        return 0
    arr = account_arr(workspace, as_of)
    webhook = webhook_on()
    with transaction(workspace.engine) as session:
        live = _live_titles(session)
        touched: dict[int, FeatureRequest] = {}
        for ask in asks:
            request = _take(session, ask, arr.get(ask.account_id), None, live, ask.asked_at)
            touched[request.request_id] = request
        record_audit(session, action="feedback.sync", target="activities",
                     details={"asks": len(asks), "requests": len(touched)})  # fmt: skip
        for request in touched.values():
            queue_webhook(session, request, webhook)
    return len(asks)


def _taken_activities(workspace: Workspace) -> set[str]:
    with Session(workspace.engine) as session:
        query = sa.select(FeatureAsk.activity_id).where(FeatureAsk.activity_id.is_not(None))
        return {str(a) for a in session.execute(query).scalars()}


def request_text(activity: Mapping[str, Any]) -> str:
    """The words of a request: the subject, else the first non-empty line of the body."""
    subject = (activity.get("subject") or "").strip()
    if subject:
        return subject
    lines = [line.strip() for line in (activity.get("body") or "").splitlines()]
    return next((line for line in lines if line), "")


def _tagged_activities(workspace: Workspace) -> Iterable[Ask]:
    for a in contract_service.tagged_activities(workspace, FEATURE_REQUEST):
        title = " ".join(request_text(a).split())[:TITLE_LENGTH]
        if not normalize_request(title):
            continue
        body = (a.get("body") or "").strip()
        quote = body if (a.get("subject") or "").strip() else "\n".join(body.splitlines()[1:])
        yield Ask(a["account_id"], title, a["occurred_at"], a.get("contact_id"),
                  quote.strip(), a.get("author"), a["activity_id"])  # fmt: skip


def merge_requests(
    workspace: Workspace, source_id: int, into_id: int, *, at: datetime
) -> dict[str, Any]:
    """Merge request ``source_id`` into ``into_id``: its asks move, it points to
    ``into_id`` from then on (and is closed in the tracker). Returns the merged request."""
    webhook = webhook_on()
    with transaction(workspace.engine) as session:
        source, into = _resolve(session, source_id), _resolve(session, into_id)
        if source.request_id == into.request_id:
            raise InputError(f"feature request {source_id} is already {into.request_id}",
                             hint="merge two different requests")  # fmt: skip
        result = session.execute(
            sa.update(FeatureAsk)
            .where(FeatureAsk.request_id == source.request_id)
            .values(request_id=into.request_id)
        )
        moved = int(getattr(result, "rowcount", 0) or 0)
        source.merged_into = into.request_id
        for request in (source, into):
            request.version += 1
            request.updated_at = at
        record_audit(
            session, action="feedback.merge", target=f"feature:{source.request_id}",
            before={"merged_into": None}, after={"merged_into": into.request_id},
            details={"title": source.title, "into_title": into.title, "asks_moved": moved},
        )  # fmt: skip
        queue_webhook(session, source, webhook)
        queue_webhook(session, into, webhook)
        merged = into.request_id
    return show_request(workspace, merged)


def set_status(
    workspace: Workspace, request_id: int, status: str, *, at: datetime
) -> dict[str, Any]:
    """Set the status of ``request_id`` (open, planned, shipped, declined). On shipped,
    the contacts of every asking customer are emailed once (the ask's contact, else the
    account's active contacts with an email). Returns the request."""
    new = _status(status)
    webhook = webhook_on()
    with transaction(workspace.engine) as session:
        request = _resolve(session, request_id)
        old = request.status
        if old != new.value:
            request.status = new.value
            request.version += 1
            request.updated_at = at
            if new is RequestStatus.SHIPPED and request.shipped_at is None:
                request.shipped_at = at
            record_audit(
                session, action="feedback.status", target=f"feature:{request.request_id}",
                before={"status": old}, after={"status": new.value},
                details={"title": request.title},
            )  # fmt: skip
            queue_webhook(session, request, webhook)
        if new is RequestStatus.SHIPPED:
            tell_customers(workspace, session, request)
        result = request.request_id
    return show_request(workspace, result)


# ---- reads --------------------------------------------------------------------------


def show_request(workspace: Workspace, request_id: int) -> dict[str, Any]:
    """One request with its asks (oldest first, each with the account's name)."""
    with Session(workspace.engine) as session:
        request = session.get(FeatureRequest, request_id)
        if request is None:
            raise NotFoundError(
                f"no feature request {request_id}", hint="see keepwell feedback list"
            )
        fields = request_fields(request)
        asks = asks_of(session, request_id)
        merged = list(
            session.execute(
                sa.select(FeatureRequest.request_id).where(FeatureRequest.merged_into == request_id)
            ).scalars()
        )
    names = contract_service.account_owners(workspace, [a["account_id"] for a in asks])
    for ask in asks:
        ask["account"] = names.get(ask["account_id"], {}).get("name")
    arr = sum((a["arr"] for a in asks if a["arr"] is not None), Decimal(0))
    return {**fields, "asks": asks, "merged": sorted(merged),
            "accounts": len({a["account_id"] for a in asks}), "arr_when_asked": arr}  # fmt: skip


def list_requests(
    workspace: Workspace,
    as_of: date,
    *,
    status: str | None = None,
    limit: int | None = None,
    scope: str | None = None,
) -> list[dict[str, Any]]:
    """Live requests (not merged away) with asks up to the end of ``as_of`` (activities
    tagged ``feature_request`` taken first, :func:`sync_requests`): request id, title,
    status, accounts (distinct), mentions (asks), ARR of those accounts on ``as_of`` (12
    x MRR, base currency; each account once), account ids, first and last ask; ranked
    by accounts, then ARR, then title. A CSM limited to a book (``scope``) sees the
    requests their accounts made, with only those accounts listed (``account_ids``)."""
    if limit is not None and limit < 1:
        raise InputError(f"--limit {limit} must be at least 1")
    wanted = _status(status).value if status else None
    try:
        sync_requests(workspace, as_of)
    except DBAPIError as exc:  # a store that takes no writes still lists what it holds
        log.warning("feature requests: cannot take new activities: %s", exc.orig)
    until = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC)
    query = (
        sa.select(FeatureRequest, FeatureAsk.account_id, FeatureAsk.asked_at)
        .join(FeatureAsk, FeatureAsk.request_id == FeatureRequest.request_id)
        .where(FeatureRequest.merged_into.is_(None), FeatureAsk.asked_at < until)
    )
    if wanted:
        query = query.where(FeatureRequest.status == wanted)
    groups: dict[int, dict[str, Any]] = {}
    with Session(workspace.engine) as session:
        for request, account_id, asked_at in session.execute(query):
            group = groups.setdefault(request.request_id, {
                "request_id": request.request_id, "request": request.title,
                "status": request.status, "accounts": set(), "mentions": 0,
                "first_at": asked_at, "last_at": asked_at,
            })  # fmt: skip
            group["accounts"].add(account_id)
            group["mentions"] += 1
            group["first_at"] = min(group["first_at"], asked_at)
            group["last_at"] = max(group["last_at"], asked_at)
    arr = account_arr(workspace, as_of) if groups else {}
    rows = []
    for group in groups.values():
        ids = sorted(group.pop("accounts"))
        value = sum((arr.get(a, Decimal(0)) for a in ids), Decimal(0))
        rows.append({**group, "accounts": len(ids), "arr": value, "account_ids": ids})
    rows.sort(key=lambda r: (-r["accounts"], -r["arr"], r["request"].casefold(), r["request_id"]))
    if scope is not None:
        owners = contract_service.account_owners(
            workspace, [a for r in rows for a in r["account_ids"]]
        )
        rows = [
            {**r, "account_ids": mine}
            for r in rows
            if (mine := [a for a in r["account_ids"] if owners.get(a, {}).get("owner") == scope])
        ]
    return rows[:limit] if limit is not None else rows
