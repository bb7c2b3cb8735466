"""Usage measures over hand-made rollups."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from keepwell.health.usage import (
    Aggregation,
    CustomMeasure,
    UsageConfig,
    custom_measure,
    usage_measures,
)

from .factories import rollup

AS_OF = date(2025, 5, 15)  # quarter starts 2025-04-01
CONFIG = UsageConfig(key_features=("report_created", "dashboard_shared"), login_event="login")


def _d(days_before: int) -> date:
    return AS_OF - timedelta(days=days_before)


ROWS: list[tuple[date, str, str | None, str, int]] = [
    (_d(0), "A", "u1", "login", 2),
    (_d(3), "A", "u2", "login", 1),
    (_d(3), "A", "u2", "report_created", 4),
    (_d(10), "A", "u3", "login", 1),
    (_d(40), "A", "u1", "login", 3),
    (_d(40), "A", None, "sync", 5),
    (date(2025, 1, 10), "A", "u4", "login", 1),  # u4 lapsed: last seen 2025-03-20 + 30 = in Q2
    (date(2025, 3, 20), "A", "u4", "login", 1),
    (_d(5), "B", None, "sync", 7),  # events without a user
]


def _by_account(rows: list[tuple[date, str, str | None, str, int]]) -> dict[str, dict[str, Any]]:
    result = usage_measures(rollup(rows), AS_OF, CONFIG).to_pyarrow().to_pylist()
    return {row["account_id"]: row for row in result}


def test_active_users_and_event_windows() -> None:
    a = _by_account(ROWS)["A"]
    assert a["active_users_7d"] == 2  # u1, u2
    assert a["active_users_30d"] == 3  # u1, u2, u3
    assert a["events_30d"] == 8
    assert a["events_trend_30d"] == pytest.approx(8 / 9 - 1)  # 31-60 days before: 3 + 5 + 1
    assert a["active_users_trend_30d"] == pytest.approx(3 / 2 - 1)  # u1, u4 before
    assert a["logins_per_active_user_week"] == pytest.approx(4 / 3 * 7 / 30)
    assert a["feature_breadth_30d"] == pytest.approx(0.5)
    assert a["days_since_last_activity"] == 0


def test_users_added_and_removed_this_quarter() -> None:
    a = _by_account(ROWS)["A"]
    # u1 first seen 40 days before (2025-04-05: in Q2), u2 and u3 too; u4 first seen in Q1
    assert a["users_added_quarter"] == 3
    assert a["users_removed_quarter"] == 1  # u4 lapsed on 2025-04-19


def test_account_without_users_has_no_per_user_values() -> None:
    b = _by_account(ROWS)["B"]
    assert b["active_users_30d"] == 0
    assert b["logins_per_active_user_week"] is None
    assert b["events_30d"] == 7
    assert b["days_since_last_activity"] == 5
    assert b["events_trend_30d"] is None  # nothing in the 30 days before


def test_slope_is_relative_change_per_30_days() -> None:
    rising = [(_d(89 - i), "C", "u", "x", 1 + i) for i in range(90)]
    flat = [(_d(i), "F", "u", "x", 10) for i in range(90)]
    rows = _by_account(rising + flat)
    mean = sum(1 + i for i in range(90)) / 90
    assert rows["C"]["usage_slope_90d"] == pytest.approx(1.0 * 30 / mean)
    assert rows["F"]["usage_slope_90d"] == pytest.approx(0.0, abs=1e-9)


def test_later_data_changes_nothing() -> None:
    later = [
        (AS_OF + timedelta(days=1), "A", "u9", "report_created", 50),
        (AS_OF + timedelta(days=30), "A", "u1", "dashboard_shared", 5),
        (AS_OF + timedelta(days=2), "Z", "u1", "login", 5),
    ]
    assert _by_account(ROWS + later) == _by_account(ROWS)


def test_custom_measure_per_active_user() -> None:
    measure = CustomMeasure(
        name="reports_per_user_30d", events=("report_created",), per_active_user=True
    )
    rows = custom_measure(rollup(ROWS), AS_OF, measure).to_pyarrow().to_pylist()
    values = {r["account_id"]: r["reports_per_user_30d"] for r in rows}
    assert values["A"] == pytest.approx(4 / 3)
    assert values["B"] is None  # no active users


def test_custom_measure_active_days_ignores_later_data() -> None:
    measure = CustomMeasure(
        name="login_days", events=("login",), window_days=60, aggregation=Aggregation.ACTIVE_DAYS
    )
    later = [(AS_OF + timedelta(days=1), "A", "u1", "login", 1)]
    for rows in (ROWS, ROWS + later):
        result = custom_measure(rollup(rows), AS_OF, measure).to_pyarrow().to_pylist()
        assert {r["account_id"]: r["login_days"] for r in result} == {"A": 5.0, "B": 0.0}


def test_custom_measure_user_days_per_active_user() -> None:
    measure = CustomMeasure(
        name="days_per_user",
        events=("login", "report_created"),
        aggregation=Aggregation.USER_DAYS,
        per_active_user=True,
    )
    rows = custom_measure(rollup(ROWS), AS_OF, measure).to_pyarrow().to_pylist()
    values = {r["account_id"]: r["days_per_user"] for r in rows}
    # u1 on day 0, u2 on day 3 (two events, one user-day), u3 on day 10: 3 user-days, 3 users
    assert values["A"] == pytest.approx(1.0)
    assert values["B"] is None
