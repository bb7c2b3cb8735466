"""The direct serialisation of an email (:func:`email_bytes`) puts on the wire exactly
the bytes ``smtplib`` would send for the ``EmailMessage`` of :func:`build_email`, and
leaves to the email package every email it cannot write byte for byte."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from email.generator import BytesGenerator

import pytest

from keepwell.core.settings import Settings
from keepwell.notify.email import build_email, email_bytes
from keepwell.notify.outbox import Message

NOW = datetime(2026, 3, 31, 9, 15, tzinfo=UTC)
LINK = "https://cs.example.com/unsubscribe?token=" + "a1B2" * 40


def _message(subject: str, body: str, target: str = "jane.doe+cs@c07.acme.example") -> Message:
    return Message(7, "tech_touch:renewal-2026:CON-00042-07", "email", target, subject, body,
                   {"unsubscribe_url": LINK}, "ACC-00042-07", 0, "token")  # fmt: skip


def _as_smtplib_sends(message: Message, settings: Settings) -> bytes:
    out = io.BytesIO()  # what smtplib.SMTP.send_message writes
    BytesGenerator(out).flatten(build_email(message, settings, NOW), linesep="\r\n")
    return out.getvalue()


BODIES = [
    "Hello Jane,\n\nYour renewal is on 2026-06-30.\n",
    "",
    "no final newline",
    "crlf\r\nlines\rand cr\n\n\n",
    ".a leading dot\n..two\nFrom the team\nFrom: not mbox\n",
    "x" * 998,
    "\ttabs\tinside  and  double  spaces \n",
]
SUBJECTS = ["Your renewal, Acme Corp #07", 'Re: [urgent] "quoted" a:b; c', "(parens) <angles>"]


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("sender", ["keepwell@localhost", "Keepwell CS <cs@acme.example>"])
def test_the_direct_bytes_are_the_email_packages(body: str, subject: str, sender: str) -> None:
    settings = Settings(smtp_from=sender)
    message = _message(subject, body)
    direct = email_bytes(message, settings, NOW)
    assert direct is not None
    assert direct == _as_smtplib_sends(message, settings)


@pytest.mark.parametrize(
    ("subject", "body", "target"),
    [
        ("Ünïcode subject", "body\n", "a@b.example"),
        ("subject", "body with é\n", "a@b.example"),
        ("subject", "x" * 999, "a@b.example"),
        ("=?utf-8?q?encoded?=", "body\n", "a@b.example"),
        ("S" * 990, "body\n", "a@b.example"),
        ("subject", "body\n", "Jane <a@b.example>"),
    ],
)
def test_anything_else_is_left_to_the_email_package(subject: str, body: str, target: str) -> None:
    assert email_bytes(_message(subject, body, target), Settings(), NOW) is None
