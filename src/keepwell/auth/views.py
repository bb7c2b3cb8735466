"""Saved views: a user's named filters and sort of a list page (the accounts list),
kept as the page's query string; saving a name again replaces it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.auth.models import SavedView
from keepwell.core.audit import record_audit
from keepwell.core.database import transaction
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.workspace import Workspace

#: Query keys a view keeps (never the page number).
DROPPED = frozenset({"page"})
MAX_VIEWS = 50


def _clean(query: str) -> str:
    pairs = [(k, v) for k, v in parse_qsl(query.lstrip("?"), keep_blank_values=False)
             if k not in DROPPED]  # fmt: skip
    return urlencode(pairs)


def save_view(
    workspace: Workspace, email: str, page: str, name: str, query: str, *, now: datetime
) -> None:
    """Save (or replace) ``email``'s view ``name`` of ``page`` as ``query``."""
    name = name.strip()
    if not name or len(name) > 120:
        raise InputError("a saved view needs a name of 1 to 120 characters")
    with transaction(workspace.engine) as session:
        row = session.execute(sa.select(SavedView).where(
            SavedView.email == email, SavedView.page == page, SavedView.name == name
        )).scalar_one_or_none()  # fmt: skip
        if row is None:
            count = session.execute(sa.select(sa.func.count()).select_from(SavedView).where(
                SavedView.email == email, SavedView.page == page)).scalar_one()  # fmt: skip
            if count >= MAX_VIEWS:
                raise InputError(f"at most {MAX_VIEWS} saved views per page",
                                 hint="delete one first")  # fmt: skip
            row = SavedView(email=email, page=page, name=name, created_at=now)
            session.add(row)
        row.query = _clean(query)[:2000]
        record_audit(session, action="view.save", target=f"{page} view {name!r}", now=now,
                     after={"query": row.query})  # fmt: skip


def saved_views(workspace: Workspace, email: str, page: str) -> list[dict[str, Any]]:
    """``email``'s views of ``page``, by name."""
    query = (sa.select(SavedView).where(SavedView.email == email, SavedView.page == page)
             .order_by(SavedView.name))  # fmt: skip
    with Session(workspace.engine) as session:
        return [{"view_id": v.id, "name": v.name, "query": v.query}
                for v in session.execute(query).scalars()]  # fmt: skip


def delete_view(workspace: Workspace, email: str, view_id: int, *, now: datetime) -> None:
    """Delete one of ``email``'s views (NotFoundError for another user's)."""
    with transaction(workspace.engine) as session:
        row = session.get(SavedView, view_id)
        if row is None or row.email != email:
            raise NotFoundError(f"no saved view {view_id}")
        record_audit(session, action="view.delete", target=f"{row.page} view {row.name!r}",
                     now=now, before={"query": row.query})  # fmt: skip
        session.delete(row)
