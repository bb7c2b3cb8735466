"""Health history in one pass equals the portfolio assessed day by day, exactly.

The history (:func:`assess_history`) computes every measure as of many days from one
query; each day of it must be what :func:`assess_portfolio` gives for that day alone:
same customers, same values (no value of another day leaking in), same scores.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import date, timedelta
from typing import Any

import ibis
import pyarrow as pa
import pytest

from keepwell.contract.service import import_file
from keepwell.core.workspace import Workspace
from keepwell.demo.pipeline import IMPORT_ORDER
from keepwell.demo.service import generate_demo
from keepwell.health import service as health_service
from keepwell.health.backtest import outcomes, outcomes_history
from keepwell.health.config import default_config_text, parse_config
from keepwell.health.days import AS_OF, as_of_days
from keepwell.health.measures import MeasureConfig, MeasureInputs
from keepwell.health.portfolio import AccountHealth, assess_history, assess_portfolio
from keepwell.health.usage import (
    Aggregation,
    CustomMeasure,
    UsageConfig,
    custom_history,
    usage_history,
)
from tests.conftest import make_workspace

from .factories import rollup, table, ts

ZONE = "America/New_York"
#: Month ends, a quarter's first day, the days around both 2025 DST changes in New York
DAYS = [
    date(2025, 3, 8),
    date(2025, 3, 9),
    date(2025, 3, 31),
    date(2025, 6, 30),
    date(2025, 7, 1),
    date(2025, 11, 1),
    date(2025, 11, 2),
    date(2025, 12, 31),
]
BASE = parse_config(default_config_text())
CONFIG = dataclasses.replace(
    BASE,
    measures=MeasureConfig(
        usage=UsageConfig(key_features=("report_created", "export")),
        custom=(
            CustomMeasure("reports_45d", ("report_created",), window_days=45),
            CustomMeasure("user_days_30d", ("login",), aggregation=Aggregation.USER_DAYS),
        ),
        external=("plan_progress",),
    ),
)


def _events() -> list[tuple[date, str, str | None, str, int]]:
    events: list[tuple[date, str, str | None, str, int]] = []
    # A: active all year, u2 stops on 2025-04-01 (lapses in Q2), u3 starts on 2025-07-01
    for k in range(0, 365, 3):
        day = date(2025, 1, 1) + timedelta(days=k)
        events.append((day, "A", "u1", "login", 1 + k % 4))
        if day <= date(2025, 4, 1):
            events.append((day, "A", "u2", "report_created", 2))
        if day >= date(2025, 7, 1):
            events.append((day, "A", "u3", "export", 1))
        if k % 9 == 0:
            events.append((day, "A", None, "page_viewed", 5))  # anonymous
    events.append((date(2025, 3, 31), "A", "u2", "login", 1))  # on an as-of day
    events.append((date(2025, 7, 1), "A", "u3", "login", 1))  # the first day of Q3
    # D: active in January only, then silent: its last event predates every window
    events += [(date(2025, 1, d), "D", "u1", "login", 1) for d in (5, 6, 20)]
    # E: starts mid-window (created and first line on 2025-06-15)
    events += [(date(2025, 6, 15) + timedelta(days=k), "E", "e1", "login", 2) for k in range(40)]
    return events


ACCOUNTS = [
    {"account_id": "A", "name": "A", "created_at": date(2024, 1, 1), "category_budget": 90000},
    {"account_id": "B", "name": "B", "created_at": date(2024, 6, 1)},  # no events at all
    {"account_id": "D", "name": "D", "created_at": date(2024, 6, 1), "industry": "retail"},
    {"account_id": "E", "name": "E", "created_at": date(2025, 6, 15)},
    {"account_id": "P", "name": "P", "is_prospect": True},
]
LINES = [
    {"line_id": "a1", "account_id": "A", "product": "core", "mrr": 1000, "quantity": 10,
     "starts_on": date(2024, 1, 1), "ends_on": date(2026, 1, 1)},
    {"line_id": "a2", "account_id": "A", "product": "addon", "mrr": 500, "quantity": 5,
     "starts_on": date(2025, 5, 1)},
    {"line_id": "b1", "account_id": "B", "product": "core", "mrr": 300, "quantity": 3,
     "starts_on": date(2024, 6, 1), "ends_on": date(2025, 9, 1)},
    {"line_id": "d1", "account_id": "D", "product": "core", "mrr": 200, "quantity": 2,
     "starts_on": date(2024, 6, 1)},
    {"line_id": "e1", "account_id": "E", "product": "core", "mrr": 700, "quantity": 7,
     "starts_on": date(2025, 6, 15)},
]  # fmt: skip
# late-evening facts in New York: after midnight UTC, so a day later in UTC
EVENING = [date(2025, 3, 8), date(2025, 3, 9), date(2025, 6, 30), date(2025, 11, 1)]


def _inputs() -> MeasureInputs:
    late = [ts(d + timedelta(days=1), 3) for d in EVENING]  # 22:00 or 23:00 local
    return MeasureInputs(
        rollup=rollup(_events()),
        accounts=table("accounts", ACCOUNTS),
        subscriptions=table("subscriptions", LINES),
        contacts=table(
            "contacts",
            [
                {"contact_id": "c1", "account_id": "A", "role": "sponsor", "is_active": True},
                {
                    "contact_id": "c2",
                    "account_id": "A",
                    "role": "champion",
                    "is_active": False,
                    "left_on": date(2025, 3, 9),
                },
                {"contact_id": "c3", "account_id": "D", "role": "champion", "is_active": True},
            ],
        ),
        invoices=table(
            "invoices",
            [
                {
                    "invoice_id": f"i{k}",
                    "account_id": "A",
                    "amount": 1000,
                    "issued_on": date(2025, 1, 1) + timedelta(days=30 * k),
                    "due_on": date(2025, 1, 31) + timedelta(days=30 * k),
                    "paid_on": date(2025, 2, 10) + timedelta(days=30 * k) if k % 3 else None,
                }
                for k in range(12)
            ],
        ),
        tickets=table(
            "tickets",
            [
                {
                    "ticket_id": f"t{k}",
                    "account_id": "A" if k % 2 else "D",
                    "opened_at": at,
                    "closed_at": at + timedelta(days=5) if k < 2 else None,
                    "priority": "urgent",
                    "csat": 4,
                }
                for k, at in enumerate(late)
            ],
        ),
        surveys=table(
            "surveys",
            [
                {
                    "response_id": f"r{k}",
                    "account_id": "A",
                    "contact_id": "c1",
                    "responded_at": at,
                    "kind": "nps",
                    "score": 10 - 2 * k,
                }
                for k, at in enumerate(late)
            ],
        ),
        activities=table(
            "activities",
            [
                {
                    "activity_id": f"m{k}",
                    "account_id": "A",
                    "occurred_at": at,
                    "kind": "business_review" if k % 2 else "meeting",
                }
                for k, at in enumerate(late)
            ],
        ),
        timezone=ZONE,
        external=ibis.memtable(
            pa.table(
                {
                    "measure": ["plan_progress"] * 3,
                    "account_id": ["A", "A", "D"],
                    "measured_on": [date(2025, 2, 1), date(2025, 7, 1), date(2025, 3, 9)],
                    "value": [0.25, 0.75, None],
                },
                schema=pa.schema(
                    [
                        ("measure", pa.string()),
                        ("account_id", pa.string()),
                        ("measured_on", pa.date32()),
                        ("value", pa.float64()),
                    ]
                ),
            )
        ),
    )


def _same(value: Any, other: Any) -> bool:
    if isinstance(value, float) and isinstance(other, float) and math.isnan(value):
        return math.isnan(other)
    return bool(value == other) and type(value) is type(other)


def _assert_equal(history: list[AccountHealth], alone: list[AccountHealth], day: date) -> None:
    assert [h.score.account_id for h in history] == [h.score.account_id for h in alone], day
    for h, a in zip(history, alone, strict=True):
        where = f"{a.score.account_id} as of {day}"
        assert list(h.values) == list(a.values), where  # same columns, same order
        different = {k: (h.values[k], v) for k, v in a.values.items() if not _same(h.values[k], v)}
        assert not different, where
        assert h.score.to_dict() == a.score.to_dict(), where
        assert (h.as_of, h.stage, h.stage_overdue, h.days_in_stage) == (
            a.as_of, a.stage, a.stage_overdue, a.days_in_stage,
        ), where  # fmt: skip


@pytest.mark.slow
def test_history_equals_each_day_assessed_alone() -> None:
    inputs = _inputs()
    history = assess_history(inputs, reversed(DAYS), CONFIG)  # any order in, oldest first out
    assert list(history) == DAYS
    for day in DAYS:
        _assert_equal(history[day], assess_portfolio(inputs, day, CONFIG), day)


def test_history_edge_cases_have_the_values_of_their_day() -> None:
    history = assess_history(_inputs(), DAYS, CONFIG)
    rows = {day: {h.score.account_id: h.values for h in history[day]} for day in DAYS}
    # E exists from 2025-06-15 on; B's only line ended 2025-09-01; P is a prospect
    assert set(rows[date(2025, 3, 31)]) == {"A", "B", "D"}
    assert set(rows[date(2025, 6, 30)]) == {"A", "B", "D", "E"}
    assert set(rows[date(2025, 12, 31)]) == {"A", "D", "E"}
    # D's last event (2025-01-20) is older than every window of the later days
    assert rows[date(2025, 12, 31)]["D"]["days_since_last_activity"] == 345
    assert rows[date(2025, 12, 31)]["D"]["active_users_30d"] == 0
    assert rows[date(2025, 3, 31)]["B"]["days_since_last_activity"] is None  # no events
    # u2's last event is 2025-04-01: lapsed (removed) in Q2, not before nor after
    assert rows[date(2025, 6, 30)]["A"]["users_removed_quarter"] == 1
    assert rows[date(2025, 3, 31)]["A"]["users_removed_quarter"] == 0
    assert rows[date(2025, 7, 1)]["A"]["users_removed_quarter"] == 0
    # u3's first event is 2025-07-01, the first day of Q3
    assert rows[date(2025, 7, 1)]["A"]["users_added_quarter"] == 1
    assert rows[date(2025, 6, 30)]["A"]["users_added_quarter"] == 0
    # 22:00 New York on 2025-03-08 is 03:00 UTC on 03-09: a meeting of 03-08 local
    assert rows[date(2025, 3, 8)]["A"]["days_since_meeting"] == 0
    assert rows[date(2025, 3, 9)]["A"]["days_since_meeting"] == 0  # the review of 03-09
    # the latest external value measured on or before each day
    assert rows[date(2025, 6, 30)]["A"]["plan_progress"] == 0.25
    assert rows[date(2025, 7, 1)]["A"]["plan_progress"] == 0.75


def test_outcomes_history_equals_each_day_alone() -> None:
    subscriptions = _inputs().subscriptions
    together = outcomes_history(subscriptions, DAYS, 90)
    assert together == {day: outcomes(subscriptions, day, 90) for day in DAYS}
    assert together[date(2025, 6, 30)]["B"] == (True, False)  # ends 2025-09-01


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A small demo company imported into a workspace (SQLite, DuckDB)."""
    root = tmp_path_factory.mktemp("demo")
    summary = generate_demo(
        root / "data", accounts=25, months=14, seed=3, end_month=date(2026, 2, 1)
    )
    workspace = make_workspace(root / "ws")
    for entity in IMPORT_ORDER:
        import_file(workspace, entity, summary.files[entity])
    return workspace


