"""core.heap freezes what is alive only in a process that enabled it (the server)."""

from __future__ import annotations

import gc

from keepwell.core import heap


def test_settle_freezes_only_once_enabled() -> None:
    assert gc.get_freeze_count() == 0
    heap.settle()
    assert gc.get_freeze_count() == 0  # a command or test process: nothing frozen
    heap.enable()
    try:
        heap.settle()
        assert gc.get_freeze_count() > 0
    finally:
        heap._enabled.clear()
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
