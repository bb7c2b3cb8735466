"""Excel workbooks (``.xlsx``) read through python-calamine, one sheet as a table.

The first row of the sheet is the header; the "line" of a row is its row number in
the sheet (1 = the header), as Excel shows it. Cells come as text, as a CSV would give
them: numbers in their shortest exact form (``1234.5``), dates and times in ISO 8601,
so the row goes through the same rules (and the same rejects file, written as CSV).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from keepwell.contract.readers import Format, RawRow, check_header
from keepwell.core.errors import UnusableFileError


def _calamine(path: Path) -> Any:
    try:
        import python_calamine  # loaded only when a workbook is read
    except ImportError:
        raise UnusableFileError(
            f"{path}: reading .xlsx needs the python-calamine package, which is not installed",
            hint="install keepwell's dependencies again (pip install keepwell), or save the "
            "sheet as CSV",
        ) from None
    return python_calamine


class XlsxSource:
    """One sheet of a workbook (the first, or the one named)."""

    format = Format.XLSX

    def __init__(self, path: Path, sheet: str | None = None) -> None:
        self.path = path
        calamine = _calamine(path)
        try:
            book = calamine.CalamineWorkbook.from_path(str(path))
            names = list(book.sheet_names)
            if sheet is not None and sheet not in names:
                raise UnusableFileError(
                    f"{path}: no sheet named {sheet!r}", hint=f"its sheets: {', '.join(names)}"
                )
            if not names:
                raise UnusableFileError(f"{path}: the workbook has no sheet")
            chosen = sheet or names[0]
            rows = book.get_sheet_by_name(chosen).to_python(skip_empty_area=False)
        except UnusableFileError:
            raise
        except Exception as exc:  # the reader's own errors: a zip or XML it cannot read
            raise UnusableFileError(
                f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})",
                hint="open it in a spreadsheet and save it again as .xlsx, or as CSV",
            ) from exc
        self.sheet = chosen
        first = next((i for i, r in enumerate(rows) if any(cell_text(c) for c in r)), None)
        if first is None:
            raise UnusableFileError(f"{path}: sheet {chosen!r} is empty", hint="expected a header")
        header = [cell_text(c).strip() for c in rows[first]]
        while header and not header[-1]:
            header.pop()
        self.columns: list[str] | None = check_header(path, header, f"sheet {chosen!r} row 1")
        self._header_row = first + 1
        self._rows = rows[first + 1 :]
        self._done = 0

    def batches(self, size: int) -> Iterator[list[RawRow]]:
        columns = self.columns or []
        width = len(columns)
        batch: list[RawRow] = []
        for offset, cells in enumerate(self._rows):
            self._done = offset + 1
            texts = [cell_text(c) for c in cells]
            if not any(t.strip() for t in texts):
                continue
            line = self._header_row + offset + 1
            extra = [t for t in texts[width:] if t.strip()]
            if extra:  # kept whole in the rejects file: nothing is lost
                while texts and not texts[-1].strip():
                    texts.pop()
                problem = f"{len(texts)} cells where the header has {width}"
                batch.append(RawRow(line, {}, texts, problem))
            else:
                texts = (texts + [""] * width)[:width]
                batch.append(RawRow(line, dict(zip(columns, texts, strict=True)), texts))
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def progress(self) -> tuple[int, int]:
        return self._done, len(self._rows)

    def close(self) -> None:
        self._rows = []


def cell_text(value: Any) -> str:
    """A cell as a CSV would hold it."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return str(Decimal(repr(value)))
    if isinstance(value, datetime):
        return value.isoformat() if value.time() != time(0) else value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value.total_seconds())
    return str(value)
