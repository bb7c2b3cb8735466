"""Reading ahead keeps the order, raises the producer's error in its place, and stops
(closing the source) when the caller stops early."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from keepwell.contract.readahead import read_ahead
from keepwell.core.errors import UnusableFileError


def test_items_come_in_order_and_all() -> None:
    assert list(read_ahead(iter(range(1000)))) == list(range(1000))
    assert list(read_ahead(iter([]))) == []


def test_an_error_of_the_source_is_raised_after_the_items_before_it() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise UnusableFileError("events.csv: line 3: unreadable")

    reading = read_ahead(source())
    assert [next(reading), next(reading)] == [1, 2]
    with pytest.raises(UnusableFileError, match="line 3"):
        next(reading)


def test_stopping_early_closes_the_source_before_returning() -> None:
    made: list[int] = []
    closed: list[bool] = []

    def source() -> Iterator[int]:
        try:
            for i in range(1000):
                made.append(i)
                yield i
        finally:
            closed.append(True)

    reading = read_ahead(source())
    assert next(reading) == 0
    reading.close()
    assert closed == [True]
    assert len(made) <= 3  # one item ahead (and the one being offered), not the file
