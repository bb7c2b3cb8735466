"""Use cases of the tracking API: sources and write keys, and ingesting messages.

``identify`` keeps a user's traits; ``group`` ties a user to an account (groupId =
account_id); ``track``, ``page`` and ``screen`` become events in the analytics store
for the account of ``context.groupId`` or, failing that, the user's account. Events of
users not yet tied to an account are kept as pending and move to the analytics store
when ``group`` names the account, so nothing is dropped.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.auth.errors import AuthenticationError
from keepwell.auth.service import hash_secret, record_audit
from keepwell.core.database import transaction
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.warehouse import EVENT_BATCH_SCHEMA
from keepwell.core.workspace import Workspace
from keepwell.ingest.errors import SaturatedError
from keepwell.ingest.messages import EVENT_TYPES, Message, MessageType
from keepwell.ingest.models import Identity, PendingEvent, Source
from keepwell.ingest.writer import EventWriter

WRITE_KEY_PREFIX = "kwk_"


@dataclass(frozen=True)
class IngestResult:
    """What one request did: events handed to the store (committed), events kept as
    pending (no account yet), and identities changed."""

    stored: int
    pending: int
    identities: int


def add_source(workspace: Workspace, name: str, *, now: datetime, actor: str) -> str:
    """Create a source and return its write key (shown once; only its hash is kept)."""
    name = name.strip()
    if not name or len(name) > 255:
        raise InputError("a source name must have 1 to 255 characters")
    key = WRITE_KEY_PREFIX + secrets.token_urlsafe(24)
    with transaction(workspace.engine) as session:
        if session.execute(sa.select(Source.source_id).where(Source.name == name)).first():
            raise InputError(f"a source named {name!r} already exists")
        session.add(Source(name=name, key_hash=hash_secret(key), created_at=now))
        record_audit(session, actor=actor, action="source.add", target=name, now=now)
    return key


def list_sources(workspace: Workspace) -> list[dict[str, Any]]:
    """Every source by name, with its creation time (never its write key)."""
    with Session(workspace.engine) as session:
        rows = session.execute(sa.select(Source).order_by(Source.name)).scalars()
        return [{"name": s.name, "created_at": s.created_at} for s in rows]


def _source(session: Session, name: str) -> Source:
    source = session.execute(sa.select(Source).where(Source.name == name)).scalar_one_or_none()
    if source is None:
        raise NotFoundError(f"no source named {name!r}", hint="see `keepwell sources list`")
    return source


def remove_source(workspace: Workspace, name: str, *, now: datetime, actor: str) -> None:
    """Delete a source: its write key stops being accepted (see ``ingest.keys`` for how
    soon a running server notices). Events it sent stay in the analytics store."""
    with transaction(workspace.engine) as session:
        session.delete(_source(session, name))
        record_audit(session, actor=actor, action="source.remove", target=name, now=now)


def rotate_source(workspace: Workspace, name: str, *, now: datetime, actor: str) -> str:
    """Give a source a new write key and return it (shown once); the old key stops
    being accepted (see ``ingest.keys`` for how soon a running server notices)."""
    key = WRITE_KEY_PREFIX + secrets.token_urlsafe(24)
    with transaction(workspace.engine) as session:
        _source(session, name).key_hash = hash_secret(key)
        record_audit(session, actor=actor, action="source.rotate", target=name, now=now)
    return key


def source_for_key(workspace: Workspace, write_key: str) -> str:
    """The name of the source whose write key this is; :class:`AuthenticationError` else."""
    with Session(workspace.engine) as session:
        name = session.execute(
            sa.select(Source.name).where(Source.key_hash == hash_secret(write_key))
        ).scalar_one_or_none()
    if name is None:
        raise AuthenticationError(
            "unknown write key", hint="send a source's write key as the Basic auth user name"
        )
    return name


def ingest(
    workspace: Workspace,
    messages: Sequence[Message],
    *,
    writer: EventWriter,
    source: str,
    now: datetime,
    timeout: float = 30.0,
) -> IngestResult:
    """Apply ``messages`` in order; returns once every event is committed.

    The common case, events that all name their account (``context.groupId``), goes
    straight to the writer without touching the operational store.
    """
    if all(m.type in EVENT_TYPES and m.group_id for m in messages):
        grouped: dict[str, str] = {}
        ready: list[tuple[Message, str | None]] = [(m, m.group_id) for m in messages]
        unattributed: list[Message] = []
        moved: list[tuple[Message, str]] = []
    else:
        grouped, ready, unattributed, moved = _resolve(workspace, messages, source, now)
    rows = [(m, a) for m, a in ready if a is not None] + moved
    if rows:
        try:
            writer.submit(event_batch(rows)).result(timeout=timeout)
        except FutureTimeout:  # queued, not yet committed: not acknowledged (503, retry)
            raise SaturatedError(
                f"the events were not committed within {timeout:g} s (the store is busy)",
                hint="send the batch again; events already stored are skipped by messageId",
            ) from None
    if moved:
        with transaction(workspace.engine) as session:
            ids = [m.message_id for m, _ in moved]
            session.execute(sa.delete(PendingEvent).where(PendingEvent.message_id.in_(ids)))
    return IngestResult(stored=len(rows), pending=len(unattributed), identities=len(grouped))


_Resolved = tuple[
    dict[str, str], list[tuple[Message, str | None]], list[Message], list[tuple[Message, str]]
]


def _resolve(
    workspace: Workspace, messages: Sequence[Message], source: str, now: datetime
) -> _Resolved:
    """Apply identities; each event with its account (None: kept as pending); pending
    events moved by this request's group calls."""
    with transaction(workspace.engine) as session:
        grouped = _apply_identities(session, messages, now)
        if grouped:
            record_audit(
                session, actor=f"source:{source}", action="ingest.identities", target=None,
                now=now, details={"users": len(grouped)},
            )  # fmt: skip
        accounts = _accounts_of(session, messages)
        events = [m for m in messages if m.type in EVENT_TYPES]
        ready = [(m, m.group_id or accounts.get(m.user_id)) for m in events]
        unattributed = [m for m, account in ready if account is None]
        _keep_pending(session, unattributed)
        moved = _take_pending(session, grouped)
    return grouped, ready, unattributed, moved


