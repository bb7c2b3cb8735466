"""Email over SMTP (optionally STARTTLS and login), with a one-click unsubscribe header."""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, getaddresses
from functools import lru_cache

from keepwell.core.settings import Settings
from keepwell.notify.errors import DeliveryError
from keepwell.notify.outbox import Message

DEDUPE_HEADER = "X-Keepwell-Dedupe-Key"
#: RFC 5322 lines may be 998 characters. The default 78 makes the email package fold a
#: long unsubscribe URL (one word without spaces) into an RFC 2047 encoded word
#: (``=?utf-8?q?=3Chttp...``), which mail clients do not read as a URL: no one-click
#: unsubscribe. Words fitting 998 characters go out as they are.
MAX_LINE = 998
POLICY = SMTP.clone(max_line_length=MAX_LINE)


def _headers(message: Message, settings: Settings, now: datetime) -> list[tuple[str, str]]:
    digest = hashlib.sha256(message.dedupe_key.encode("utf-8")).hexdigest()[:32]
    # the sender's domain (not the header's tail: "CS <cs@acme.example>" ends in ">")
    domain = envelope_sender(settings.smtp_from).rpartition("@")[2] or "keepwell"
    headers = [
        ("Subject", one_line(message.subject)),
        ("From", settings.smtp_from),
        ("To", message.target),
        ("Date", format_datetime(now)),
        ("Message-ID", f"<{digest}@{domain}>"),
        (DEDUPE_HEADER, message.dedupe_key),
    ]
    unsubscribe = message.payload.get("unsubscribe_url")
    if isinstance(unsubscribe, str) and unsubscribe:
        headers.append(("List-Unsubscribe", f"<{unsubscribe}>"))
        headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    return headers


def build_email(message: Message, settings: Settings, now: datetime) -> EmailMessage:
    """The email of ``message``: plain text; ``Message-ID`` derived from its dedupe key
    (a receiver can drop a copy); ``List-Unsubscribe`` when it carries an unsubscribe
    URL (``payload["unsubscribe_url"]``)."""
    email = EmailMessage(policy=POLICY)
    for name, value in _headers(message, settings, now):
        email[name] = value
    email.set_content(message.body)
    return email


#: Header values the email package writes exactly as given (printable ASCII without
#: an encoded word ``=?``); an address is a bare ``local@domain``.
_PLAIN = re.compile(r"[ -~]*")
_ADDRESS = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+")
_ADDRESS_HEADERS = frozenset({"To", "Message-ID"})
_MIME = (
    b'Content-Type: text/plain; charset="utf-8"\r\n'
    b"Content-Transfer-Encoding: 7bit\r\nMIME-Version: 1.0\r\n\r\n"
)


def email_bytes(message: Message, settings: Settings, now: datetime) -> bytes | None:
    """The bytes :func:`build_email` would put on the wire (as ``smtplib`` flattens it),
    built directly for the usual email (ASCII headers that need no folding or
    quoting, an ASCII body of lines within 998 characters); None for any other, which
    goes through the email package. Building and flattening an ``EmailMessage``
    parses every header and costs about 2 ms of CPU: most of delivering an email."""
    lines = []
    for name, value in _headers(message, settings, now):
        if name == "From":  # the same in every email: asked of the email package once
            if not _written_as_is(name, value):
                return None
            lines.append(f"{name}: {value}\r\n")
            continue
        checked = value[1:-1] if name == "Message-ID" and value[:1] + value[-1:] == "<>" else value
        pattern = _ADDRESS if name in _ADDRESS_HEADERS else _PLAIN
        if "=?" in value or len(name) + len(value) > 900 or not pattern.fullmatch(checked):
            return None
        if value != value.strip() or "  " in value:  # the email package would respace it
            return None
        lines.append(f"{name}: {value}\r\n")
    if not message.body.isascii():
        return None
    body = message.body.encode("ascii").splitlines() or [b""]
    if any(len(line) > MAX_LINE for line in body):
        return None
    # smtplib's generator escapes a line starting "From " (mbox style), as here
    text = b"".join((b">" + ln if ln.startswith(b"From ") else ln) + b"\r\n" for ln in body)
    return "".join(lines).encode("ascii") + _MIME + text


@lru_cache(maxsize=64)
def _written_as_is(name: str, value: str) -> bool:
    email = EmailMessage(policy=POLICY)
    email[name] = value
    return bytes(email).startswith(f"{name}: {value}\r\n".encode()) if value.isascii() else False


@lru_cache(maxsize=64)
def envelope_sender(header: str) -> str:
    """The envelope sender of a ``From`` header (its address), as ``smtplib`` takes it."""
    return getaddresses([header])[0][1]


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
