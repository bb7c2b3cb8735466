"""core.heap freezes what is alive only in a process that enabled it (the server), and
pauses the collector while a cycle or a command runs."""

from __future__ import annotations

import gc

import pytest

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


def test_the_collector_is_paused_while_anyone_needs_it_paused() -> None:
    """A full collection during a cycle walks its millions of objects while every
    request waits; paused, it is back on once the last user leaves, even on an error,
    and stays off if it was off before."""
    assert gc.isenabled()
    with heap.paused():
        assert not gc.isenabled()
        with heap.paused():  # a command beside the cycle
            assert not gc.isenabled()
        assert not gc.isenabled()  # the cycle still runs
    assert gc.isenabled()
    with pytest.raises(RuntimeError), heap.paused():
        raise RuntimeError("a failed cycle")
    assert gc.isenabled()
    gc.disable()
    try:
        with heap.paused():
            pass
        assert not gc.isenabled()  # left as it was
    finally:
        gc.enable()


def test_a_settle_asked_for_during_a_pause_waits_for_its_end() -> None:
    """The directory rebuilt during a cycle: settling then would walk the cycle's
    objects and freeze them for good; it happens once the cycle is over."""
    heap.enable()
    try:
        with heap.paused():
            heap.settle()
            assert gc.get_freeze_count() == 0  # not yet
        assert gc.get_freeze_count() > 0  # at the pause's end
    finally:
        heap._enabled.clear()
        gc.unfreeze()