def _apply_identities(
    session: Session, messages: Sequence[Message], now: datetime
) -> dict[str, str]:
    """Upsert identify/group users; returns the users grouped here -> their account."""
    changes = [m for m in messages if m.type in (MessageType.IDENTIFY, MessageType.GROUP)]
    if not changes:
        return {}
    ids = {m.user_id for m in changes}
    known = {
        i.user_id: i
        for i in session.execute(sa.select(Identity).where(Identity.user_id.in_(ids))).scalars()
    }
    grouped: dict[str, str] = {}
    for m in changes:
        identity = known.get(m.user_id)
        if identity is None:
            identity = Identity(user_id=m.user_id, account_id=None, traits={}, updated_at=now)
            session.add(identity)
            known[m.user_id] = identity
        if m.type is MessageType.IDENTIFY:
            identity.traits = {**(identity.traits or {}), **m.traits}
        elif m.group_id is not None:
            identity.account_id = m.group_id
            grouped[m.user_id] = m.group_id
        identity.updated_at = now
    session.flush()
    return grouped


def _accounts_of(session: Session, messages: Iterable[Message]) -> dict[str, str]:
    users = {m.user_id for m in messages if m.type in EVENT_TYPES and m.group_id is None}
    if not users:
        return {}
    query = sa.select(Identity.user_id, Identity.account_id).where(
        Identity.user_id.in_(users), Identity.account_id.is_not(None)
    )
    return {user: account for user, account in session.execute(query) if account}


def _keep_pending(session: Session, messages: Sequence[Message]) -> None:
    if not messages:
        return
    ids = [m.message_id for m in messages]
    seen = set(
        session.execute(
            sa.select(PendingEvent.message_id).where(PendingEvent.message_id.in_(ids))
        ).scalars()
    )
    for m in messages:
        if m.message_id not in seen:
            seen.add(m.message_id)
            session.add(PendingEvent(message_id=m.message_id, user_id=m.user_id, event=_to_json(m)))


def _take_pending(session: Session, grouped: dict[str, str]) -> list[tuple[Message, str]]:
    if not grouped:
        return []
    query = sa.select(PendingEvent).where(PendingEvent.user_id.in_(grouped))
    return [(_from_json(p.event), grouped[p.user_id]) for p in session.execute(query).scalars()]


def _to_json(m: Message) -> dict[str, Any]:
    return {
        "type": m.type.value, "message_id": m.message_id, "user_id": m.user_id,
        "timestamp": m.timestamp.isoformat(), "event": m.event, "properties": m.properties,
    }  # fmt: skip


def _from_json(data: dict[str, Any]) -> Message:
    return Message(
        type=MessageType(data["type"]), message_id=data["message_id"], user_id=data["user_id"],
        timestamp=datetime.fromisoformat(data["timestamp"]), event=data["event"],
        properties=data.get("properties") or {},
    )  # fmt: skip


def event_batch(rows: Sequence[tuple[Message, str]]) -> pa.Table:
    """Events as an Arrow table of ``EVENT_BATCH_SCHEMA`` (count 1 each)."""
    return pa.table(
        {
            "timestamp": [m.timestamp for m, _ in rows],
            "account_id": [account for _, account in rows],
            "user_id": [m.user_id for m, _ in rows],
            "event": [m.event or m.type.value for m, _ in rows],
            "count": [1] * len(rows),
            "message_id": [m.message_id for m, _ in rows],
            "properties": [
                orjson.dumps(m.properties).decode("utf-8") if m.properties else None
                for m, _ in rows
            ],
        },
        schema=EVENT_BATCH_SCHEMA,
    )
