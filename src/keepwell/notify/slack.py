"""Slack incoming webhooks: ``{"text": ...}`` POSTed to the webhook URL."""

from __future__ import annotations

import json
from datetime import datetime

from keepwell.core.settings import Settings
from keepwell.notify.errors import DeliveryError
from keepwell.notify.http import post_json
from keepwell.notify.outbox import Message


def slack_text(subject: str, body: str) -> str:
    """Slack ``mrkdwn`` text: the subject in bold, then the body; ``&``, ``<`` and ``>``
    escaped as Slack requires."""

    def escape(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    head = f"*{escape(subject)}*" if subject else ""
    return "\n".join(part for part in (head, escape(body)) if part)


def send_slack(message: Message, settings: Settings, now: datetime) -> None:
    """POST the message to its target URL (or ``KEEPWELL_SLACK_WEBHOOK_URL`` when the
    target is empty)."""
    url = message.target or settings.slack_webhook_url
    if not url:
        raise DeliveryError(
            "no Slack webhook URL", hint="set KEEPWELL_SLACK_WEBHOOK_URL or give a target"
        )
    body = json.dumps({"text": slack_text(message.subject, message.body)}).encode("utf-8")
    post_json(url, body, headers={}, timeout=settings.http_timeout)
