"""Signed public links (pure): a survey answer link names one send, a shared plan link
names one share and its nonce. Both are signed with the server's secret key under their
own salt, so one kind of link can never be read as the other; expiry and revocation are
kept in the store and checked by the service."""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from keepwell.voice.errors import LinkInvalidError

SURVEY_SALT = "keepwell.voice.survey"
SHARE_SALT = "keepwell.voice.share"


def sign(payload: dict[str, Any], secret: str, salt: str) -> str:
    """A URL-safe token carrying ``payload`` signed with ``secret`` under ``salt``."""
    return str(URLSafeSerializer(secret, salt=salt).dumps(payload))


def read(token: str, secret: str, salt: str) -> dict[str, Any]:
    """The payload of ``token``; :class:`LinkInvalidError` if we did not sign it."""
    try:
        data = URLSafeSerializer(secret, salt=salt).loads(token)
    except BadSignature as exc:
        raise LinkInvalidError("this link is not valid", hint="use the link as sent") from exc
    if not isinstance(data, dict):
        raise LinkInvalidError("this link is not valid")
    return data


def survey_token(send_id: int, secret: str) -> str:
    return sign({"s": send_id}, secret, SURVEY_SALT)


def read_survey_token(token: str, secret: str) -> int:
    """The send id of a survey link."""
    value = read(token, secret, SURVEY_SALT).get("s")
    if not isinstance(value, int):
        raise LinkInvalidError("this survey link is not valid")
    return value


def share_token(share_id: int, nonce: str, secret: str) -> str:
    return sign({"p": share_id, "n": nonce}, secret, SHARE_SALT)


def read_share_token(token: str, secret: str) -> tuple[int, str]:
    """The share id and nonce of a shared plan link."""
    data = read(token, secret, SHARE_SALT)
    share, nonce = data.get("p"), data.get("n")
    if not isinstance(share, int) or not isinstance(nonce, str):
        raise LinkInvalidError("this plan link is not valid")
    return share, nonce
