"""Product feedback: feature requests recorded from the CLI, the API and the pages (an
ask, plus a note on the account's timeline), and the most requested features.

The records, their merging, status and notifications live in
:mod:`keepwell.success.feature_requests`; titles in :mod:`keepwell.success.request_titles`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from keepwell.core.workspace import Workspace
from keepwell.success.feature_requests import (
    FEATURE_REQUEST,
    check_asker,
    list_requests,
    record_ask,
)
from keepwell.success.feature_requests import request_text as request_text  # re-exported
from keepwell.success.request_titles import normalize_request as normalize_request  # re-exported
from keepwell.success.timeline import add_note


def add_feedback(
    workspace: Workspace,
    account_id: str,
    request: str,
    *,
    author: str | None,
    occurred_at: datetime,
    body: str | None = None,
    contact_id: str | None = None,
    request_id: int | None = None,
    as_of: date | None = None,
) -> dict[str, Any]:
    """Record a feature request of ``account_id``: a note tagged ``feature_request`` on
    its timeline (subject: the request; body: the customer's words) and the ask it makes
    (:func:`~keepwell.success.feature_requests.record_ask`, ARR on ``as_of``, default
    the day it was asked). Returns the note with ``request_id``."""
    check_asker(workspace, account_id, contact_id)
    note = add_note(workspace, account_id, author, body or "", [FEATURE_REQUEST], "note",
                    occurred_at, subject=" ".join(request.split()))  # fmt: skip
    recorded = record_ask(
        workspace, account_id, request, as_of=as_of or occurred_at.date(), asked_at=occurred_at,
        contact_id=contact_id, quote=body or "", author=author, request_id=request_id,
        activity_id=note["activity_id"],
    )  # fmt: skip
    return {**note, "request_id": recorded["request_id"], "request": recorded["title"]}


def top_requests(workspace: Workspace, as_of: date, limit: int = 20) -> list[dict[str, Any]]:
    """The most requested features up to the end of ``as_of``
    (:func:`~keepwell.success.feature_requests.list_requests`, at most ``limit``)."""
    return list_requests(workspace, as_of, limit=limit)
