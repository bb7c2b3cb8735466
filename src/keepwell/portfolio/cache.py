"""The built account directories of this process: the first request of a day builds its
directory; once older than :data:`TTL_SECONDS` it is rebuilt in the background while
requests keep reading the previous one (so no page waits for a rebuild but the first)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date

from keepwell.core import heap
from keepwell.portfolio.directory import Directory

#: Seconds a built directory is served before it is rebuilt (in the background).
TTL_SECONDS = 300.0
#: Directories (days) kept per workspace.
KEEP = 3
Key = tuple[tuple[str, str], date]
Builder = Callable[[], Directory]

_cache: dict[Key, tuple[float, Directory]] = {}
_lock = threading.Lock()
_refreshing: set[Key] = set()
#: Per workspace, how many times :func:`forget` dropped its directories: a background
#: rebuild that spans a forget is not kept (it may hold rows from before the change).
_forgets: dict[tuple[str, str], int] = {}


def cached(key: Key, build: Builder) -> Directory:
    """The directory of ``key`` (workspace key, day), built by ``build`` when missing."""
    with _lock:
        hit = _cache.get(key)
        if hit is None:
            mine = sorted((v[0], k) for k, v in _cache.items() if k[0] == key[0])
            for _, old in mine[: max(0, len(mine) - KEEP + 1)]:
                del _cache[old]  # the oldest days' directories of this workspace
            _cache[key] = (time.monotonic(), build())
            heap.settle()  # the directory is long-lived: out of the collector's walks
            return _cache[key][1]
        if time.monotonic() - hit[0] >= TTL_SECONDS and key not in _refreshing:
            _refreshing.add(key)
            forgets = _forgets.get(key[0], 0)
            threading.Thread(target=_refresh, args=(key, build, forgets), daemon=True).start()
        return hit[1]


def holds(key: Key) -> bool:
    """Whether the directory of ``key`` is built."""
    with _lock:
        return key in _cache


def _refresh(key: Key, build: Builder, forgets: int) -> None:
    try:
        built = build()
        with _lock:
            if _forgets.get(key[0], 0) != forgets:
                return  # dropped while it was built: the next request builds anew
            _cache[key] = (time.monotonic(), built)
        heap.settle()
    finally:
        with _lock:
            _refreshing.discard(key)


def forget(workspace_key: tuple[str, str]) -> None:
    """Drop the directories of the workspace named ``workspace_key``."""
    with _lock:
        _forgets[workspace_key] = _forgets.get(workspace_key, 0) + 1
        for key in [k for k in _cache if k[0] == workspace_key]:
            del _cache[key]
