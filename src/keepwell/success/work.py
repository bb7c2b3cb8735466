"""A CSM's work as one list, and the team's queue: live CTAs and their open tasks, the
renewals and plan milestones coming due, ordered by what is at stake (the CTA's
:mod:`stake <keepwell.success.routing>`, then the soonest due); and the one-click
actions a user takes on them (start a CTA, complete a task). Snoozing, reassigning and
closing need a form (a date and reason, an owner, an outcome and a comment)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from keepwell.contract.service import account_owners
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.memo import memo
from keepwell.core.workspace import Workspace
from keepwell.revenue import service as revenue_service
from keepwell.success.board import complete_task, cta_detail, stake_page, start_cta
from keepwell.success.plan_store import due_milestones

KINDS = ("cta", "task")
ACTIONS = ("complete", "start")
#: Renewals and milestones shown on My work: due within this many days.
HORIZON_DAYS = 90


def _cta_item(cta: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "cta", "id": cta["cta_id"], "cta_id": cta["cta_id"], "title": cta["title"],
        "account_id": cta["account_id"], "due_on": cta["due_on"], "priority": cta["priority"],
        "status": cta["status"], "overdue": cta["overdue"], "owner": cta["owner"],
        "stake": cta["stake"], "type": cta["type"], "priority_why": cta["priority_why"],
        "actions": ["start"] if cta["status"] == "open" else [],
    }  # fmt: skip


def _task_items(cta: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"kind": "task", "id": t["task_id"], "cta_id": cta["cta_id"], "title": t["title"],
         "account_id": cta["account_id"], "due_on": t["due_on"], "priority": cta["priority"],
         "status": t["status"], "overdue": t["overdue"], "owner": t["owner"],
         "stake": cta["stake"], "type": "task", "priority_why": None,
         "actions": ["complete"]}
        for t in cta["tasks"]
    ]  # fmt: skip


def _by_stake(item: dict[str, Any]) -> tuple[Any, ...]:
    return (-float(item.get("stake") or 0), item.get("cta_id") or 0, item["kind"] != "cta",
            item["due_on"] or date.max)  # fmt: skip


def work_items(
    workspace: Workspace,
    as_of: date,
    *,
    owner: str | None = None,
    account_id: str | None = None,
    scope: str | None = None,
    owners: Collection[str] | None = None,
    cta_type: str | None = None,
    priority: str | None = None,
    overdue: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> dict[str, Any]:
    """Live CTAs (of ``owner`` / ``owners`` / ``account_id`` / type / priority when
    given, visible to ``scope``; only overdue ones with ``overdue``) and their open
    tasks, the most at stake first: ``items``, and the number of ``ctas`` matching.
    With ``limit``, the items of that many CTAs from the ``offset``-th (a page)."""
    if (limit is not None and limit < 1) or offset < 0:
        raise InputError(f"no page of {limit} CTAs from {offset}", hint="a positive page")
    ctas, total = stake_page(workspace, as_of=as_of, limit=limit, offset=offset, owner=owner,
                             account_id=account_id, scope=scope, owners=owners,
                             cta_type=cta_type, priority=priority, overdue=overdue)  # fmt: skip
    items = []
    for cta in ctas:
        items.append(_cta_item(cta))
        items += _task_items(cta)
    items.sort(key=_by_stake)
    return {"items": items, "ctas": total, "offset": offset, "limit": limit}


def _named(workspace: Workspace, items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    names = account_owners(workspace, [i["account_id"] for i in items])
    for item in items:
        item["account_name"] = names.get(item["account_id"], {}).get("name", item["account_id"])
    return names


def my_work(workspace: Workspace, owner: str, as_of: date) -> dict[str, Any]:
    """:func:`work_items` of ``owner`` (each with its ``account_name``), and the
    renewals of their accounts and the milestones they own due within
    :data:`HORIZON_DAYS`, the most ARR first."""
    work = work_items(workspace, as_of, owner=owner)
    _named(workspace, work["items"])
    work["renewals"] = _renewals_of(workspace, owner, as_of)
    work["milestones"] = due_milestones(
        workspace, as_of, as_of + timedelta(days=HORIZON_DAYS), owner=owner
    )
    _named(workspace, work["milestones"])
    return work


def _renewals_of(workspace: Workspace, owner: str, as_of: date) -> list[dict[str, Any]]:
    # the whole book's renewals, kept like the portfolio's figures (the server drops them
    # after an import or a cycle): building the book costs ~0.9 s at 50,000 accounts
    lines = memo(
        ("upcoming renewals", workspace.key, as_of, HORIZON_DAYS),
        lambda: revenue_service.upcoming_renewals(workspace, as_of, HORIZON_DAYS),
    )
    owners = account_owners(workspace, sorted({str(r["account_id"]) for r in lines}))
    by_account: dict[str, dict[str, Any]] = {}
    for line in lines:
        account = owners.get(str(line["account_id"]))
        if account is None or account.get("owner") != owner:
            continue
        entry = by_account.setdefault(str(line["account_id"]), {
            "account_id": line["account_id"], "account_name": account.get("name"),
            "ends_on": line["ends_on"], "arr": Decimal(0)})  # fmt: skip
        entry["ends_on"] = min(entry["ends_on"], line["ends_on"])
        entry["arr"] += Decimal(line.get("arr") or 0)
    return sorted(by_account.values(), key=lambda r: (-r["arr"], r["ends_on"]))


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
    """Complete a task or start a CTA. The CTA must be visible to ``scope`` and hold
    the task (NotFoundError otherwise)."""
    if kind not in KINDS or action not in ACTIONS:
        raise InputError(f"cannot {action!r} a {kind!r}", hint="complete a task; start a CTA")
    detail = cta_detail(workspace, cta_id, as_of=now.date(), scope=scope)
    if kind == "task" and action == "complete":
        if item_id not in {t["task_id"] for t in detail["tasks"]}:
            raise NotFoundError(f"no task {item_id} in CTA {cta_id}")
        complete_task(workspace, item_id, now)
    elif kind == "cta" and item_id == cta_id and action == "start":
        start_cta(workspace, cta_id, now, scope=scope)
    else:
        raise InputError(f"cannot {action} a {kind}", hint="complete a task; start a CTA")
