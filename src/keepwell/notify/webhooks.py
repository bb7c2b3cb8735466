"""Outbound webhooks: a JSON document POSTed with an HMAC-SHA256 signature.

Body (UTF-8 JSON)::

    {"id": <dedupe key>, "notification_id": 12, "account_id": "0042",
     "subject": "...", "body": "...", "payload": {...}, "sent_at": "2026-...Z"}

Headers: ``X-Keepwell-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + raw
body under KEEPWELL_WEBHOOK_SECRET>`` (see :mod:`keepwell.notify.signing`) and
``X-Keepwell-Delivery: <dedupe key>`` (the same on every retry: receivers can drop
duplicates).
"""

from __future__ import annotations

import json
from datetime import datetime

from keepwell.core.settings import Settings
from keepwell.notify.errors import DeliveryError
from keepwell.notify.http import post_json
from keepwell.notify.outbox import Message
from keepwell.notify.signing import SIGNATURE_HEADER, signature_header

DELIVERY_HEADER = "X-Keepwell-Delivery"


def webhook_body(message: Message, now: datetime) -> bytes:
    """The JSON document of ``message`` (keys sorted, compact)."""
    document = {
        "id": message.dedupe_key,
        "notification_id": message.notification_id,
        "account_id": message.account_id,
        "subject": message.subject,
        "body": message.body,
        "payload": message.payload,
        "sent_at": now.isoformat(),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=str).encode()


def send_webhook(message: Message, settings: Settings, now: datetime) -> None:
    """POST the signed document to the target URL (or ``KEEPWELL_WEBHOOK_URL``)."""
    url = message.target or settings.webhook_url
    if not url:
        raise DeliveryError("no outbound webhook URL", hint="set KEEPWELL_WEBHOOK_URL")
    if settings.webhook_secret is None or not settings.webhook_secret.get_secret_value():
        raise DeliveryError(
            "outbound webhooks are signed and no secret is set",
            hint="set KEEPWELL_WEBHOOK_SECRET",
        )
    body = webhook_body(message, now)
    header = signature_header(
        settings.webhook_secret.get_secret_value(), int(now.timestamp()), body
    )
    headers = {SIGNATURE_HEADER: header, DELIVERY_HEADER: message.dedupe_key}
    post_json(url, body, headers=headers, timeout=settings.http_timeout)
