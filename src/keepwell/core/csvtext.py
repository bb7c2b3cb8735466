"""CSV text every face writes (CLI ``--format csv``, web exports): one writer, so every
CSV is pure CSV (a header row, then one row per record) and safe to open in a
spreadsheet.

A text cell that a spreadsheet would run as a formula (``=HYPERLINK(...)``, ``+cmd``,
``-2+3``, ``@SUM(...)``, or one starting with a tab or carriage return) is written with
a leading apostrophe, as OWASP advises for CSV injection; numbers (negative ones too)
stay numbers. Decimals are written digit for digit, never through a float.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` as a CSV cell: None empty, a formula-like string quoted with ``'``,
    decimals exact, dates ISO; other values unchanged."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN: undefined
        return ""
    if isinstance(value, Mapping | list | tuple):
        return safe_cell(str(value))
    return value


def decimal_text(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros: ``1208``, ``10812345.7``."""
    if not value.is_finite():
        return ""
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value, "f").rstrip("0")


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """A header of ``columns`` and one line per row (missing keys are empty cells),
    every cell through :func:`safe_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([safe_cell(c) for c in columns])
    for row in rows:
        writer.writerow([safe_cell(row.get(c)) for c in columns])
    return buffer.getvalue()
