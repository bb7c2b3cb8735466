"""A CSM's work as one list: live CTAs and their open tasks, soonest due first, and the
actions a user takes on them (complete a task; snooze or close a CTA)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from keepwell.contract.service import account_owners
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.workspace import Workspace
from keepwell.success.board import close_cta, complete_task, cta_detail, list_ctas, snooze_cta

KINDS = ("cta", "task")
ACTIONS = ("complete", "snooze", "close")
#: How long "snooze" puts a CTA aside.
SNOOZE_DAYS = 7


def _cta_item(cta: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "cta", "id": cta["cta_id"], "cta_id": cta["cta_id"], "title": cta["title"],
        "account_id": cta["account_id"], "due_on": cta["due_on"], "priority": cta["priority"],
        "status": cta["status"], "overdue": cta["overdue"], "owner": cta["owner"],
        "actions": ["snooze", "close"] if cta["status"] != "snoozed" else ["close"],
    }  # fmt: skip


def _task_items(workspace: Workspace, cta: dict[str, Any], as_of: date) -> list[dict[str, Any]]:
    detail = cta_detail(workspace, cta["cta_id"], as_of=as_of)
    return [
        {"kind": "task", "id": t["task_id"], "cta_id": cta["cta_id"], "title": t["title"],
         "account_id": cta["account_id"], "due_on": t["due_on"], "priority": cta["priority"],
         "status": t["status"], "overdue": t["overdue"], "owner": t["owner"],
         "actions": ["complete"]}
        for t in detail["tasks"]
        if t["status"] == "open"
    ]  # fmt: skip


def work_items(
    workspace: Workspace,
    as_of: date,
    *,
    owner: str | None = None,
    account_id: str | None = None,
    scope: str | None = None,
) -> dict[str, Any]:
    """Live CTAs (of ``owner`` / ``account_id`` when given, visible to ``scope``) and
    their open tasks, soonest due first: ``items`` and the number of ``ctas``."""
    ctas = list_ctas(workspace, as_of=as_of, owner=owner, account_id=account_id, scope=scope)
    items = []
    for cta in ctas:
        items.append(_cta_item(cta))
        items += _task_items(workspace, cta, as_of)
    items.sort(key=lambda i: (i["due_on"] or date.max, i["cta_id"], i["kind"] != "cta"))
    return {"items": items, "ctas": len(ctas)}


def my_work(workspace: Workspace, owner: str, as_of: date) -> dict[str, Any]:
    """:func:`work_items` of ``owner`` with each item's ``account_name``."""
    work = work_items(workspace, as_of, owner=owner)
    names = account_owners(workspace, [i["account_id"] for i in work["items"]])
    for item in work["items"]:
        item["account_name"] = names.get(item["account_id"], {}).get("name", item["account_id"])
    return work


def act_on_work(
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
    if kind not in KINDS or action not in ACTIONS:
        raise InputError(f"cannot {action!r} a {kind!r}", hint="complete, snooze or close")
    detail = cta_detail(workspace, cta_id, as_of=now.date(), scope=scope)
    if kind == "task" and action == "complete":
        if item_id not in {t["task_id"] for t in detail["tasks"]}:
            raise NotFoundError(f"no task {item_id} in CTA {cta_id}")
        complete_task(workspace, item_id, now)
    elif kind == "cta" and item_id == cta_id and action == "snooze":
        snooze_cta(workspace, cta_id, now.date() + timedelta(days=SNOOZE_DAYS), now)
    elif kind == "cta" and item_id == cta_id and action == "close":
        close_cta(workspace, cta_id, outcome="resolved", reason="closed from the web app", now=now)
    else:
        raise InputError(f"cannot {action} a {kind}", hint="complete a task; snooze or close a CTA")
