"""The audit trail: who changed what, when, on which account, from what to what.

Every service that writes records its change with :func:`record_audit`, inside the
transaction of the write (the row commits or rolls back with it). It lives in core
because every slice writes it, the importer (which uses only core) included; the auth
slice lists it and manages the users it names. Who is acting is set
once per command or request by the face (:func:`set_actor`: ``cli:<OS user>`` for the
CLI, the signed-in email for the server) and read here, so no use case needs an extra
parameter and no face records rows of its own.
"""

from __future__ import annotations

import csv
import getpass
import hashlib
import io
import json
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapped, Session, mapped_column

from keepwell.core.database import Base, JSONData, UTCDateTime, transaction
from keepwell.core.errors import InputError


class AuditEntry(Base):
    """Who changed what and when: one row per write.

    ``kind`` is what was changed (``cta``, ``task``, ``plan``, ``note``, ``reference``,
    ``import``, ``user``, ``token``, ``session``, ``settings``, ``rules``, ``scorecard``,
    ``http``...), the part of ``action`` before its first dot; ``account_id`` the
    account concerned, if one is; ``details`` holds ``before``/``after`` for a change.
    """

    __tablename__ = "audit_log"

    entry_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(sa.String(320))
    action: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(32), index=True, default="")
    account_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    target: Mapped[str | None] = mapped_column(sa.Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)


log = logging.getLogger("keepwell.audit")

#: Columns of an audit row as listed and exported, in order.
AUDIT_FIELDS = ("at", "actor", "kind", "action", "account_id", "target", "details")


@dataclass
class Acting:
    """Who acts in the current command or request, and how many rows they recorded
    (the server's middleware records a plain row for a write no service recorded)."""

    actor: str | None = None
    recorded: int = 0


_acting: ContextVar[Acting | None] = ContextVar("keepwell_acting", default=None)


def cli_actor() -> str:
    """Who runs a command, for the audit log: ``cli:<OS user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def begin_acting() -> Acting:
    """A fresh :class:`Acting` for this context (a request); filled by :func:`set_actor`."""
    acting = Acting()
    _acting.set(acting)
    return acting


def set_actor(actor: str) -> None:
    """Name who acts from here on in this context (its request, its command). Fills the
    request's :class:`Acting` when there is one, so code running in worker threads of
    the same request sees it."""
    acting = _acting.get()
    if acting is None:
        _acting.set(Acting(actor))
    else:
        acting.actor = actor


def current_actor() -> str:
    """Who acts now: set by the face; a process without one is the CLI's operator."""
    acting = _acting.get()
    return acting.actor if acting is not None and acting.actor else cli_actor()


def kind_of(action: str) -> str:
    """The kind of an action: ``cta`` of ``cta.close``; ``http`` of the middleware's
    ``POST /api/v1/...`` rows."""
    return "http" if " " in action else action.split(".", 1)[0][:32]


