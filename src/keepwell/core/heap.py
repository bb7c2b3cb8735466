"""Keeping a server's long-lived objects out of the cyclic garbage collector's way.

A server holding an account directory of 50,000 accounts tracks ~500,000 objects; each
full collection of the cyclic collector walks them all (~200 ms on one core, holding
the interpreter), and requests that allocate much (a page over thousands of CTAs)
trigger one every few requests: a random page then waits. After such a structure is
built, :func:`settle` collects once and freezes what is alive (``gc.freeze``): later
collections walk only what was made since. Frozen objects are still freed when nothing
refers to them (reference counting); only a reference cycle among them would stay.

Off unless :func:`enable` is called (``keepwell serve`` does): a command or a test
process has no such long-lived structures and no requests to keep waiting.

:func:`paused` turns the collector off while a server's cycle or a forwarded command
runs: those hold millions of short-lived objects at once (a cycle at 50,000 accounts),
and each full collection walked them all, up to 1.4 s per collection while the
tracking API waited (``bench/bench_server.py --stalls``). A :func:`settle` asked for
meanwhile (the directory rebuilt during a cycle) waits for the pause to end: it would
walk those objects and freeze them for the process's life.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_enabled = threading.Event()


def enable() -> None:
    """Let :func:`settle` freeze (the server calls it at start)."""
    _enabled.set()


def settle() -> None:
    """Once long-lived structures are built: a full collection, then freeze every
    object alive (when enabled; otherwise nothing; inside :func:`paused`, once the
    pause ends)."""
    if not _enabled.is_set():
        return
    with _Pause.lock:
        if _Pause.users:
            _Pause.settle_wanted = True
            return
    gc.collect()
    gc.freeze()


class _Pause:
    """Who pauses the collector now: the first one in turns it off, the last one out
    turns it back on (if it was on) and settles if that was asked for meanwhile."""

    lock = threading.Lock()
    users = 0
    was_enabled = True
    settle_wanted = False


@contextmanager
def paused() -> Iterator[None]:
    """The cyclic garbage collector off inside, for every thread of the process (there
    is one collector); back on when the last user leaves, even on an error. Nothing is
    lost: objects without reference cycles, nearly all, are freed as usual when their
    last reference goes; those in a cycle at the next collection after the pause."""
    with _Pause.lock:
        _Pause.users += 1
        if _Pause.users == 1:
            _Pause.was_enabled = gc.isenabled()
            gc.disable()
    try:
        yield
    finally:
        with _Pause.lock:
            _Pause.users -= 1
            settle_now = _Pause.users == 0 and _Pause.settle_wanted
            if _Pause.users == 0:
                _Pause.settle_wanted = False
                if _Pause.was_enabled:
                    gc.enable()
        if settle_now:
            settle()
