"""Product feedback: feature requests from the timeline, grouped by request, with the
number of requesting accounts and their ARR.

A feature request is an activity tagged ``feature_request`` (imported, or created with
:func:`add_feedback`). Its request is the activity's subject (its body's first line when
there is no subject), normalised for grouping: case folded, runs of whitespace made one
space, surrounding spaces, quotes and final punctuation removed.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from keepwell.contract.service import read_table
from keepwell.core.workspace import Workspace
from keepwell.revenue import service as revenue_service
from keepwell.success.timeline import add_note

FEATURE_REQUEST = "feature_request"
_SPACES = re.compile(r"\s+")
_QUOTES = "\"'`“”‘’"


def normalize_request(text: str) -> str:
    """The grouping key of a request: ``"  Export to  CSV!"`` -> ``"export to csv"``."""
    folded = _SPACES.sub(" ", text).strip().casefold()
    return folded.rstrip(_QUOTES + ".!?;:,").lstrip(_QUOTES).strip()


def request_text(activity: dict[str, Any]) -> str:
    """The words of a request: the subject, else the first non-empty line of the body."""
    subject = (activity.get("subject") or "").strip()
    if subject:
        return subject
    lines = [line.strip() for line in (activity.get("body") or "").splitlines()]
    return next((line for line in lines if line), "")


def add_feedback(
    workspace: Workspace,
    account_id: str,
    request: str,
    *,
    author: str | None,
    occurred_at: datetime,
    body: str | None = None,
) -> dict[str, Any]:
    """Record a feature request of ``account_id``: a note tagged ``feature_request``
    whose subject is the request."""
    return add_note(workspace, account_id, author, body or "", [FEATURE_REQUEST], "note",
                    occurred_at, subject=request.strip())  # fmt: skip


@dataclass
class _Group:
    key: str
    wordings: Counter[str] = field(default_factory=Counter)
    accounts: set[str] = field(default_factory=set)
    mentions: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None

    def add(self, words: str, account_id: str, at: datetime) -> None:
        self.wordings[words] += 1
        self.accounts.add(account_id)
        self.mentions += 1
        self.first_at = at if self.first_at is None else min(self.first_at, at)
        self.last_at = at if self.last_at is None else max(self.last_at, at)

    def wording(self) -> str:
        """The most used wording (the first seen among equals)."""
        return self.wordings.most_common(1)[0][0]

    def arr(self, arr: dict[str, Decimal]) -> Decimal:
        return sum((arr.get(a, Decimal(0)) for a in self.accounts), Decimal(0))


def group_requests(activities: list[dict[str, Any]], until: datetime) -> list[_Group]:
    """Feature requests that occurred before ``until``, grouped by normalised request."""
    groups: dict[str, _Group] = {}
    for a in activities:
        tags = {t.strip().lower() for t in a.get("tags") or []}
        at = a["occurred_at"]
        if FEATURE_REQUEST not in tags or at >= until:
            continue
        words = request_text(a)
        key = normalize_request(words)
        if key:
            wording = _SPACES.sub(" ", words).strip()
            groups.setdefault(key, _Group(key)).add(wording, a["account_id"], at)
    return list(groups.values())


def account_arr(workspace: Workspace, as_of: date) -> dict[str, Decimal]:
    """ARR of each account paying on ``as_of`` (revenue's figure: 12 x the MRR of its
    lines active that day, base currency)."""
    paying = revenue_service.account_arr(workspace, as_of).items()
    return {account: Decimal(row["arr"]) for account, row in paying if row["arr"] > 0}


def top_requests(workspace: Workspace, as_of: date, limit: int = 20) -> list[dict[str, Any]]:
    """The most requested features up to the end of ``as_of``: request (its most used
    wording), accounts (distinct requesting accounts), mentions, ARR of those accounts
    on ``as_of`` (12 x MRR, base currency; an account counted once per request), first
    and last request; ranked by accounts, then ARR, then request."""
    until = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC)
    groups = group_requests(read_table(workspace, "activities").to_pylist(), until)
    arr = account_arr(workspace, as_of) if groups else {}
    groups.sort(key=lambda g: (-len(g.accounts), -g.arr(arr), g.wording().casefold()))
    return [
        {"request": g.wording(), "accounts": len(g.accounts), "mentions": g.mentions,
         "arr": g.arr(arr), "account_ids": sorted(g.accounts), "first_at": g.first_at,
         "last_at": g.last_at}
        for g in groups[:limit]
    ]  # fmt: skip
