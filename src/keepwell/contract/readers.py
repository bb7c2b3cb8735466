"""Streaming readers of contract files (CSV, Parquet, JSON Lines; optionally gzipped)
and writers of rejects files in the same format.

A reader yields batches of :class:`RawRow`: the line (CSV, JSON Lines) or row number
(Parquet) of each row, its values by column, and what is needed to write it back
unchanged. File-level problems raise :class:`UnusableFileError`; row-level ones travel
with the row, so that one bad line never stops the rest.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Protocol, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from keepwell.contract.csvscan import BadLine, Block, CsvScanner, record_lines
from keepwell.contract.dialect import Dialect, sniff_delimiter
from keepwell.contract.schema import REJECT_REASON_COLUMN
from keepwell.core.errors import UnusableFileError

csv.field_size_limit(64 * 1024 * 1024)


class Format(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"
    JSONL = "jsonl"
    XLSX = "xlsx"


_SUFFIXES = {".csv": Format.CSV, ".parquet": Format.PARQUET, ".jsonl": Format.JSONL}
_SUFFIXES[".ndjson"] = Format.JSONL
_SUFFIXES[".xlsx"] = Format.XLSX
_UTF16_32_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


@dataclass(frozen=True)
class FileKind:
    format: Format
    gzipped: bool


def file_kind(path: Path) -> FileKind:
    """The format from the extension: ``.csv``, ``.parquet``, ``.jsonl``/``.ndjson``, ``+.gz``."""
    suffixes = [s.lower() for s in path.suffixes]
    gzipped = bool(suffixes) and suffixes[-1] == ".gz"
    if gzipped:
        suffixes = suffixes[:-1]
    fmt = _SUFFIXES.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise UnusableFileError(
            f"{path}: unknown file format",
            hint="name the file .csv, .parquet, .jsonl, .ndjson or .xlsx, optionally + .gz",
        )
    return FileKind(fmt, gzipped)


@dataclass(slots=True)
class RawRow:
    """One row as read: ``problem`` is set when the row could not even be split."""

    line: int
    values: dict[str, Any]
    original: Any = None
    problem: str | None = None


#: Why a line whose quote never closes is rejected (the lines after it are read on their own).
UNCLOSED_QUOTE = (
    "a quote opened on this line is never closed (the following lines were read on their own)"
)


@dataclass(frozen=True)
class EngineBatch:
    """Rows as an Arrow table (text cells for CSV, typed for Parquet) and the line (or
    Parquet row number) of each."""

    table: pa.Table
    lines: npt.NDArray[np.int64]
    #: no cell holds a NUL character or a ``\\u0000`` escape (a CSV block without
    #: those bytes): the engine need not look for them cell by cell
    nul_free: bool = False


class Source(Protocol):
    path: Path
    format: Format
    columns: list[str] | None

    def batches(self, size: int) -> Iterator[list[RawRow]]: ...

    def progress(self) -> tuple[int, int]: ...

    def close(self) -> None: ...


def open_source(path: Path, dialect: Dialect | None = None) -> Source:
    """A streaming reader of ``path``; :class:`UnusableFileError` if it cannot be read.
    ``dialect`` says how a CSV is written (its delimiter is sniffed when not said) and
    which sheet of a workbook to read."""
    kind = file_kind(path)
    if not path.is_file():
        raise UnusableFileError(f"{path}: no such file")
    dialect = dialect or Dialect()
    if kind.format is Format.PARQUET:
        return ParquetSource(path, kind.gzipped)
    if kind.format is Format.JSONL:
        return JsonLinesSource(path, kind.gzipped)
    if kind.format is Format.XLSX:
        from keepwell.contract.workbook import XlsxSource  # its reader loads only for .xlsx

        return XlsxSource(path, dialect.sheet)
    return CsvSource(path, kind.gzipped, dialect)


class _ByteStream:
    """The file's bytes (decompressed when gzipped) and how far into the file we are."""

    def __init__(self, path: Path, gzipped: bool, encoding: str = "utf-8") -> None:
        self.path = path
        self.raw = path.open("rb")
        self.total = os.fstat(self.raw.fileno()).st_size
        self.stream = cast(IO[bytes], gzip.GzipFile(fileobj=self.raw) if gzipped else self.raw)
        try:
            head = cast(Any, self.stream).peek(4)  # both GzipFile and BufferedReader peek
        except (OSError, EOFError) as exc:
            self.close()
            raise UnusableFileError(f"{path}: not a readable gzip file ({exc})") from exc
        if not head:
            self.close()
            raise UnusableFileError(f"{path}: the file is empty", hint="expected a header row")
        self.read: Callable[[int], bytes] = self.stream.read
        if encoding.lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig"):
            if head.startswith(_UTF16_32_BOMS):
                self.close()
                raise UnusableFileError(
                    f"{path}: the file is in UTF-16 or UTF-32",
                    hint="name its encoding with --encoding utf-16 (or save it as UTF-8)",
                )
        else:  # decoded as it is read, handed on as UTF-8
            text = io.TextIOWrapper(self.stream, encoding=encoding, newline="")

            def read(size: int) -> bytes:
                try:
                    return text.read(max(size // 2, 1)).encode("utf-8", "surrogateescape")
                except UnicodeDecodeError as exc:
                    raise UnusableFileError(
                        f"{path}: not readable as {encoding} ({exc.reason})",
                        hint="name the file's encoding with --encoding",
                    ) from exc

            self.read = read

    def done(self) -> int:
        return self.raw.tell()

    def close(self) -> None:
        self.stream.close()
        self.raw.close()


class CsvSource:
    """CSV with a header row; line numbers count physical lines (header = line 1).

    The file is cut into blocks of whole records (:mod:`keepwell.contract.csvscan`);
    :meth:`engine_batches` parses a block with Arrow's CSV parser into a text table,
    :meth:`batches` with Python's ``csv`` module row by row. Both agree on every value
    and line; a block Arrow cannot read exactly as ``csv`` would (a row with the wrong
    number of fields, bytes that are not UTF-8, a bare ``\\r`` line end) is read by ``csv``.
    """

    format = Format.CSV

    def __init__(self, path: Path, gzipped: bool, dialect: Dialect | None = None) -> None:
        self.path = path
        dialect = dialect or Dialect()
        self._bytes = _ByteStream(path, gzipped, dialect.encoding)
        self._bad: dict[int, bytes] = {}
        self._scanner = CsvScanner(self._bytes.read)
        try:
            head = self._scanner.header()
        except (OSError, EOFError) as exc:
            self.close()
            raise UnusableFileError(f"{path}: line 1: unreadable header ({exc})") from exc
        if head.startswith(b"\xef\xbb\xbf"):
            head = head[3:]
        text = head.decode("utf-8", errors="surrogateescape")
        self.delimiter = dialect.delimiter or sniff_delimiter(text)
        try:
            header = next(csv.reader(io.StringIO(text, newline=""), self._csv_dialect), None)
        except csv.Error as exc:
            self.close()
            raise UnusableFileError(f"{path}: line 1: unreadable header ({exc})") from exc
        if not header or not any(h.strip() for h in header):
            self.close()
            raise UnusableFileError(
                f"{path}: line 1: no header row", hint="the first line names the columns"
            )
        self.columns: list[str] | None = check_header(path, [h.strip() for h in header])

    @property
    def _csv_dialect(self) -> type[csv.Dialect]:
        return csv.excel_tab if self.delimiter == "\t" else _delimited(self.delimiter)

    def _blocks(self) -> Iterator[Block | BadLine]:
        try:
            yield from self._scanner.blocks()
        except (OSError, EOFError) as exc:
            raise UnusableFileError(f"{self.path}: unreadable ({exc})") from exc

    def _python_records(self, block: Block) -> Iterator[tuple[int, list[str]]]:
        text = block.data.decode("utf-8", errors="surrogateescape")
        reader = csv.reader(io.StringIO(text, newline=""), self._csv_dialect)
        previous_end = 0
        try:
            for fields in reader:
                line = block.first_line + previous_end
                previous_end = reader.line_num
                if fields:
                    yield line, fields
        except csv.Error as exc:
            line = block.first_line + previous_end
            raise UnusableFileError(f"{self.path}: line {line}: {exc}") from exc

    def records(self, size: int) -> Iterator[list[tuple[int, list[str] | None]]]:
        """Batches of (line, fields): the cheap form, before any row is built. A line
        whose quote never closes comes as (line, None)."""
        batch: list[tuple[int, list[str] | None]] = []
        for block in self._blocks():
            if isinstance(block, BadLine):
                batch.append((block.line, None))
                self._bad[block.line] = block.text
            else:
                for record in self._python_records(block):
                    batch.append(record)
                    if len(batch) >= size:
                        yield batch
                        batch = []
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def row(self, line: int, fields: list[str] | None) -> RawRow:
        header = self.columns or []
        if fields is None:
            text = self._bad.pop(line, b"").decode("utf-8", errors="surrogateescape")
            cells = next(csv.reader(io.StringIO(text, newline=""), self._csv_dialect), [])
            return RawRow(line, {}, cells, UNCLOSED_QUOTE)
        if len(fields) != len(header):
            problem = f"{len(fields)} fields where the header has {len(header)}"
            return RawRow(line, {}, fields, problem)
        return RawRow(line, dict(zip(header, fields, strict=True)), fields)

    def batches(self, size: int) -> Iterator[list[RawRow]]:
        for records in self.records(size):
            yield [self.row(line, fields) for line, fields in records]

    def engine_batches(self, size: int) -> Iterator[EngineBatch | list[RawRow]]:
        """Blocks as all-text Arrow tables of at most ``size`` rows with the line of each
        row; a block Arrow cannot read exactly comes as rows read by ``csv``."""
        for block in self._blocks():
            if isinstance(block, BadLine):
                self._bad[block.line] = block.text
                yield [self.row(block.line, None)]
                continue
            parsed = self._arrow_block(block)
            if parsed is None:
                rows = [self.row(line, fields) for line, fields in self._python_records(block)]
                for start in range(0, len(rows), size):
                    yield rows[start : start + size]
                continue
            table, lines = parsed
            nul_free = block.data.find(b"\x00") < 0 and block.data.find(b"\\u0000") < 0
            for start in range(0, table.num_rows, size):
                yield EngineBatch(table.slice(start, size), lines[start : start + size], nul_free)

    def _arrow_block(self, block: Block) -> tuple[pa.Table, npt.NDArray[np.int64]] | None:
        columns = self.columns or []
        data = block.data
        if block.bare_cr:
            return None
        invalid: list[object] = []

        def on_invalid(row: object) -> str:
            invalid.append(row)
            return "skip"

        try:
            table = pacsv.read_csv(
                pa.py_buffer(data),
                read_options=pacsv.ReadOptions(column_names=columns, block_size=1 << 22),
                parse_options=pacsv.ParseOptions(
                    delimiter=self.delimiter,
                    newlines_in_values=data.find(b'"') >= 0,
                    invalid_row_handler=on_invalid,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(columns, pa.string()),
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
        except (pa.ArrowInvalid, UnicodeDecodeError):  # bytes that are not UTF-8, mostly
            return None
        if invalid:
            return None
        # Arrow skips an empty line, and a line end inside a quoted cell ends no row:
        # as many rows as line ends means each line end ended one non-empty row
        simple = block.lf + (0 if data.endswith(b"\n") else 1)
        if table.num_rows == simple:
            lines = np.arange(block.first_line, block.first_line + simple, dtype=np.int64)
        else:
            lines = record_lines(block)
        if len(lines) != table.num_rows:
            return None
        return table, lines

    def progress(self) -> tuple[int, int]:
        return self._bytes.done(), self._bytes.total

    def close(self) -> None:
        self._bytes.close()


_DIALECTS: dict[str, type[csv.Dialect]] = {}


def _delimited(delimiter: str) -> type[csv.Dialect]:
    """Excel's CSV dialect with another delimiter (one class per delimiter)."""
    if delimiter not in _DIALECTS:
        _DIALECTS[delimiter] = type("Delimited", (csv.excel,), {"delimiter": delimiter})
    return _DIALECTS[delimiter]


def check_header(path: Path, header: list[str], where: str = "line 1") -> list[str]:
    """The header's column names; :class:`UnusableFileError` naming ``where`` when one
    is unreadable, empty or repeated."""
    for name in header:
        if any(0xDC80 <= ord(ch) < 0xDD00 for ch in name):
            raise UnusableFileError(
                f"{path}: {where}: unreadable encoding in the header (not UTF-8)",
                hint="name the file's encoding, e.g. --encoding cp1252 (Windows) or "
                "--encoding latin-1, or save it as UTF-8",
            )
    for index, name in enumerate(header, start=1):
        if not name:
            raise UnusableFileError(f"{path}: {where}: column {index} has no name")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise UnusableFileError(f"{path}: {where}: column {name!r} appears twice")
        seen.add(name)
    return header


class JsonLinesSource:
    """One JSON object per line; columns may differ from line to line."""

    format = Format.JSONL
    columns: list[str] | None = None

    def __init__(self, path: Path, gzipped: bool) -> None:
        self.path = path
        self._bytes = _ByteStream(path, gzipped)

    def batches(self, size: int) -> Iterator[list[RawRow]]:
        batch: list[RawRow] = []
        try:
            for line, data in enumerate(self._bytes.stream, start=1):
                if not data.strip():
                    continue
                batch.append(_json_row(line, data))
                if len(batch) >= size:
                    yield batch
                    batch = []
        except (OSError, EOFError) as exc:
            raise UnusableFileError(f"{self.path}: unreadable ({exc})") from exc
        if batch:
            yield batch

    def progress(self) -> tuple[int, int]:
        return self._bytes.done(), self._bytes.total

    def close(self) -> None:
        self._bytes.close()


def _json_row(line: int, data: bytes) -> RawRow:
    text = data.decode("utf-8", errors="surrogateescape").rstrip("\r\n")
    try:
        value = json.loads(data)
    except UnicodeDecodeError:
        return RawRow(line, {}, text, "bytes that are not valid UTF-8")
    except json.JSONDecodeError as exc:
        return RawRow(line, {}, text, f"not valid JSON ({exc.msg} at column {exc.colno})")
    if not isinstance(value, dict):
        return RawRow(line, {}, text, "not a JSON object")
    return RawRow(line, value, value)


def _nul_free(table: pa.Table) -> bool:
    """Whether no text cell of ``table`` holds a NUL character, nor ``properties`` a
    ``\\u0000`` escape: a look at the bytes of each text column (a whole buffer, even
    where the table is a slice of it: a NUL outside the slice only costs the checks)."""
    for column_type, name, column in zip(
        table.schema.types, table.schema.names, table.columns, strict=True
    ):
        if not (pa.types.is_string(column_type) or pa.types.is_large_string(column_type)):
            continue
        for chunk in column.chunks:
            data = chunk.buffers()[2]
            if data is None or data.size == 0:
                continue
            if np.frombuffer(data, np.uint8).min() == 0:
                return False
            if name == "properties" and bytes(data).find(b"\\u0000") >= 0:
                return False
    return True


class ParquetSource:
    """Parquet; the "line" of a row is its row number (1 = the first row)."""

    format = Format.PARQUET

    def __init__(self, path: Path, gzipped: bool) -> None:
        self.path = path
        self._tmp: Path | None = None
        if gzipped:
            self._tmp = _gunzip_to_temp(path)
        if (self._tmp or path).stat().st_size == 0:
            raise UnusableFileError(f"{path}: the file is empty")
        try:
            # no pre-buffering: it keeps every read range cached, so memory grew with the file
            self._file = pq.ParquetFile(self._tmp or path, pre_buffer=False, buffer_size=1 << 20)
        except (pa.ArrowException, OSError) as exc:
            self.close()
            raise UnusableFileError(f"{path}: not a readable Parquet file ({exc})") from exc
        self.columns: list[str] | None = check_header(path, list(self._file.schema_arrow.names))
        self._total = self._file.metadata.num_rows
        self._done = 0

    def arrow_batches(self, size: int) -> Iterator[tuple[pa.Table, int]]:
        """Batches as Arrow tables with the row number of their first row."""
        try:
            for record_batch in self._file.iter_batches(batch_size=size):
                start = self._done + 1
                self._done += record_batch.num_rows
                yield pa.Table.from_batches([record_batch]), start
        except (pa.ArrowException, OSError) as exc:
            raise UnusableFileError(
                f"{self.path}: unreadable after row {self._done} ({exc})"
            ) from exc

    def engine_batches(self, size: int) -> Iterator[EngineBatch]:
        for table, first in self.arrow_batches(size):
            lines = np.arange(first, first + table.num_rows, dtype=np.int64)
            yield EngineBatch(table, lines, _nul_free(table))

    def batches(self, size: int) -> Iterator[list[RawRow]]:
        try:
            for record_batch in self._file.iter_batches(batch_size=size):
                rows = record_batch.to_pylist()
                start = self._done + 1
                self._done += len(rows)
                yield [RawRow(start + i, row, row) for i, row in enumerate(rows)]
        except (pa.ArrowException, OSError) as exc:
            raise UnusableFileError(
                f"{self.path}: unreadable after row {self._done} ({exc})"
            ) from exc

    def progress(self) -> tuple[int, int]:
        return self._done, self._total

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None


def _gunzip_to_temp(path: Path) -> Path:
    fd, name = tempfile.mkstemp(suffix=".parquet")
    try:
        with os.fdopen(fd, "wb") as out, gzip.open(path, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
    except (OSError, EOFError) as exc:
        Path(name).unlink(missing_ok=True)
        raise UnusableFileError(f"{path}: not a readable gzip file ({exc})") from exc
    return Path(name)


@dataclass
class RejectsWriter:
    """Writes rejected rows in the format of ``path``, each with its reason in an extra
    column (``_rejected_reason``) that a later import ignores."""

    path: Path
    columns: Sequence[str] | None
    count: int = 0
    #: a CSV's separator: the input's, so a fixed rejects file loads with the same flags
    delimiter: str = ","
    _kind: FileKind = field(init=False)
    _handle: Any = field(default=None, init=False)
    _csv: Any = field(default=None, init=False)
    _parquet: pq.ParquetWriter | None = field(default=None, init=False)
    _pending: list[dict[str, str | None]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self._kind = file_kind(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, row: RawRow, reason: str) -> None:
        self.count += 1
        if self._kind.format is Format.CSV:
            self._write_csv(row, reason)
        elif self._kind.format is Format.JSONL:
            self._write_jsonl(row, reason)
        else:
            self._write_parquet(row, reason)

    def _open_text(self) -> IO[str]:
        binary = cast(
            IO[bytes],
            gzip.GzipFile(self.path, "wb") if self._kind.gzipped else self.path.open("wb"),
        )
        return io.TextIOWrapper(binary, encoding="utf-8", errors="surrogateescape", newline="")

    def _write_csv(self, row: RawRow, reason: str) -> None:
        header = [c for c in (self.columns or []) if c != REJECT_REASON_COLUMN]
        if self._handle is None:
            self._handle = self._open_text()
            self._csv = csv.writer(self._handle, lineterminator="\n", delimiter=self.delimiter)
            self._csv.writerow([*header, REJECT_REASON_COLUMN])
        if isinstance(row.original, list):
            cells = [
                v
                for c, v in zip(self.columns or [], row.original, strict=False)
                if c != REJECT_REASON_COLUMN
            ]
            cells += row.original[len(self.columns or []) :]
        else:
            cells = [_text(row.values.get(c)) for c in header]
        self._csv.writerow([*cells, reason])

    def _write_jsonl(self, row: RawRow, reason: str) -> None:
        if self._handle is None:
            self._handle = self._open_text()
        if isinstance(row.original, dict):
            payload: dict[str, Any] = {**row.original, REJECT_REASON_COLUMN: reason}
        else:
            payload = {REJECT_REASON_COLUMN: reason, "_rejected_line": row.original}
        self._handle.write(json.dumps(payload, default=str, ensure_ascii=False) + "\n")

    def _write_parquet(self, row: RawRow, reason: str) -> None:
        names = [c for c in (self.columns or []) if c != REJECT_REASON_COLUMN]
        record = {c: _text(row.values.get(c)) or None for c in names}
        record[REJECT_REASON_COLUMN] = reason
        self._pending.append(record)
        if len(self._pending) >= 10_000:
            self._flush_parquet()

    def _flush_parquet(self) -> None:
        if not self._pending:
            return
        schema = pa.schema([(c, pa.string()) for c in self._pending[0]])
        if self._parquet is None:
            self._handle = gzip.GzipFile(self.path, "wb") if self._kind.gzipped else None
            self._parquet = pq.ParquetWriter(self._handle or self.path, schema)
        self._parquet.write_table(pa.Table.from_pylist(self._pending, schema=schema))
        self._pending.clear()

    def close(self) -> None:
        self._flush_parquet()
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)