def record_audit(
    session: Session,
    *,
    action: str,
    target: str | None,
    now: datetime | None = None,
    actor: str | None = None,
    account_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add one audit row inside the caller's transaction (it commits with the write).

    ``action`` is ``<kind>.<verb>`` (``cta.close``); ``actor`` defaults to
    :func:`current_actor`; ``before``/``after`` are the changed fields' old and new
    values (JSON-able), kept in ``details``. ``now`` defaults to the clock: the one
    place below the faces that reads it, because an audit row says when the write
    happened, whatever day the data is about.
    """
    body = dict(details or {})
    if before is not None:
        body["before"] = before
    if after is not None:
        body["after"] = after
    session.add(
        AuditEntry(
            at=now or datetime.now(UTC), actor=(actor or current_actor())[:320], action=action[:64],
            kind=kind_of(action), account_id=account_id, target=target, details=body,
        )
    )  # fmt: skip
    acting = _acting.get()
    if acting is not None:
        acting.recorded += 1


def record_audits(
    session: Session,
    rows: list[dict[str, Any]],
    *,
    now: datetime | None = None,
    actor: str | None = None,
) -> int:
    """Add many audit rows in one statement (a batch the caller's transaction commits),
    for a write of many rows at once (the cycle opening CTAs): each row has ``action``,
    ``target``, ``account_id``, ``after`` and optionally ``details``; ``actor`` defaults
    to :func:`current_actor`, ``now`` to the clock (as :func:`record_audit`). Returns
    how many were added."""
    if not rows:
        return 0
    who, at = (actor or current_actor())[:320], now or datetime.now(UTC)
    values = [
        {"at": at, "actor": who, "action": r["action"][:64], "kind": kind_of(r["action"]),
         "account_id": r.get("account_id"), "target": r.get("target"),
         "details": {**r.get("details", {}), **({"after": r["after"]} if "after" in r else {})}}
        for r in rows
    ]  # fmt: skip
    session.execute(sa.insert(AuditEntry), values)
    acting = _acting.get()
    if acting is not None:
        acting.recorded += len(values)
    return len(values)


def audit_alone(engine: sa.Engine, **row: Any) -> None:
    """:func:`record_audit` in a transaction of its own, for a write that committed
    through another path (an append through the importer)."""
    with transaction(engine) as session:
        record_audit(session, **row)


def note_file_applied(engine: sa.Engine, action: str, path: Path, text: str) -> bool:
    """Record that a configuration file (rules, playbooks, scorecards) is in use in a new
    version: an audit row ``action`` with the file's SHA-256 before and after, when it
    differs from the last one recorded for that file. True when a row was added.

    The files are edited on disk, outside Keepwell; this is when a change takes effect.
    A store that takes no writes (a read-only replica) records nothing and is no
    error: reading must not fail for the audit's sake; the next writable run records it.
    """
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    target = str(path)[:500]
    try:
        return _note_file(engine, action, target, digest, text)
    except DBAPIError as exc:
        log.warning("audit: cannot record %s of %s: %s", action, target, exc.orig)
        return False


def _note_file(engine: sa.Engine, action: str, target: str, digest: str, text: str) -> bool:
    with transaction(engine) as session:
        last = session.execute(
            sa.select(AuditEntry.details)
            .where(AuditEntry.kind == kind_of(action), AuditEntry.target == target)
            .order_by(AuditEntry.entry_id.desc())
            .limit(1)
        ).scalar_one_or_none()
        previous = (last or {}).get("after", {}).get("sha256")
        if previous == digest:
            return False
        record_audit(
            session, action=action, target=target, before={"sha256": previous},
            after={"sha256": digest}, details={"lines": text.count("\n") + 1},
        )  # fmt: skip
        return True


def changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that differ between ``before`` and ``after`` (old values, new values)."""
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def audit_query(
    *,
    actor: str | None = None,
    account_id: str | None = None,
    kind: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int | None = None,
) -> sa.Select[AuditEntry]:
    """Audit rows newest first, filtered by who (``actor``, exact), account, kind and
    days (``since`` and ``until`` included, UTC)."""
    if since is not None and until is not None and since > until:
        raise InputError(f"--since {since} is after --until {until}")
    if limit is not None and limit < 1:
        raise InputError(f"limit {limit} must be at least 1")
    query = sa.select(AuditEntry)
    if actor:
        query = query.where(sa.func.lower(AuditEntry.actor) == actor.strip().lower())
    if account_id:
        query = query.where(AuditEntry.account_id == account_id)
    if kind:
        query = query.where(AuditEntry.kind == kind.strip().lower())
    if since is not None:
        query = query.where(AuditEntry.at >= _utc_midnight(since))
    if until is not None:
        query = query.where(AuditEntry.at < _utc_midnight(until + timedelta(days=1)))
    query = query.order_by(AuditEntry.entry_id.desc())
    return query.limit(limit) if limit is not None else query


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def details_text(details: object) -> str:
    """``details`` as one line of compact JSON (tables and CSV exports)."""
    return json.dumps(details, sort_keys=True, default=str, ensure_ascii=False)


def change_text(details: object) -> str:
    """The before/after of ``details`` in words: ``status: open → closed`` (pure)."""
    if not isinstance(details, dict):
        return ""
    before, after = details.get("before") or {}, details.get("after") or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return ""
    parts = []
    for key in dict.fromkeys([*before, *after]):
        old, new = before.get(key), after.get(key)
        parts.append(f"{key}: {'–' if old is None else old} → {'–' if new is None else new}")
    return "; ".join(parts)


def audit_csv(rows: list[dict[str, Any]]) -> str:
    """Audit rows as CSV (:data:`AUDIT_FIELDS`, details as JSON text); a cell a
    spreadsheet would run as a formula (``= + - @``, tab, CR) gets a leading quote, as
    the web's other exports do (pure)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(AUDIT_FIELDS)
    for row in rows:
        cells = [row.get(f) for f in AUDIT_FIELDS]
        writer.writerow(_csv_cell(c) for c in cells)
    return buffer.getvalue()


def _csv_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        value = details_text(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def audit_row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at, "actor": entry.actor, "kind": entry.kind, "action": entry.action,
        "account_id": entry.account_id, "target": entry.target, "details": entry.details,
    }  # fmt: skip