def test_demo_point_in_time_history_equals_each_day_assessed_alone(demo: Workspace) -> None:
    days = [date(2025, 3, 31), date(2025, 7, 1), date(2025, 10, 31), date(2026, 2, 28)]
    history = health_service.point_in_time_history(demo, days, 90, until=date(2026, 2, 28))
    assert [p.as_of for p in history] == days
    assert sum(len(p.accounts) for p in history) > 40
    for pit in history:
        _assert_equal(pit.accounts, health_service.assess(demo, pit.as_of), pit.as_of)
    assert history[-1].outcomes is None  # its horizon passes the data's end
    assert history[0].outcomes is not None


def test_custom_measures_with_the_usage_windows_equal_their_own_query() -> None:
    """The custom measures :func:`usage_history` computes from its per-segment sums have
    the values of :func:`custom_history` over the rollup rows, on every day and account
    (anonymous rows, a user without the event, windows cutting the segments)."""
    customs = (
        CustomMeasure("reports", ("report_created",)),
        CustomMeasure("reports_7d_per_user", ("report_created",), 7, per_active_user=True),
        CustomMeasure("exporters_90d", ("export",), 90, Aggregation.ACTIVE_USERS),
        CustomMeasure("login_days", ("login",), 30, Aggregation.USER_DAYS, per_active_user=True),
        # by themselves: distinct days across users, or across events
        CustomMeasure("work_days_45d", ("login", "export"), 45, Aggregation.USER_DAYS),
        CustomMeasure("views", ("page_viewed",), 30, Aggregation.ACTIVE_DAYS),
    )
    events = rollup(_events())
    days = as_of_days(DAYS, offsets=[m.window_days for m in customs])
    config = UsageConfig(key_features=("report_created",))
    usage = usage_history(events, days, config, customs).to_pyarrow().to_pylist()
    assert "views" not in usage[0]
    assert "work_days_45d" not in usage[0]
    for measure in customs[:-2]:
        alone = custom_history(events, days, measure).to_pyarrow().to_pylist()
        expected = {(r[AS_OF], r["account_id"]): r[measure.name] for r in alone}
        got = {(r[AS_OF], r["account_id"]): r[measure.name] for r in usage}
        assert {k: got[k] for k in expected} == expected, measure.name
        assert all(v is None for k, v in got.items() if k not in expected), measure.name
        assert any(v for v in expected.values()), measure.name  # not all zero or empty
