"""Tech-touch emails: one template to the contacts of a role, once per campaign and
contact, never to an unsubscribed address, at most once per contact per cap window."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.contract.service import account_contacts
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
