"""Tech-touch emails: one template to the contacts of a role, once per campaign and
contact, never to an unsubscribed address, at most once per contact per cap window."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.contract.service import account_contacts, accounts_contacts
from keepwell.core.settings import Settings
from keepwell.notify import outbox
from keepwell.notify.models import Channel, Unsubscribe
from keepwell.notify.templating import render_tech_touch
from keepwell.notify.tokens import unsubscribe_url

CATEGORY = "tech_touch"


def is_unsubscribed(session: Session, email: str) -> bool:
    """Whether ``email`` asked for no more tech-touch emails."""
    return session.get(Unsubscribe, email.strip().lower()) is not None


def _lock_contact(session: Session, email: str) -> None:
    """Serialise tech-touch decisions per address until the transaction ends
    (PostgreSQL; SQLite has one writer at a time)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(email))))


def tech_touch_key(campaign: str, contact_id: str) -> str:
    """The dedupe key of one campaign's email to one contact."""
    return f"{CATEGORY}:{campaign}:{contact_id}"


def send_tech_touch(
    session: Session,
    *,
    account_id: str,
    role: str,
    template: str,
    campaign: str,
    as_of: date,
    settings: Settings | None = None,
    context: Mapping[str, Any] | None = None,
) -> int:
    """Queue ``template`` to every active contact of ``role`` at ``account_id`` with an
    email; the number queued. Skipped: unsubscribed addresses, contacts that already got
    this ``campaign``, and contacts touched in the ``tech_touch_cap_days`` days up to
    ``as_of`` (a touch on day d blocks days d .. d + cap - 1)."""
    settings = (settings or Settings()).check()  # it signs the unsubscribe links
    secret = settings.secret_key.get_secret_value()
    since = as_of - timedelta(days=settings.tech_touch_cap_days - 1)
    queued = 0
    for contact in account_contacts(session, account_id, role=role):
        email = str(contact["email"]).strip().lower()
        _lock_contact(session, email)
        if is_unsubscribed(session, email):
            continue
        if outbox.recently_touched(session, email, CATEGORY, since):
            continue
        link = unsubscribe_url(settings.base_url, email, secret)
        rendered = render_tech_touch(
            template,
            {**(context or {}), "account_name": contact["account_name"],
             "account_id": account_id, "contact_name": contact["name"], "contact_email": email,
             "role": role, "as_of": as_of, "unsubscribe_url": link},
        )  # fmt: skip
        queued += outbox.insert(
            session,
            {"channel": Channel.EMAIL.value, "target": email, "subject": rendered.subject,
             "body": rendered.body, "dedupe_key": tech_touch_key(campaign, contact["contact_id"]),
             "account_id": account_id, "category": CATEGORY, "as_of": as_of,
             "payload": {"unsubscribe_url": link, "campaign": campaign, "template": template,
                         "contact_id": contact["contact_id"]}},
        )  # fmt: skip
    return queued


@dataclass(frozen=True)
class TechTouch:
    """One tech-touch request for :func:`send_tech_touch_many`: ``template`` to the
    contacts of ``role`` at ``account_id`` for ``campaign``."""

    account_id: str
    role: str
    template: str
    campaign: str


#: Addresses looked up per query (unsubscribed, recently touched).
_LOOKUP_CHUNK = 500


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    return (values[i : i + _LOOKUP_CHUNK] for i in range(0, len(values), _LOOKUP_CHUNK))


def send_tech_touch_many(
    session: Session,
    requests: Sequence[TechTouch],
    *,
    as_of: date,
    settings: Settings | None = None,
) -> list[int]:
    """:func:`send_tech_touch` for many requests in a few queries, in the caller's
    transaction: the same emails as calling it for each request in order (an address
    touched by an earlier request is skipped by the later ones). The number queued
    per request."""
    settings = (settings or Settings()).check()
    secret = settings.secret_key.get_secret_value()
    since = as_of - timedelta(days=settings.tech_touch_cap_days - 1)
    contacts: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for role in sorted({r.role for r in requests}):
        ids = {r.account_id for r in requests if r.role == role}
        for account_id, found in accounts_contacts(session, ids, role=role).items():
            contacts[(account_id, role)] = found
    emails = sorted({str(c["email"]).strip().lower() for cs in contacts.values() for c in cs})
    if session.get_bind().dialect.name == "postgresql":
        for email in emails:  # in one order, so two batches cannot deadlock
            _lock_contact(session, email)
    blocked = _unsubscribed(session, emails) | _touched_since(session, emails, since)
    rows: list[dict[str, Any]] = []
    owner: list[int] = []
    for position, request in enumerate(requests):
        for contact in contacts.get((request.account_id, request.role), []):
            email = str(contact["email"]).strip().lower()
            if email in blocked:
                continue
            link = unsubscribe_url(settings.base_url, email, secret)
            rendered = render_tech_touch(
                request.template,
                {"account_name": contact["account_name"], "account_id": request.account_id,
                 "contact_name": contact["name"], "contact_email": email,
                 "role": request.role, "as_of": as_of, "unsubscribe_url": link},
            )  # fmt: skip
            rows.append(
                {"channel": Channel.EMAIL.value, "target": email, "subject": rendered.subject,
                 "body": rendered.body,
                 "dedupe_key": tech_touch_key(request.campaign, contact["contact_id"]),
                 "account_id": request.account_id, "category": CATEGORY, "as_of": as_of,
                 "payload": {"unsubscribe_url": link, "campaign": request.campaign,
                             "template": request.template,
                             "contact_id": contact["contact_id"]}}
            )  # fmt: skip
            owner.append(position)
            blocked.add(email)  # queued today: the cap window blocks its later requests
    queued = outbox.insert_many(session, rows)
    counts = [0] * len(requests)
    for row, position in zip(rows, owner, strict=True):
        if row["dedupe_key"] in queued:
            counts[position] += 1
    return counts


def _unsubscribed(session: Session, emails: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(emails):
        query = sa.select(Unsubscribe.email).where(Unsubscribe.email.in_(chunk))
        found.update(session.execute(query).scalars())
    return found


def _touched_since(session: Session, emails: Sequence[str], since: date) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(emails):
        found.update(outbox.touched_since(session, chunk, CATEGORY, since))
    return found
