"""HTTP face of ingestion: the Segment-compatible tracking API and the Stripe webhook.

Tracking calls authenticate with HTTP Basic, the source's write key as user name (what
every Segment and RudderStack SDK sends); the Stripe webhook with its signature. The
server's state (workspace, settings) comes as a typed dependency
(:data:`keepwell.web.deps.StateDep`); the event writer and write-key cache the server
keeps for this face are its :class:`Tracking` part.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import stripe
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPBasic
from pydantic import BaseModel, Field

from keepwell.auth.errors import AuthenticationError, PermissionDeniedError
from keepwell.auth.principal import Principal, Role
from keepwell.auth.service import hash_secret
from keepwell.core.errors import ConfigurationError, InputError
from keepwell.core.nul import nul_in_request
from keepwell.ingest import billing, service
from keepwell.ingest.errors import PayloadTooLargeError
from keepwell.ingest.keys import WriteKeyCache
from keepwell.ingest.messages import (
    MAX_BATCH_BYTES,
    MAX_ID_LENGTH,
    MAX_MESSAGE_BYTES,
    Message,
    MessageType,
    parse_batch,
    parse_single,
)
from keepwell.ingest.stripe_map import AccountRule
from keepwell.ingest.writer import EventWriter
from keepwell.web.deps import CurrentUser, StateDep
from keepwell.web.errors import error_responses
from keepwell.web.state import ServerState


@dataclass
class Tracking:
    """What the server keeps for the tracking API for its life (its part of
    :class:`keepwell.web.state.ServerState`): the one event writer and the cache of
    write keys checked in the last seconds (hash -> source name)."""

    writer: EventWriter
    sources: WriteKeyCache = field(default_factory=WriteKeyCache)


#: Declared for the OpenAPI schema: the write key is the Basic user name (checked below).
_basic = HTTPBasic(auto_error=False, description="The source's write key as user name.")
tracking = APIRouter(
    prefix="/v1",
    tags=["tracking"],
    dependencies=[Depends(_basic)],
    responses=error_responses(400, 401, 413, 503),
)
webhooks = APIRouter(tags=["webhooks"], responses=error_responses(400, 401, 413, 500))
#: Source management for admins (mounted behind the server's authentication).
sources = APIRouter(prefix="/api/v1/sources", tags=["sources"])


class TrackingAck(BaseModel):
    """Every message of the request is durable."""

    success: bool


class StripeReceipt(BaseModel):
    """The event was verified; ``outcome``: applied, duplicate (seen before), stale (an
    older state than the one stored) or ignored (a type Keepwell does not use)."""

    received: bool
    outcome: billing.Outcome


_OK = {"success": True}
_ID = {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH}
_PROPERTIES: dict[str, Any] = {
    "type": {"type": "string", "enum": [t.value for t in MessageType]},
    "userId": _ID,
    "anonymousId": _ID,
    "messageId": _ID,
    "event": _ID,
    "groupId": _ID,
    "timestamp": {"type": "string", "format": "date-time"},
    "context": {"type": "object"},
    "properties": {"type": "object"},
    "traits": {"type": "object"},
}
#: Every message names its person: ``userId`` or ``anonymousId`` (or both).
_WHO = [{"required": ["userId"]}, {"required": ["anonymousId"]}]


def _message_schema(kind: MessageType | None) -> dict[str, Any]:
    """The JSON schema of a message of ``kind`` (a single call's body), or of any type
    (an item of a batch, where ``type`` is required and says what else is)."""
    schema: dict[str, Any] = {"type": "object", "properties": _PROPERTIES, "anyOf": _WHO}
    if kind is None:
        schema["required"] = ["type"]
        schema["allOf"] = [
            {"if": {"properties": {"type": {"const": MessageType.TRACK.value}}},
             "then": {"required": ["event"]}},
            {"if": {"properties": {"type": {"const": MessageType.GROUP.value}}},
             "then": {"required": ["groupId"]}},
        ]  # fmt: skip
    elif kind is MessageType.TRACK:
        schema["required"] = ["event"]
    elif kind is MessageType.GROUP:
        schema["required"] = ["groupId"]
    return schema


def _body_doc(schema: dict[str, Any]) -> dict[str, Any]:
    content = {"application/json": {"schema": schema}}
    return {"requestBody": {"required": True, "content": content}}


#: Largest Stripe event body accepted, in bytes.
MAX_STRIPE_BYTES = 1024 * 1024


def _write_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    kind, _, value = header.partition(" ")
    if kind.lower() != "basic" or not value:
        raise AuthenticationError(
            "send the source's write key with HTTP Basic auth (write key as user name)"
        )
    try:
        user, _, _ = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationError("the Basic credentials are not valid base64") from None
    if not user:
        raise AuthenticationError("the write key (Basic auth user name) is empty")
    return user


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"the body is {declared} bytes; the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLargeError(f"the body is larger than the limit of {limit} bytes")
    if request.headers.get("content-encoding", "").lower() == "gzip":
        try:
            decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
            data = decoder.decompress(bytes(body), limit + 1)
        except (zlib.error, gzip.BadGzipFile) as exc:
            raise InputError(f"the gzip body cannot be decompressed: {exc}") from None
        if len(data) > limit or decoder.unconsumed_tail:
            raise PayloadTooLargeError(f"the decompressed body is larger than {limit} bytes")
        if nul_in_request("", b"", "application/json", data):
            raise InputError("the request's body contains a NUL character (U+0000)")
        return data
    return bytes(body)


async def _ingest(request: Request, state: ServerState, messages: list[Message]) -> dict[str, Any]:
    key = _write_key(request)
    tracking = state.part(Tracking)
    source = tracking.sources.get(hash_secret(key))
    if source is None:
        source = await run_in_threadpool(service.source_for_key, state.workspace, key)
        tracking.sources.put(hash_secret(key), source)
    await run_in_threadpool(
        lambda: service.ingest(
            state.workspace, messages, writer=tracking.writer, source=source,
            now=datetime.now(UTC), timeout=state.settings.ingest_wait_seconds,
        )
    )  # fmt: skip
    return _OK


_BATCH_DOC = _body_doc(
    {"type": "object", "required": ["batch"],
     "properties": {"batch": {"type": "array", "items": _message_schema(None)}}}
)  # fmt: skip


@tracking.post("/batch", openapi_extra=_BATCH_DOC, response_model=TrackingAck)
async def batch(request: Request, state: StateDep) -> dict[str, Any]:
    """Segment's batch call: ``{"batch": [identify|group|track|page|screen, ...]}``, up to
    500 KB per request and 32 KB per message. 200 once every event is durable."""
    _write_key(request)
    body = await _body(request, MAX_BATCH_BYTES)
    return await _ingest(request, state, parse_batch(body, datetime.now(UTC)))


@tracking.post("/import", openapi_extra=_BATCH_DOC, response_model=TrackingAck)
async def import_batch(request: Request, state: StateDep) -> dict[str, Any]:
    """Segment's import call: the same as ``/v1/batch``."""
    return await batch(request, state)


def _single(kind: MessageType) -> Any:
    async def call(request: Request, state: StateDep) -> dict[str, Any]:
        _write_key(request)
        body = await _body(request, MAX_MESSAGE_BYTES)
        return await _ingest(request, state, [parse_single(body, kind, datetime.now(UTC))])

    call.__name__ = kind.value
    call.__doc__ = f"Segment's {kind.value} call (one message, up to 32 KB)."
    return call


for _kind in MessageType:
    tracking.add_api_route(
        f"/{_kind.value}",
        _single(_kind),
        methods=["POST"],
        response_model=TrackingAck,
        openapi_extra=_body_doc(_message_schema(_kind)),
    )


@webhooks.post("/webhooks/stripe", response_model=StripeReceipt)
async def stripe_webhook(request: Request, state: StateDep) -> dict[str, Any]:
    """A Stripe event: the ``Stripe-Signature`` header is verified with the endpoint
    secret (``KEEPWELL_STRIPE_WEBHOOK_SECRET``) and a tolerance on its age; subscription
    and invoice events update lines and invoices once, newest state first."""
    secret = state.settings.stripe_webhook_secret
    if secret is None:
        raise ConfigurationError(
            "Stripe webhooks are not configured", hint="set KEEPWELL_STRIPE_WEBHOOK_SECRET"
        )
    payload = await _body(request, MAX_STRIPE_BYTES)
    header = request.headers.get("stripe-signature")
    if not header:
        raise AuthenticationError("the Stripe-Signature header is missing")
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), header, secret.get_secret_value(),
            state.settings.stripe_tolerance,
        )  # fmt: skip
        event = json.loads(payload)
    except stripe.SignatureVerificationError as exc:
        raise AuthenticationError(f"the Stripe signature is not valid: {exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError("the Stripe event is not JSON") from None
    _check_event(event)
    rule = AccountRule.parse(state.settings.stripe_account_rule)
    outcome = await run_in_threadpool(
        lambda: billing.apply_stripe_event(state.workspace, event, now=datetime.now(UTC), rule=rule)
    )
    return {"received": True, "outcome": outcome.value}


def _check_event(event: Any) -> None:
    ok = (
        isinstance(event, dict)
        and isinstance(event.get("id"), str)
        and isinstance(event.get("type"), str)
        and isinstance(event.get("created"), int)
        and isinstance(event.get("data"), dict)
        and isinstance(event["data"].get("object"), dict)
        and isinstance(event["data"]["object"].get("id"), str)
    )
    if not ok:
        raise InputError("the Stripe event lacks id, type, created or data.object.id")


class SourceCreate(BaseModel):
    """A new tracking source."""

    name: str = Field(min_length=1, max_length=255)


class SourceKey(BaseModel):
    """A source's write key, shown this once (only its hash is stored)."""

    name: str
    write_key: str


class SourceRead(BaseModel):
    """A source without its write key."""

    name: str
    created_at: datetime


def _admin(principal: CurrentUser) -> Principal:
    if principal.role is not Role.ADMIN:
        raise PermissionDeniedError(f"{principal.email} is not an admin: sources are for admins")
    return principal


#: An admin (403 for anyone else).
Admin = Annotated[Principal, Depends(_admin)]


@sources.get("", response_model=list[SourceRead])
def list_sources(state: StateDep, admin: Admin) -> list[dict[str, Any]]:
    """Every tracking source (admins), never their write keys."""
    return service.list_sources(state.workspace)


@sources.post("", status_code=201, response_model=SourceKey, responses=error_responses(400))
def add_source(state: StateDep, admin: Admin, body: SourceCreate) -> dict[str, str]:
    """Create a tracking source (admins); its write key is in the answer, once."""
    key = service.add_source(state.workspace, body.name, now=datetime.now(UTC), actor=admin.email)
    return {"name": body.name.strip(), "write_key": key}


@sources.delete("/{name}", status_code=204, response_class=Response, responses=error_responses(404))
def remove_source(state: StateDep, admin: Admin, name: str) -> Response:
    """Delete a source (admins): its write key stops being accepted."""
    service.remove_source(state.workspace, name, now=datetime.now(UTC), actor=admin.email)
    state.part(Tracking).sources.clear()
    return Response(status_code=204)


@sources.post("/{name}/rotate", response_model=SourceKey, responses=error_responses(404))
def rotate_source(state: StateDep, admin: Admin, name: str) -> dict[str, str]:
    """Give a source a new write key (admins), in the answer once; the old key stops
    being accepted."""
    actor = admin.email
    key = service.rotate_source(state.workspace, name, now=datetime.now(UTC), actor=actor)
    state.part(Tracking).sources.clear()
    return {"name": name, "write_key": key}
