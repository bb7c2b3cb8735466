"""The analytics store: events deduplicated on message_id, the daily rollup kept equal to
a fresh aggregation of raw events however the events arrive, and time zones."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keepwell.core.errors import ConfigurationError
from keepwell.core.warehouse import EVENT_BATCH_SCHEMA, AnalyticsStore


def batch(rows: list[tuple[str, str, str | None, str, int, str]]) -> pa.Table:
    """rows of (timestamp, account, user, event, count, message_id)."""
    return pa.Table.from_pylist(
        [
            {
                "timestamp": datetime.fromisoformat(ts),
                "account_id": acct,
                "user_id": user,
                "event": ev,
                "count": n,
                "message_id": mid,
                "properties": None,
            }
            for ts, acct, user, ev, n, mid in rows
        ],
        schema=EVENT_BATCH_SCHEMA,
    )


def rollup_rows(store: AnalyticsStore) -> list[tuple[object, ...]]:
    df = store.rollup().order_by(["day", "account_id", "user_id", "event"]).to_pyarrow()
    return sorted(
        (str(r["day"]), r["account_id"], r["user_id"] or "", r["event"], r["count"])
        for r in df.to_pylist()
    )


def fresh_aggregation(store: AnalyticsStore) -> list[tuple[object, ...]]:
    rows = store.con.con.execute(
        "SELECT CAST(timestamp AS DATE)::VARCHAR, account_id, coalesce(user_id, ''), event, "
        "sum(count) FROM events GROUP BY ALL"
    ).fetchall()
    return sorted(tuple(r) for r in rows)


def test_duplicates_by_message_id_count_once() -> None:
    store = AnalyticsStore.open("duckdb://")
    first = store.append_events(batch([("2026-01-01T10:00", "a", "u1", "login", 1, "m1")] * 2))
    second = store.append_events(batch([("2026-01-01T10:00", "a", "u1", "login", 1, "m1")]))

    assert (first.inserted, first.duplicates) == (1, 1)
    assert (second.inserted, second.duplicates) == (0, 1)
    assert rollup_rows(store) == [("2026-01-01", "a", "u1", "login", 1)]


EVENT = st.tuples(
    st.sampled_from(["2026-01-01T00:30", "2026-01-01T23:59", "2026-01-02T12:00"]),
    st.sampled_from(["a", "b"]),
    st.sampled_from(["u1", "u2", None]),
    st.sampled_from(["login", "export"]),
    st.integers(1, 3),
    st.sampled_from([f"m{i}" for i in range(12)]),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(EVENT, max_size=8), max_size=5))
def test_rollup_equals_a_fresh_aggregation_however_events_arrive(
    batches: list[list[tuple[str, str, str | None, str, int, str]]],
) -> None:
    store = AnalyticsStore.open("duckdb://")
    for rows in batches:
        store.append_events(batch(rows))
    assert rollup_rows(store) == fresh_aggregation(store)
    store.close()


def test_days_follow_the_workspace_time_zone() -> None:
    store = AnalyticsStore.open("duckdb://", timezone="America/New_York")
    store.append_events(batch([("2026-01-02T03:00", "a", "u1", "login", 1, "m1")]))

    assert rollup_rows(store) == [("2026-01-01", "a", "u1", "login", 1)]

    store.timezone = "UTC"
    store.rebuild_rollup()
    assert rollup_rows(store) == [("2026-01-02", "a", "u1", "login", 1)]


def test_unknown_time_zone_and_bad_url_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="unknown time zone"):
        AnalyticsStore.open("duckdb://", timezone="Mars/Olympus'; DROP TABLE events")
    with pytest.raises(ConfigurationError, match="not a DuckDB URL"):
        AnalyticsStore.open("snowflake://x")


def test_a_rolled_back_transaction_keeps_nothing() -> None:
    store = AnalyticsStore.open("duckdb://")
    with store.transaction(commit=False):
        store.append_events(batch([("2026-01-01T10:00", "a", "u1", "login", 1, "m1")]))
    assert store.events().count().execute() == 0
    assert store.rollup().count().execute() == 0


def test_memory_limit_is_applied_and_checked() -> None:
    store = AnalyticsStore.open("duckdb://")
    store.limit_memory("384MB")
    [(value,)] = store.con.con.execute("SELECT current_setting('memory_limit')").fetchall()
    assert value.startswith("366")  # DuckDB shows 384 MB in MiB
    with pytest.raises(ConfigurationError, match="not a size"):
        store.limit_memory("1GB'; DROP TABLE events; --")
