"""Unsubscribe links: the email address signed with the server's secret key."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

from keepwell.core.errors import InputError

_SALT = "keepwell.notify.unsubscribe"


def unsubscribe_token(email: str, secret: str) -> str:
    """A URL-safe token naming ``email`` (lower-cased), signed with ``secret``; it does
    not expire (an unsubscribe link must keep working)."""
    return str(URLSafeSerializer(secret, salt=_SALT).dumps({"e": email.strip().lower()}))


def read_unsubscribe_token(token: str, secret: str) -> str:
    """The email address of ``token``; :class:`InputError` if it is not one we signed."""
    try:
        data = URLSafeSerializer(secret, salt=_SALT).loads(token)
    except BadSignature as exc:
        raise InputError(
            "this unsubscribe link is not valid", hint="use the link of the email as sent"
        ) from exc
    email = data.get("e") if isinstance(data, dict) else None
    if not isinstance(email, str) or "@" not in email:
        raise InputError("this unsubscribe link is not valid")
    return email


def unsubscribe_url(base_url: str, email: str, secret: str) -> str:
    """``<base_url>/unsubscribe/<token>``."""
    return f"{base_url.rstrip('/')}/unsubscribe/{unsubscribe_token(email, secret)}"
