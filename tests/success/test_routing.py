"""Routing and priority on a hand-made account: owned, red, sponsor gone, renewing in
15 days on tech-touch (the rules send tech-touch CTAs to a pool). Its CTAs go to its
owner at the top priority, its renewal tasks are all due before the renewal, and the
priority says why. The pure rules of :mod:`keepwell.success.routing` are checked on
values."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from keepwell.contract.service import import_file
from keepwell.core.workspace import Workspace
from keepwell.success import service
from keepwell.success.routing import assess_stake, route_owner, task_due_dates
from tests.factories import write_rows

AS_OF = date(2025, 7, 31)
RENEWAL = AS_OF + timedelta(days=15)
OWNER = "owner@example.com"


def _events(account: str, users: int, days: int) -> list[dict[str, str]]:
    start = AS_OF - timedelta(days=days - 1)
    return [
        {"timestamp": f"{start + timedelta(days=d)}T10:00:00Z", "account_id": account,
         "user_id": f"{account}-u{u}", "event": "login", "message_id": f"{account}-{d}-{u}"}
        for d in range(0, days, 9) for u in range(users)
    ]  # fmt: skip


def _company(ws: Workspace, tmp_path: Path) -> None:
    files = {
        "accounts": [
            {"account_id": "R", "name": "Riskco", "owner": OWNER, "created_at": "2023-01-01"},
            {"account_id": "U", "name": "Unowned", "created_at": "2023-01-01"},
        ],
        "subscriptions": [
            {"line_id": "r1", "account_id": "R", "product": "core", "mrr": "1500",
             "quantity": "10", "starts_on": "2024-08-15", "ends_on": RENEWAL.isoformat()},
            {"line_id": "u1", "account_id": "U", "product": "core", "mrr": "300",
             "quantity": "3", "starts_on": "2024-08-15", "ends_on": RENEWAL.isoformat()},
        ],
        "contacts": [
            {"contact_id": "c1", "account_id": "R", "role": "sponsor", "email": "s@r.example",
             "is_active": "false", "left_on": "2025-07-10"},
            {"contact_id": "c2", "account_id": "R", "role": "admin", "email": "a@r.example"},
            {"contact_id": "c3", "account_id": "U", "role": "admin", "email": "a@u.example"},
        ],
        "events": _events("R", 1, 90) + _events("U", 1, 90),
    }  # fmt: skip
    for entity, rows in files.items():
        report = import_file(ws, entity, write_rows(tmp_path / f"{entity}.csv", rows))
        assert report.rejected == 0, (entity, report)


def test_owned_red_renewing_account_goes_to_its_owner_at_the_top(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    ws = sqlite_workspace
    _company(ws, tmp_path)  # the shipped default rules and playbooks
    now = datetime(2025, 7, 31, 23, tzinfo=UTC)
    report = service.run_cycle(ws, AS_OF, clock=lambda: now, deliver=False)
    assert report.problems == []
    mine = service.list_ctas(ws, as_of=AS_OF, account_id="R")
    assert {c["rule"] for c in mine} == {"renewal-due-pooled", "sponsor-left-pooled"}
    for cta in mine:
        detail = service.cta_detail(ws, cta["cta_id"], as_of=AS_OF)
        assert detail["trigger_values"]["segment"] == "tech-touch"
        assert detail["trigger_values"]["band"] == "red"
        assert cta["owner"] == OWNER  # not the tech-touch pool
        assert cta["priority"] == "urgent", cta["priority_why"]
        assert "renewal in 15 days: +2" in cta["priority_why"]
        assert "sponsor or champion left: +1" in cta["priority_why"]
        assert {t["owner"] for t in detail["tasks"] if t["owner_role"] == "csm"} == {OWNER}
    renewal = next(c for c in mine if c["type"] == "renewal")
    tasks = service.cta_detail(ws, renewal["cta_id"], as_of=AS_OF)["tasks"]
    assert len(tasks) == 2
    assert all(AS_OF <= t["due_on"] <= RENEWAL for t in tasks), tasks
    assert tasks[-1]["due_on"] < RENEWAL  # "confirm the renewal" a week before it
    assert tasks[0]["due_on"] <= tasks[1]["due_on"]
    # the unowned tech-touch account is the pool's
    (pooled, *_) = service.list_ctas(ws, as_of=AS_OF, account_id="U")
    assert pooled["owner"] == "digital-success@keepwell-demo.example"
    # ordered by stake, the owner's riskiest work comes first
    work = service.list_ctas(ws, as_of=AS_OF, by_stake=True)
    assert work[0]["account_id"] == "R"


def test_stake_and_priority_from_what_is_at_stake() -> None:
    risky = {"arr": 18000, "churn_probability": 0.84, "band": "red", "days_to_renewal": 15,
             "key_contact_left_90d": 1}  # fmt: skip
    calm = {"arr": 18000, "churn_probability": 0.05, "band": "green", "days_to_renewal": 100,
            "key_contact_left_90d": 0}  # fmt: skip
    top, low = assess_stake(risky, "medium"), assess_stake(calm, "medium")
    assert (top.priority, top.points) == ("urgent", 6)
    # 18000 x 0.84 x (1 + 75/45) x 1.5
    assert top.value == Decimal("60480.00")
    assert "churn probability 84%: +3" in top.why
    assert (low.priority, low.points) == ("medium", 0)  # the rule's floor
    assert low.value < top.value
    assert assess_stake(calm, "urgent").priority == "urgent"
    unscored = assess_stake({"arr": None, "band": None})
    assert (unscored.priority, unscored.value) == ("low", Decimal("0.00"))


def test_routing_owner_first_pool_only_without_one() -> None:
    pools = {"tech-touch": "pool@x"}
    assert route_owner("o@x", "tech-touch", pools) == "o@x"
    assert route_owner(None, "tech-touch", pools) == "pool@x"
    assert route_owner("", "high-touch", pools) is None


def test_task_dates_count_backwards_from_the_event_and_never_pass_it() -> None:
    opened = date(2026, 11, 30)
    renewal = date(2026, 12, 16)
    dues = task_due_dates([7, 30, 45, 90], opened, renewal, [0, 0, 0, 7])
    assert dues == sorted(dues)
    assert all(opened <= d <= renewal - timedelta(days=7) for d in dues), dues
    far = task_due_dates([7, 30], opened, opened + timedelta(days=100), [0, 5])
    assert far == [opened + timedelta(days=72), opened + timedelta(days=95)]
    assert task_due_dates([3], opened) == [opened + timedelta(days=3)]


def test_a_segment_set_by_hand_wins_over_the_rules_until_cleared(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    from keepwell.core.errors import InputError
    from keepwell.health import service as health_service

    ws = sqlite_workspace
    _company(ws, tmp_path)

    def segment() -> str:
        return next(str(a.values["segment"]) for a in health_service.assess(ws, AS_OF)
                    if a.score.account_id == "R")  # fmt: skip

    assert segment() == "tech-touch"
    service.set_segment(ws, "R", "high-touch", scope=None)
    assert segment() == "high-touch"
    with pytest.raises(InputError, match="unknown segment 'vip'"):
        service.set_segment(ws, "R", "vip", scope=None)
    service.set_segment(ws, "R", "", scope=None)
    assert segment() == "tech-touch"
