"""How many requests a client may make to the public pages (pure, thread-safe, in
memory): at most ``limit`` in any ``window`` seconds per key (the client address)."""

from __future__ import annotations

import math
import threading
from collections import deque


class SlidingWindow:
    """Requests per key in a sliding window; :meth:`hit` returns the seconds to wait
    (None: allowed, and counted)."""

    def __init__(self, limit: int, window: float, max_keys: int = 10_000) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float) -> int | None:
        with self._lock:
            if len(self._hits) >= self.max_keys and key not in self._hits:
                self._forget(now)
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(1, math.ceil(hits[0] + self.window - now))
            hits.append(now)
            return None

    def _forget(self, now: float) -> None:
        for key in [k for k, h in self._hits.items() if not h or h[-1] <= now - self.window]:
            del self._hits[key]
        if len(self._hits) >= self.max_keys:
            self._hits.clear()
