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
"""

from __future__ import annotations

import gc
import threading

_enabled = threading.Event()


def enable() -> None:
    """Let :func:`settle` freeze (the server calls it at start)."""
    _enabled.set()


def settle() -> None:
    """Once long-lived structures are built: a full collection, then freeze every
    object alive (when enabled; otherwise nothing)."""
    if _enabled.is_set():
        gc.collect()
        gc.freeze()
