"""What the pages show from the success slice (CTAs, tasks, success plans, the
timeline's notes, product feedback) when it is present; None when it is not, and the
page says so rather than showing invented rows."""

from __future__ import annotations

import importlib
from datetime import date, datetime
from types import ModuleType
from typing import Any

from keepwell.core.errors import InputError
from keepwell.core.workspace import Workspace

KINDS = ("cta", "task")
ACTIONS = ("complete", "snooze", "close")


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"keepwell.success.{name}")
    except ImportError:
        return None


def account_work(workspace: Workspace, account_id: str) -> dict[str, Any] | None:
    """Open CTAs and tasks of the account, or None when not available."""
    return None


def success_plan(workspace: Workspace, account_id: str) -> dict[str, Any] | None:
    """The account's success plan with its objectives, or None when not available."""
    return None


def timeline(
    workspace: Workspace, account_id: str, activities: list[dict[str, Any]]
) -> dict[str, Any]:
    """The account's timeline, newest first, and whether notes can be added here."""
    items = [
        {
            "when": a["occurred_at"],
            "kind": a["kind"],
            "author": a.get("author"),
            "subject": a.get("subject"),
            "body": a.get("body"),
        }
        for a in activities
    ]
    return {"items": items, "can_add": False}


def add_note(
    workspace: Workspace, account_id: str, author: str, body: str, *, now: datetime
) -> bool:
    """Add a note to the timeline; False when notes cannot be added (no success slice)."""
    return False


def my_work(workspace: Workspace, owner: str, as_of: date) -> dict[str, Any] | None:
    """The CTAs and tasks assigned to ``owner`` by due date, or None when not available."""
    return None


def feedback_board(workspace: Workspace, scope: str | None) -> dict[str, Any] | None:
    """Product feedback grouped for the board, or None when not available."""
    return None


def act(
    workspace: Workspace,
    kind: str,
    item_id: int,
    action: str,
    *,
    actor: str,
    scope: str | None,
    now: datetime,
) -> None:
    """Complete, snooze or close a CTA or task (NotFoundError when out of ``scope``)."""
    raise InputError("CTAs and tasks are not available in this workspace")
