"""Write keys already checked by this server process, kept for a few seconds.

Tracking calls arrive by the thousand a second; checking each write key against the
operational store would cost a round trip per request. A key found valid is trusted for
:data:`KEY_CACHE_SECONDS`, after which it is checked again, so a source removed or
rotated by another process (``keepwell sources rotate``, another server worker) stops
being accepted within that time everywhere, and at once in the process that did it
(it calls :meth:`WriteKeyCache.clear`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: How long a checked write key is trusted before it is checked again (seconds).
KEY_CACHE_SECONDS = 2.0


class WriteKeyCache:
    """Write key hash -> source name, each entry valid for ``ttl`` seconds of ``clock``."""

    def __init__(
        self, ttl: float = KEY_CACHE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> str | None:
        """The source of ``key_hash`` if it was checked less than ``ttl`` seconds ago."""
        entry = self._entries.get(key_hash)
        if entry is None or self._clock() >= entry[1]:
            return None
        return entry[0]

    def put(self, key_hash: str, source: str) -> None:
        """Remember that ``key_hash`` is the write key of ``source`` (checked just now)."""
        with self._lock:
            self._entries[key_hash] = (source, self._clock() + self.ttl)

    def clear(self) -> None:
        """Forget every key (after a source was removed or its key rotated)."""
        with self._lock:
            self._entries.clear()
