"""Cutting a CSV byte stream into blocks of whole records, with physical line numbers.

The engine (Arrow's CSV parser) parses a block of records in one call, many times
faster than Python's ``csv`` module row by row, but it cannot say on which line of the
file a row began. This module finds record boundaries itself, so each block carries
the physical line of its first byte and the line of every record can be computed.

A newline ends a record when an even number of quote characters precedes it since the
start of the record (RFC 4180: ``""`` inside a quoted cell counts twice), so the scan
is a count of bytes, done by ``bytes.count`` and NumPy, never a loop over rows.

A quote that is never closed would swallow every following line into one cell (the
``csv`` module reads on to the end of the file). Here a record still open at the end of
the file, or longer than :data:`MAX_RECORD_BYTES`, is cut after its first physical
line: that line comes back as a :class:`BadLine` and the scan resumes on the next
line, so the rows after it are read on their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

#: Bytes read from the file at a time (a block holds at least this many, unless at the end).
BLOCK_BYTES = 8 << 20
#: A record (one row, maybe over several lines) longer than this is taken to hold a quote
#: that is never closed: no contract row comes near it.
MAX_RECORD_BYTES = 16 << 20
_QUOTE = ord('"')
_NEWLINE = ord("\n")


@dataclass(frozen=True)
class Block:
    """Whole records: ``data`` starts at a record boundary and ends at one (or at the
    end of the file); ``first_line`` is the physical line of its first byte.

    The counts of its line ends are taken once, when it is cut (each is a pass over
    the bytes): ``lf`` of ``\\n``, ``line_breaks`` as universal newlines count them,
    ``bare_cr`` whether a ``\\r`` ends a line alone."""

    data: bytes
    first_line: int
    lf: int = -1
    line_breaks: int = -1
    bare_cr: bool = False

    @classmethod
    def cut(cls, data: bytes, first_line: int) -> Block:
        lf = data.count(b"\n")
        cr = data.count(b"\r")
        crlf = data.count(b"\r\n") if cr else 0  # most files have no \r: two passes
        return cls(data, first_line, lf, lf + cr - crlf, cr != crlf)


@dataclass(frozen=True)
class BadLine:
    """A line whose quote is never closed: rejected on its own, the scan goes on after it."""

    line: int
    text: bytes


def newlines(data: bytes) -> int:
    """Physical line breaks in ``data`` as Python's universal newlines count them
    (``\\n``, ``\\r\\n`` and a bare ``\\r``), so line numbers agree with the ``csv`` module."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def record_ends(data: bytes) -> npt.NDArray[np.int64]:
    """Positions of the newlines of ``data`` that end a record (``data`` starts one)."""
    array = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(array == _NEWLINE)
    if data.find(b'"') >= 0:
        quotes = np.flatnonzero(array == _QUOTE)
        ends = ends[(np.searchsorted(quotes, ends) & 1) == 0]
    return ends


def _last_boundary(data: bytes) -> int:
    """The index just after the last record-ending newline of ``data``, or 0 if none."""
    last = data.rfind(b"\n")
    if last < 0:
        return 0
    if data.count(b'"', 0, last) % 2 == 0:
        return last + 1
    ends = record_ends(data)
    return int(ends[-1]) + 1 if len(ends) else 0


def record_lines(block: Block) -> npt.NDArray[np.int64]:
    """The physical line on which each non-empty record of ``block`` starts.

    Empty lines (nothing, or a lone ``\\r``, between two record ends) are skipped as the
    ``csv`` module skips them. Assumes no bare ``\\r`` line ends (``block.bare_cr``).
    """
    data = block.data
    array = np.frombuffer(data, np.uint8)
    every = np.flatnonzero(array == _NEWLINE)
    ends = record_ends(data)
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [len(data)]))
    if len(starts) and starts[-1] >= len(data):  # nothing after the last newline
        starts, stops = starts[:-1], stops[:-1]
    lengths = stops - starts
    lone_cr = (lengths == 1) & (array[np.minimum(starts, max(len(data) - 1, 0))] == ord("\r"))
    keep = (lengths > 0) & ~lone_cr
    lines: npt.NDArray[np.int64] = np.searchsorted(every, starts[keep]).astype(np.int64)
    return lines + block.first_line


class CsvScanner:
    """Reads a CSV byte stream (``read(n)`` returning up to n bytes, b"" at the end) as
    the header record, then blocks of whole records and lines with an unclosed quote."""

    def __init__(self, read: Callable[[int], bytes], block_bytes: int | None = None):
        self._read = read
        self._block_bytes = block_bytes or BLOCK_BYTES
        self._carry = b""
        self._eof = False
        self._line = 1

    def _fill(self) -> bool:
        """Read one more chunk into the carry; False at the end of the file."""
        if self._eof:
            return False
        chunk = self._read(self._block_bytes)
        if not chunk:
            self._eof = True
            return False
        self._carry += chunk
        return True

    def header(self) -> bytes:
        """The bytes of the first record (the header row), without its line end."""
        while True:
            cut = _first_boundary(self._carry)
            if cut or len(self._carry) > MAX_RECORD_BYTES or not self._fill():
                break
        if not cut:  # a header alone, with no line end, or an unclosed quote in it
            cut = len(self._carry)
        head, self._carry = self._carry[:cut], self._carry[cut:]
        self._line += newlines(head)
        return head.rstrip(b"\r\n")

    def blocks(self) -> Iterator[Block | BadLine]:
        while True:
            while not self._eof and len(self._carry) < self._block_bytes:
                self._fill()
            data = self._carry
            if not data:
                return
            cut = len(data) if self._eof and data.count(b'"') % 2 == 0 else _last_boundary(data)
            if cut:
                self._carry = data[cut:]
                block = Block.cut(data[:cut], self._line)
                self._line += block.line_breaks
                yield block
                continue
            if not self._eof and len(data) <= MAX_RECORD_BYTES:
                self._fill()
                continue
            yield self._unclosed()

    def _unclosed(self) -> BadLine:
        """The first line of the open record at the start of the carry: its quote never
        closes (end of file, or past the record limit). The scan resumes after it."""
        data = self._carry
        end = data.find(b"\n")
        end = len(data) if end < 0 else end + 1
        bad = BadLine(self._line, data[:end].rstrip(b"\r\n"))
        self._carry = data[end:]
        self._line += 1
        return bad


def _first_boundary(data: bytes) -> int:
    """The index just after the first record-ending newline of ``data``, or 0 if none."""
    start = 0
    while True:
        nl = data.find(b"\n", start)
        if nl < 0:
            return 0
        if data.count(b'"', 0, nl) % 2 == 0:
            return nl + 1
        start = nl + 1
