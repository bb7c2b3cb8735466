"""What the pages show from the success slice (CTAs, tasks, success plans, the
timeline's notes, product feedback). The slice is reached lazily: when a part of it is
missing the function returns None and the page says "not available" rather than
showing invented rows."""

from __future__ import annotations

import importlib
from datetime import date, datetime, timedelta
from types import ModuleType
from typing import Any

from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.workspace import Workspace

KINDS = ("cta", "task")
ACTIONS = ("complete", "snooze", "close")
#: How long "snooze" puts a CTA aside.
SNOOZE_DAYS = 7
TIMELINE_LIMIT = 50


def _module(name: str, attribute: str) -> ModuleType | None:
    """``keepwell.success.<name>`` if it exists and has ``attribute``."""
    try:
        module = importlib.import_module(f"keepwell.success.{name}")
    except ImportError:
        return None
    return module if hasattr(module, attribute) else None


def _cta_item(cta: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "cta", "id": cta["cta_id"], "cta_id": cta["cta_id"], "title": cta["title"],
        "account_id": cta["account_id"], "due_on": cta["due_on"], "priority": cta["priority"],
        "status": cta["status"], "overdue": cta["overdue"], "owner": cta["owner"],
        "actions": ["snooze", "close"] if cta["status"] != "snoozed" else ["close"],
    }  # fmt: skip


def _task_items(service: Any, workspace: Workspace, cta: dict[str, Any], as_of: date,
                owner: str | None) -> list[dict[str, Any]]:  # fmt: skip
    detail = service.cta_detail(workspace, cta["cta_id"], as_of=as_of)
    return [
        {"kind": "task", "id": t["task_id"], "cta_id": cta["cta_id"], "title": t["title"],
         "account_id": cta["account_id"], "due_on": t["due_on"], "priority": cta["priority"],
         "status": t["status"], "overdue": t["overdue"], "owner": t["owner"],
         "actions": ["complete"]}
        for t in detail["tasks"]
        if t["status"] == "open" and (owner is None or t["owner"] in (owner, None))
    ]  # fmt: skip


def _work(
    workspace: Workspace, as_of: date, owner: str | None, **filters: Any
) -> dict[str, Any] | None:
    service = _module("service", "list_ctas")
    if service is None:
        return None
    ctas = service.list_ctas(workspace, as_of=as_of, owner=owner, **filters)
    items = []
    for cta in ctas:
        items.append(_cta_item(cta))
        items += _task_items(service, workspace, cta, as_of, None)
    items.sort(key=lambda i: (i["due_on"] or date.max, i["cta_id"], i["kind"] != "cta"))
    return {"items": items, "ctas": len(ctas)}


def account_work(
    workspace: Workspace, account_id: str, as_of: date, scope: str | None
) -> dict[str, Any] | None:
    """Open CTAs of the account and their open tasks, soonest due first; None when
    not available."""
    return _work(workspace, as_of, None, account_id=account_id, scope=scope)


def my_work(
    workspace: Workspace, owner: str, as_of: date, names: dict[str, str]
) -> dict[str, Any] | None:
    """Live CTAs owned by ``owner`` and their open tasks, soonest due first, with the
    account names from ``names``; None when not available."""
    work = _work(workspace, as_of, owner)
    if work is not None:
        for item in work["items"]:
            item["account_name"] = names.get(item["account_id"], item["account_id"])
    return work


def success_plan(workspace: Workspace, account_id: str, as_of: date) -> dict[str, Any] | None:
    """The account's active success plan (objectives with attainment 0-1, progress in
    percent), or None when it has none or plans are not available."""
    service = _module("service", "show_plan")
    if service is None:
        return None
    try:
        plan: dict[str, Any] = service.show_plan(workspace, account_id, as_of)
    except NotFoundError:
        return None
    for objective in plan.get("objectives", []):
        objective.setdefault("title", objective.get("metric"))
        objective.setdefault("progress", objective.get("attainment"))
    plan.setdefault("name", plan.get("title"))
    return plan


def timeline(
    workspace: Workspace, account_id: str, activities: list[dict[str, Any]]
) -> dict[str, Any]:
    """The account's timeline, newest first, and whether notes can be added here."""
    module = _module("timeline", "account_timeline")
    if module is not None:
        activities = module.account_timeline(workspace, account_id, TIMELINE_LIMIT)
    items = [
        {"when": a["occurred_at"], "kind": a["kind"], "author": a.get("author"),
         "subject": a.get("subject"), "body": a.get("body"), "tags": a.get("tags") or []}
        for a in activities
    ]  # fmt: skip
    return {"items": items, "can_add": _module("timeline", "add_note") is not None}


def add_note(
    workspace: Workspace, account_id: str, author: str, body: str, *, now: datetime
) -> bool:
    """Add a note to the timeline; False when notes cannot be added."""
    module = _module("timeline", "add_note")
    if module is None:
        return False
    module.add_note(workspace, account_id, author, body, None, "note", now)
    return True


def feedback_board(
    workspace: Workspace, as_of: date, names: dict[str, str], scope: str | None
) -> dict[str, Any] | None:
    """The most requested features with the accounts and ARR behind them; a CSM limited
    to a book sees the accounts of their book only. None when not available."""
    module = _module("feedback", "top_requests")
    if module is None:
        return None
    items = []
    for request in module.top_requests(workspace, as_of, 50):
        ids = [a for a in request["account_ids"] if a in names]
        if scope is not None and not ids:
            continue
        items.append({
            "title": request["request"], "accounts": request["accounts"],
            "mentions": request["mentions"], "arr": request["arr"], "latest": request["last_at"],
            "accounts_list": [{"account_id": a, "name": names[a]} for a in ids],
        })  # fmt: skip
    return {"items": items}


def act(
    workspace: Workspace,
    kind: str,
    item_id: int,
    action: str,
    *,
    cta_id: int,
    scope: str | None,
    now: datetime,
) -> None:
    """Complete a task, or snooze (:data:`SNOOZE_DAYS`) or close a CTA. The CTA must be
    visible to ``scope`` and hold the task (NotFoundError otherwise)."""
    service = _module("service", "cta_detail")
    if service is None:
        raise InputError("CTAs and tasks are not available in this workspace")
    detail = service.cta_detail(workspace, cta_id, as_of=now.date(), scope=scope)
    if kind == "task" and action == "complete":
        if item_id not in {t["task_id"] for t in detail["tasks"]}:
            raise NotFoundError(f"no task {item_id} in CTA {cta_id}")
        service.complete_task(workspace, item_id, now)
    elif kind == "cta" and item_id == cta_id and action == "snooze":
        service.snooze_cta(workspace, cta_id, now.date() + timedelta(days=SNOOZE_DAYS), now)
    elif kind == "cta" and item_id == cta_id and action == "close":
        service.close_cta(
            workspace, cta_id, outcome="resolved", reason="closed from the web app", now=now
        )
    else:
        raise InputError(f"cannot {action} a {kind}", hint="complete a task; snooze or close a CTA")
