"""Reading the next batch of a file while the engine checks and stages the current one.

Parsing a block (Arrow's CSV or Parquet reader) and staging it (DuckDB) both run outside
Python's global lock, so on two cores they overlap: an import takes about the longer of
the two instead of their sum. One batch is read ahead at most, so memory grows by one
batch, not with the file.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar

T = TypeVar("T")

_POLL_SECONDS = 0.05


def read_ahead(items: Iterator[T], depth: int = 1) -> Generator[T, None, None]:
    """The items of ``items``, produced by a thread of their own ``depth`` items ahead.

    An exception raised while producing an item is raised here, in its place. When the
    caller stops early (or fails), the producer stops after the item it is making and
    ``items`` is closed in its thread; the generator returns only once it has stopped,
    so the caller may then close what ``items`` reads.
    """
    slots: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(kind: str, value: object) -> bool:
        while not stop.is_set():
            try:
                slots.put((kind, value), timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer("item", item):
                    return
            offer("end", None)
        except BaseException as exc:  # handed to the consumer, raised there
            offer("error", exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    producer = threading.Thread(target=produce, name="keepwell-read-ahead", daemon=True)
    producer.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == "end":
                return
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        producer.join()
