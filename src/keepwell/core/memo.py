"""A process-local memo for figures that change with imports and scoring, not from one
request to the next: a value is reused for :data:`TTL_SECONDS` under its key."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")
#: Seconds a memoised value is reused.
TTL_SECONDS = 300.0
_values: dict[Hashable, tuple[float, object]] = {}
_lock = threading.Lock()
#: How many times :func:`forget` ran: a value computed across a forget is not kept.
_forgets = 0


def memo(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, or its value of the last :data:`TTL_SECONDS` for ``key`` (which
    must name everything the value depends on: the workspace, the caller's scope, the
    day, ...)."""
    now = time.monotonic()
    with _lock:
        for stale in [k for k, (at, _) in _values.items() if now - at >= TTL_SECONDS]:
            del _values[stale]
        hit = _values.get(key)
        forgets = _forgets
    if hit is not None:
        return hit[1]  # type: ignore[return-value]
    value = compute()
    with _lock:
        if _forgets == forgets:  # else the stores changed while it was computed: it may
            _values[key] = (time.monotonic(), value)  # hold rows from before the change
    return value


def forget(workspace_key: Hashable) -> None:
    """Drop every memoised value whose key names ``workspace_key`` (after an import or a
    cycle changed what they were computed from)."""
    global _forgets
    with _lock:
        _forgets += 1
        for key in [k for k in _values if isinstance(k, tuple) and workspace_key in k]:
            del _values[key]
