"""Email over SMTP (optionally STARTTLS and login), with a one-click unsubscribe header."""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from keepwell.core.settings import Settings
from keepwell.notify.errors import DeliveryError
from keepwell.notify.outbox import Message

DEDUPE_HEADER = "X-Keepwell-Dedupe-Key"
#: RFC 5322 lines may be 998 characters. The default 78 makes the email package fold a
#: long unsubscribe URL (one word without spaces) into an RFC 2047 encoded word
#: (``=?utf-8?q?=3Chttp...``), which mail clients do not read as a URL: no one-click
#: unsubscribe. Words fitting 998 characters go out as they are.
POLICY = SMTP.clone(max_line_length=998)


def build_email(message: Message, settings: Settings, now: datetime) -> EmailMessage:
    """The email of ``message``: plain text; ``Message-ID`` derived from its dedupe key
    (a receiver can drop a copy); ``List-Unsubscribe`` when it carries an unsubscribe
    URL (``payload["unsubscribe_url"]``)."""
    email = EmailMessage(policy=POLICY)
    email["Subject"] = one_line(message.subject)
    email["From"] = settings.smtp_from
    email["To"] = message.target
    email["Date"] = format_datetime(now)
    digest = hashlib.sha256(message.dedupe_key.encode("utf-8")).hexdigest()[:32]
    domain = settings.smtp_from.rpartition("@")[2] or "keepwell"
    email["Message-ID"] = f"<{digest}@{domain}>"
    email[DEDUPE_HEADER] = message.dedupe_key
    unsubscribe = message.payload.get("unsubscribe_url")
    if isinstance(unsubscribe, str) and unsubscribe:
        email["List-Unsubscribe"] = f"<{unsubscribe}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(message.body)
    return email


def one_line(text: str) -> str:
    """``text`` with its line breaks and other control characters folded into single
    spaces: a header cannot hold a newline (the email package refuses it, and a subject
    built from an account name like "Acme\\nInc" would fail on every retry)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def send_email(message: Message, settings: Settings, now: datetime) -> None:
    """Send ``message`` to ``message.target`` through the configured SMTP server;
    :class:`DeliveryError` when the server cannot be reached or refuses it."""
    if "@" not in message.target:
        raise DeliveryError(f"{message.target!r} is not an email address")
    server = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                password = (
                    settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                )
                smtp.login(settings.smtp_user, password)
            smtp.send_message(build_email(message, settings, now))
    except smtplib.SMTPException as exc:
        raise DeliveryError(f"SMTP server {server} refused the email: {exc}") from exc
    except OSError as exc:
        raise DeliveryError(f"cannot reach the SMTP server {server}: {exc}") from exc
