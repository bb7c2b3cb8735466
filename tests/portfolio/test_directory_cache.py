"""The kept account directories: a background rebuild that spans a write is not kept."""

from __future__ import annotations

import time
from datetime import date

import pytest

from keepwell.portfolio import cache
from keepwell.portfolio.directory import Directory


def _wait_for_rebuilds() -> None:
    deadline = time.monotonic() + 10
    while cache._refreshing and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not cache._refreshing


def test_a_rebuild_during_which_the_stores_changed_is_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = ("/ws/rebuild", "sqlite:///rebuild")
    key = (ws, date(2026, 3, 31))
    first, second, third = (Directory.__new__(Directory) for _ in range(3))
    assert cache.cached(key, lambda: first) is first
    monkeypatch.setattr(cache, "TTL_SECONDS", 0.0)  # due for a rebuild in the background

    def build_during_a_write() -> Directory:
        cache.forget(ws)  # a write lands while the rebuild reads the stores
        return second

    assert cache.cached(key, build_during_a_write) is first  # served while it rebuilds
    _wait_for_rebuilds()
    assert not cache.holds(key)  # before: the rebuild kept its pre-write rows
    monkeypatch.setattr(cache, "TTL_SECONDS", 300.0)
    assert cache.cached(key, lambda: third) is third
    cache.forget(ws)
