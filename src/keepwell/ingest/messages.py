"""Segment HTTP Tracking API messages: size limits, parsing and validation (pure logic).

Every problem is an :class:`InputError` naming where it is (``batch[3].event``) so the
sender's 400 says what to fix.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson

from keepwell.core.errors import InputError
from keepwell.ingest.errors import PayloadTooLargeError

#: Segment's limits: a batch request up to 500 KB, one message up to 32 KB.
MAX_BATCH_BYTES = 500 * 1024
MAX_MESSAGE_BYTES = 32 * 1024
MAX_ID_LENGTH = 255


class MessageType(StrEnum):
    IDENTIFY = "identify"
    GROUP = "group"
    TRACK = "track"
    PAGE = "page"
    SCREEN = "screen"
    ALIAS = "alias"


#: Types that become events in the analytics store.
EVENT_TYPES = frozenset({MessageType.TRACK, MessageType.PAGE, MessageType.SCREEN})


@dataclass(frozen=True)
class Message:
    """One validated message; ``timestamp`` is naive UTC; ``user_id`` is the userId or,
    failing that, the anonymousId; ``group_id`` the account named by a group call or by
    ``context.groupId``."""

    type: MessageType
    message_id: str
    user_id: str
    timestamp: datetime
    event: str | None = None
    group_id: str | None = None
    traits: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)


def _text(raw: dict[str, Any], key: str, where: str, *, required: bool) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        if required:
            raise InputError(f"{where}.{key} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputError(f"{where}.{key} must be a string, not {type(value).__name__}")
    text = str(value)
    if len(text) > MAX_ID_LENGTH:
        raise InputError(f"{where}.{key} is longer than {MAX_ID_LENGTH} characters")
    return text


def _object(raw: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(f"{where}.{key} must be an object")
    return value


def _timestamp(raw: dict[str, Any], where: str, received_at: datetime) -> datetime:
    for key in ("timestamp", "originalTimestamp"):
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise InputError(f"{where}.{key} must be an ISO 8601 string")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise InputError(f"{where}.{key} {value[:40]!r} is not an ISO 8601 time") from None
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        return parsed
    return received_at.astimezone(UTC).replace(tzinfo=None)


def _message_id(raw: dict[str, Any], where: str) -> str:
    """The given ``messageId`` or, failing that, a hash of the whole message."""
    given = _text(raw, "messageId", where, required=False)
    if given is not None:
        return given
    canonical = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)
    return "kw-" + hashlib.sha256(canonical).hexdigest()[:40]


def _event_name(kind: MessageType, raw: dict[str, Any], where: str) -> str | None:
    if kind is MessageType.TRACK:
        value = raw.get("event")
        if value.__class__ is str and 0 < len(value) <= MAX_ID_LENGTH:
            return value
        return _text(raw, "event", where, required=True)
    if kind in EVENT_TYPES:
        return kind.value
    return None


_new = object.__new__
#: Message types by their wire name (a dict lookup is cheaper than ``MessageType(...)``).
_KINDS: dict[str, MessageType] = {t.value: t for t in MessageType}


def _kind(raw: dict[str, Any], where: str) -> MessageType:
    value = raw.get("type", "")
    kind = _KINDS.get(value) if value.__class__ is str else None
    if kind is None:
        raise InputError(
            f"{where}.type {str(raw.get('type'))[:40]!r} is not one of "
            f"{', '.join(t.value for t in MessageType)}"
        )
    return kind


def _id(raw: dict[str, Any], key: str, where: str) -> str | None:
    """``_text(required=False)`` with a fast path for the usual short string."""
    value = raw.get(key)
    if value.__class__ is str and 0 < len(value) <= MAX_ID_LENGTH:
        return value
    return _text(raw, key, where, required=False)


def _context_group(context: dict[str, Any], where: str) -> str | None:
    value = context.get("groupId")
    if value.__class__ is str and 0 < len(value) <= MAX_ID_LENGTH:
        return value
    return _text(context, "groupId", f"{where}.context", required=False)


def _cached_timestamp(
    raw: dict[str, Any], where: str, received_at: datetime, times: dict[str, datetime]
) -> datetime:
    """``_timestamp`` remembering each ``timestamp`` string already parsed (SDKs send
    many messages of a batch with the same one)."""
    value = raw.get("timestamp")
    if value.__class__ is not str:
        return _timestamp(raw, where, received_at)
    parsed = times.get(value)
    if parsed is None:
        parsed = times[value] = _timestamp(raw, where, received_at)
    return parsed


def parse_message(
    raw: Any,
    where: str,
    received_at: datetime,
    kind: MessageType | None = None,
    *,
    times: dict[str, datetime] | None = None,
) -> Message:
    """Validate one message (``kind`` forced by the endpoint, else its ``type``);
    ``times`` caches parsed timestamps across the messages of one request."""
    if not isinstance(raw, dict):
        raise InputError(f"{where} must be a JSON object")
    if kind is None:
        kind = _kind(raw, where)
    user = _id(raw, "userId", where) or _id(raw, "anonymousId", where)
    if user is None:
        raise InputError(f"{where}: userId or anonymousId is required")
    context = _object(raw, "context", where)
    if kind is MessageType.GROUP:
        group = _text(raw, "groupId", where, required=True)
    else:
        group = _id(raw, "groupId", where) or _context_group(context, where)
    message_id = _id(raw, "messageId", where) or _message_id(raw, where)
    if times is None:
        timestamp = _timestamp(raw, where, received_at)
    else:
        timestamp = _cached_timestamp(raw, where, received_at, times)
    message: Message = _new(Message)
    # The frozen dataclass's __init__ sets each field through object.__setattr__, a
    # tenth of the parse time; filling the instance's __dict__ at once is equivalent.
    message.__dict__.update(
        type=kind,
        message_id=message_id,
        user_id=user,
        timestamp=timestamp,
        event=_event_name(kind, raw, where),
        group_id=group,
        traits=_object(raw, "traits", where),
        properties=_properties(kind, raw, where),
    )
    return message


def _properties(kind: MessageType, raw: dict[str, Any], where: str) -> dict[str, Any]:
    properties = _object(raw, "properties", where)
    if kind is MessageType.TRACK:
        return properties  # the request's own dict: nothing else holds it
    return {**properties, **_page_name(kind, raw)}


def _page_name(kind: MessageType, raw: dict[str, Any]) -> dict[str, Any]:
    if kind in (MessageType.PAGE, MessageType.SCREEN) and isinstance(raw.get("name"), str):
        return {"name": raw["name"]}
    return {}


def _json(body: bytes, limit: int, what: str) -> Any:
    if len(body) > limit:
        raise PayloadTooLargeError(f"{what} is {len(body)} bytes; the limit is {limit}")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{what} is not valid JSON: {exc}") from None


def parse_single(body: bytes, kind: MessageType, received_at: datetime) -> Message:
    """The body of ``POST /v1/{kind}``."""
    return parse_message(_json(body, MAX_MESSAGE_BYTES, "the message"), "body", received_at, kind)


def parse_batch(body: bytes, received_at: datetime) -> list[Message]:
    """The body of ``POST /v1/batch``: ``{"batch": [message, ...]}``."""
    payload = _json(body, MAX_BATCH_BYTES, "the batch")
    if not isinstance(payload, dict) or not isinstance(payload.get("batch"), list):
        raise InputError('the body must be an object with a "batch" array')
    messages = []
    small = len(body) <= MAX_MESSAGE_BYTES  # then no message can be over the limit
    times: dict[str, datetime] = {}
    for i, raw in enumerate(payload["batch"]):
        where = f"batch[{i}]"
        size = 0 if small else len(orjson.dumps(raw))
        if size > MAX_MESSAGE_BYTES:
            raise PayloadTooLargeError(
                f"{where} is {size} bytes; the limit is {MAX_MESSAGE_BYTES} per message"
            )
        messages.append(parse_message(raw, where, received_at, times=times))
    return messages
