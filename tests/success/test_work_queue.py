"""The team queue's work items read a page in the store (sorted, counted and cut there,
tasks in one query) and give what the whole list did: CTAs by stake, each followed by
its open tasks, on hand-made CTAs with ties, missing stakes, closed and snoozed ones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from keepwell.contract.service import import_file
from keepwell.core.database import transaction
from keepwell.core.workspace import Workspace
from keepwell.success import service
from keepwell.success.models import Cta, CtaTask
from tests.factories import nth_row, write_rows

AS_OF = date(2026, 3, 10)
NOW = datetime(2026, 3, 10, 9, tzinfo=UTC)
OWNERS = ("ann@example.com", "bob@example.com")
#: (stake, priority, status, due in days, owner index, tasks as (due in days, open))
CTAS: list[tuple[Decimal | None, str, str, int | None, int, list[tuple[int, bool]]]] = [
    (Decimal(500), "high", "open", -3, 0, [(5, True), (-1, True), (2, False)]),
    (Decimal(500), "urgent", "in_progress", 4, 1, [(1, True)]),
    (None, "low", "open", None, 0, [(3, True)]),
    (Decimal(0), "medium", "snoozed", -8, 1, []),
    (Decimal("1200.5"), "medium", "open", 10, 0, [(9, True), (9, True)]),
    (Decimal(500), "low", "closed", -2, 0, [(1, True)]),
    (Decimal(80), "urgent", "open", -1, 1, [(-4, True), (7, False)]),
    (Decimal(500), "medium", "open", 6, 1, []),
    (None, "high", "in_progress", -5, 0, [(2, True)]),
    (Decimal(80), "high", "snoozed", 3, 0, [(4, True)]),
    (Decimal(3), "low", "open", 2, 1, [(1, True), (0, True), (6, True)]),
]


def _seed(ws: Workspace, tmp: Any) -> None:
    rows = [nth_row("accounts", i, owner=OWNERS[i % 2]) for i in range(4)]
    import_file(ws, "accounts", write_rows(tmp / "accounts.csv", rows))
    accounts = [r["account_id"] for r in rows]
    with transaction(ws.engine) as session:
        for n, (stake, priority, status, due, owner, tasks) in enumerate(CTAS):
            cta = Cta(account_id=accounts[n % 4], rule=f"r{n}", key=f"k{n}", type="risk",
                      priority=priority, stake=stake, title=f"CTA {n}", reason="hand-made",
                      playbook="save" if n % 2 else None,
                      trigger_values={}, owner=OWNERS[owner], status=status,
                      open_key=None if status == "closed" else f"{accounts[n % 4]}:k{n}",
                      opened_on=AS_OF - timedelta(days=20),
                      due_on=None if due is None else AS_OF + timedelta(days=due),
                      created_at=NOW, updated_at=NOW)  # fmt: skip
            session.add(cta)
            session.flush()
            for position, (task_due, is_open) in enumerate(tasks, start=1):
                session.add(CtaTask(cta_id=cta.id, position=position, title=f"task {n}.{position}",
                                    owner_role="csm", owner=OWNERS[owner],
                                    due_on=AS_OF + timedelta(days=task_due),
                                    status="open" if is_open else "done"))  # fmt: skip


def _whole_list(ws: Workspace, **filters: Any) -> list[tuple[str, int, int | None, bool]]:
    """The items as the queue built them before: every CTA, then each one's detail."""
    items = []
    for cta in service.list_ctas(ws, as_of=AS_OF, by_stake=True, **filters):
        items.append(("cta", cta["cta_id"], cta["cta_id"], cta["overdue"], cta["stake"], None))
        tasks = service.cta_detail(ws, cta["cta_id"], as_of=AS_OF)["tasks"]
        items += [("task", t["task_id"], cta["cta_id"], t["overdue"], cta["stake"], t["due_on"])
                  for t in tasks if t["status"] == "open"]  # fmt: skip
    items.sort(key=lambda i: (-float(i[4] or 0), i[2], i[0] != "cta", i[5] or date.max))
    return [(kind, ident, cta_id, overdue) for kind, ident, cta_id, overdue, _, _ in items]


def _shown(work: dict[str, Any]) -> list[tuple[str, int, int | None, bool]]:
    return [(i["kind"], i["id"], i["cta_id"], i["overdue"]) for i in work["items"]]


def test_pages_of_the_queue_add_up_to_the_whole_list(workspace: Workspace, tmp_path: Any) -> None:
    _seed(workspace, tmp_path)
    for filters in ({}, {"owner": OWNERS[1]}, {"overdue": True}, {"priority": "urgent"},
                    {"owners": [OWNERS[0]]}, {"owners": []}):  # fmt: skip
        expected = _whole_list(workspace, **filters)
        whole = service.work_items(workspace, AS_OF, **filters)
        assert _shown(whole) == expected, filters
        paged = []
        for offset in range(0, len(CTAS), 3):
            page = service.work_items(workspace, AS_OF, limit=3, offset=offset, **filters)
            assert page["ctas"] == whole["ctas"] == sum(1 for k, *_ in expected if k == "cta")
            paged += _shown(page)
        assert paged == expected, filters
    assert service.work_items(workspace, AS_OF, owners=[])["items"] == []
    assert service.cta_owners(workspace) == sorted(OWNERS)


def test_kept_playbook_figures_follow_a_closed_cta(workspace: Workspace, tmp_path: Any) -> None:
    """Playbook effectiveness is kept while the playbooks' CTAs are unchanged: closing
    one shows at once."""
    _seed(workspace, tmp_path)
    before = service.playbook_effectiveness(workspace, AS_OF)
    (save,) = before["playbooks"]
    assert (save["openings"], save["outcomes"], before["closed"]) == (5, {}, 1)
    live = [c for c in service.list_ctas(workspace, as_of=AS_OF) if c["playbook"]]
    service.close_cta(workspace, live[0]["cta_id"], outcome="saved", reason="ok",
                      now=NOW - timedelta(days=30))  # fmt: skip
    after = service.playbook_effectiveness(workspace, AS_OF)
    assert (after["playbooks"][0]["outcomes"], after["closed"]) == ({"saved": 1}, 2)
