"""The timeline of an account: its activities (imported, or notes written in Keepwell),
newest first, with their tags.

Notes are activities of the data contract written through the contract's loader, so an
import of the same entity and a note created here are one and the same thing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from keepwell.contract.service import account_activities, load_rows, visible_account
from keepwell.core.audit import audit_alone
from keepwell.core.errors import InputError
from keepwell.core.workspace import Workspace

#: The fields of a timeline entry, in display order.
FIELDS = ("activity_id", "occurred_at", "kind", "author", "subject", "body", "tags")
#: Activity kinds of the data contract.
KINDS = ("meeting", "call", "email", "note", "business_review")


def account_timeline(
    workspace: Workspace, account_id: str, limit: int | None = 50, *, tag: str | None = None
) -> list[dict[str, Any]]:
    """The activities of ``account_id``, newest first, at most ``limit`` (None: all);
    with ``tag``, only those carrying it (case-insensitive). :class:`NotFoundError` for
    an unknown account."""
    visible_account(workspace, account_id, scope=None)
    rows = account_activities(workspace, account_id, limit=None if tag else limit)
    if tag:
        wanted = tag.strip().lower()
        rows = [r for r in rows if wanted in {t.lower() for t in r.get("tags") or []}]
        rows = rows if limit is None else rows[:limit]
    return [{f: r.get(f) for f in FIELDS} | {"tags": list(r.get("tags") or [])} for r in rows]


def clean_tags(tags: Sequence[str] | str | None) -> list[str]:
    """Tags from a list or a ``;``-separated string: trimmed, empty ones and repeats
    dropped, order kept."""
    items = tags.split(";") if isinstance(tags, str) else list(tags or [])
    seen: list[str] = []
    for item in (t.strip() for t in items):
        if item and item not in seen:
            seen.append(item)
    return seen


def add_note(
    workspace: Workspace,
    account_id: str,
    author: str | None,
    body: str,
    tags: Sequence[str] | str | None,
    kind: str,
    occurred_at: datetime,
    *,
    subject: str | None = None,
) -> dict[str, Any]:
    """Write one activity of ``kind`` (note by default in the CLI) on the timeline of
    ``account_id``; the entry as stored. :class:`NotFoundError` for an unknown account,
    :class:`InputError` for a row the data contract refuses (empty body, unknown kind)."""
    visible_account(workspace, account_id, scope=None)
    if not body.strip() and not (subject or "").strip():
        raise InputError("a note needs a body", hint="give --body TEXT")
    row = {
        "activity_id": f"kw-{uuid.uuid4().hex[:20]}",
        "account_id": account_id,
        "occurred_at": occurred_at,
        "kind": kind,
        "author": author or None,
        "subject": subject or None,
        "body": body.strip() or None,
        "tags": clean_tags(tags),
    }
    report = load_rows(workspace, "activities", [row])
    if report.rejected:
        reason = report.examples[0].reason if report.examples else "refused"
        raise InputError(f"the note for {account_id} was not saved: {reason}",
                         hint=f"kinds: {', '.join(KINDS)}")  # fmt: skip
    audit_alone(
        workspace.engine, action=f"note.add.{kind}"[:64], target=str(row["activity_id"]),
        account_id=account_id,
        after={"author": row["author"], "subject": row["subject"], "tags": row["tags"]},
    )  # fmt: skip
    return {f: row.get(f) for f in FIELDS}
