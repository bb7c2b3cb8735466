"""Spreadsheet dialects: how a file writes its separators, numbers and dates.

A CSV saved by a spreadsheet in a comma-decimal locale splits on ``;``, writes
``1.234,50`` and ``03/04/2025``. Such a value means one thing or another depending on
the locale, so it is never guessed: read without the flag that settles it, it raises
:class:`MissingFlagError`, which names the flag, and the import stops before loading anything.
With the flag, each value is rewritten to the contract's form (``1234.50``,
``2025-04-03``) before the row is validated. Pure: no I/O.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, replace
from datetime import datetime

#: Separators tried when a file does not name its own, in order of preference on a tie.
DELIMITERS = (",", ";", "\t", "|")
DATE_ORDERS = ("dmy", "mdy", "ymd")
DECIMAL_MARKS = (".", ",")
_GROUPING = {".": ",", ",": "."}
#: Spaces a locale may group thousands with (plain, no-break, narrow no-break) and '.
_SPACES = str.maketrans("", "", " \u00a0\u202f'")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMERIC_DATE = re.compile(
    r"(?P<a>\d{1,4})(?P<sep>[/.\-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})"
    r"(?P<time>[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?P<zone>Z|[+-]\d{2}:?\d{2})?"
)


class MissingFlagError(ValueError):
    """A value whose meaning depends on a flag the import was not given."""

    def __init__(self, flag: str, reason: str) -> None:
        super().__init__(reason)
        self.flag = flag
        self.column = ""


@dataclass(frozen=True)
class Dialect:
    """How a file is written. ``None`` means "not said": the delimiter is then sniffed
    from the header, and a value that needs the decimal mark or date order is refused."""

    delimiter: str | None = None
    encoding: str = "utf-8"
    decimal: str | None = None
    date_order: str | None = None
    date_format: str | None = None
    sheet: str | None = None

    def __post_init__(self) -> None:
        check_dialect(self)

    @property
    def rewrites_values(self) -> bool:
        """Whether values need rewriting to the contract's form (a flag was given)."""
        return bool(self.decimal or self.date_order or self.date_format)

    @property
    def is_utf8(self) -> bool:
        return codecs.lookup(self.encoding).name in ("utf-8", "utf-8-sig")

    def over(self, other: Dialect) -> Dialect:
        """This dialect with what it leaves unsaid taken from ``other``."""
        return replace(
            self,
            delimiter=self.delimiter or other.delimiter,
            encoding=self.encoding if not self.is_utf8 else other.encoding,
            decimal=self.decimal or other.decimal,
            date_order=self.date_order or other.date_order,
            date_format=self.date_format or other.date_format,
            sheet=self.sheet or other.sheet,
        )


def check_dialect(dialect: Dialect) -> None:
    """:class:`ValueError` naming the setting that is not one of its allowed values."""
    if dialect.delimiter is not None and dialect.delimiter not in DELIMITERS:
        shown = ", ".join(repr(d) for d in DELIMITERS)
        raise ValueError(f"delimiter must be one of {shown}, got {dialect.delimiter!r}")
    if dialect.decimal is not None and dialect.decimal not in DECIMAL_MARKS:
        raise ValueError(f"decimal must be '.' or ',', got {dialect.decimal!r}")
    if dialect.date_order is not None and dialect.date_order not in DATE_ORDERS:
        raise ValueError(f"date order must be dmy, mdy or ymd, got {dialect.date_order!r}")
    try:
        codecs.lookup(dialect.encoding)
    except LookupError:
        raise ValueError(
            f"unknown encoding {dialect.encoding!r} (e.g. utf-8, cp1252, latin-1, utf-16)"
        ) from None
    if dialect.date_format is not None and "%" not in dialect.date_format:
        raise ValueError(f"date format {dialect.date_format!r} has no % field (e.g. %d/%m/%Y)")


def sniff_delimiter(header: str) -> str:
    """The separator of a header line: the candidate splitting it into the most fields
    (outside quotes); a comma when none splits it."""
    best, fields = ",", 1
    for candidate in DELIMITERS:
        try:
            row = next(csv.reader(io.StringIO(header, newline=""), delimiter=candidate), [])
        except csv.Error:
            continue
        if len(row) > fields:
            best, fields = candidate, len(row)
    return best


def number_text(text: str, decimal: str | None) -> str:
    """A number as written in the file, in the contract's form (``1234.50``).

    Without a decimal mark, a value holding a comma raises :class:`MissingFlagError`: in
    ``1.234,50`` the comma is the decimal mark, in ``1,234.50`` it groups thousands.
    With one, the other mark must group digits by three; spaces may group too.
    """
    value = text.strip()
    if decimal is None:
        if "," in value:
            raise MissingFlagError(
                "--decimal",
                f"{text!r} has a comma: say which mark is the decimal one with "
                "--decimal , (as in 1.234,50) or --decimal . (as in 1,234.50)",
            )
        return value
    grouping = _GROUPING[decimal]
    compact = value.translate(_SPACES)
    sign = ""
    if compact[:1] in "+-" and compact[:1]:
        sign, compact = compact[0], compact[1:]
    whole, _, fraction = compact.partition(decimal)
    groups = whole.split(grouping)
    grouped = len(groups) == 1 or (
        1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])
    )
    digits = "".join(groups)
    if not (digits.isdigit() and digits.isascii()) or not grouped or decimal in fraction:
        raise ValueError(
            f"expected a number like {'1.234,50' if decimal == ',' else '1,234.50'}, got {text!r}"
        )
    if fraction and not (fraction.isdigit() and fraction.isascii()):
        raise ValueError(f"expected a number, got {text!r}")
    return f"{sign}{digits}.{fraction}" if fraction else f"{sign}{digits}"


def date_text(text: str, dialect: Dialect, *, timestamp: bool = False) -> str:
    """A date (or timestamp) as written in the file, in ISO 8601.

    ISO values pass as they are. With ``date_format`` the value is read with it. A
    numeric date such as ``03/04/2025`` needs the date order: without it,
    :class:`MissingFlagError` (the 3rd of April or the 4th of March?).
    """
    value = text.strip()
    if dialect.date_format:
        try:
            moment = datetime.strptime(value, dialect.date_format)
        except ValueError:
            if _ISO_DATE.match(value):
                return value
            raise ValueError(
                f"expected a date in the format {dialect.date_format}, got {text!r}"
            ) from None
        if timestamp:
            return moment.isoformat()
        return moment.date().isoformat()
    if _ISO_DATE.match(value):
        return value
    match = _NUMERIC_DATE.fullmatch(value)
    if match is None:
        return value  # not a date the dialect speaks of: the contract's parser words it
    order = dialect.date_order
    if len(match["a"]) == 4:  # 2025/4/3: a year first is only ever year-month-day
        if order is None:
            return value  # no flag given: the contract's parser words the rejection
        order = "ymd"
    if order is None:
        raise MissingFlagError(
            "--date-order",
            f"{text!r} is a day-first or month-first date: say which with "
            "--date-order dmy|mdy|ymd (or --date-format)",
        )
    a, b, c = match["a"], match["b"], match["c"]
    parts = dict(zip(order, (a, b, c), strict=True))
    year, month, day = parts["y"], parts["m"], parts["d"]
    if len(year) == 2:
        year = "20" + year
    if len(year) != 4 or len(month) > 2 or len(day) > 2:
        raise ValueError(f"expected a {_order_example(order)} date, got {text!r}")
    iso = f"{year}-{int(month):02d}-{int(day):02d}"
    time = (match["time"] or "").strip()
    if time:
        hours, _, rest = time.partition(":")
        iso += f"T{int(hours):02d}:{rest}"
    return iso + (match["zone"] or "")


def _order_example(order: str) -> str:
    return {"dmy": "day/month/year", "mdy": "month/day/year", "ymd": "year/month/day"}[order]


class ValueRewriter:
    """Rewrites the number and date cells of contract rows to the contract's form.

    ``kinds`` maps column names to ``"decimal"``, ``"date"`` or ``"timestamp"``. Only
    text cells are touched (Parquet and JSON values are typed already).
    """

    def __init__(self, kinds: dict[str, str], dialect: Dialect) -> None:
        self.kinds = kinds
        self.dialect = dialect

    def rewrite(self, values: dict[str, object]) -> list[tuple[str, str]]:
        """Rewrite ``values`` in place; (column, reason) for each cell that is not a
        value of its kind. :class:`MissingFlagError` (with ``column`` set) is raised as is."""
        problems: list[tuple[str, str]] = []
        for name, kind in self.kinds.items():
            value = values.get(name)
            if not isinstance(value, str) or not value.strip():
                continue
            try:
                values[name] = self._one(value, kind)
            except MissingFlagError as exc:
                exc.column = name
                raise
            except ValueError as exc:
                problems.append((name, str(exc)))
        return problems

    def needs_flag(self, values: dict[str, object]) -> MissingFlagError | None:
        """The first cell of ``values`` that needs a flag this dialect lacks, if any."""
        for name, kind in self.kinds.items():
            value = values.get(name)
            if not isinstance(value, str) or not value.strip():
                continue
            try:
                self._one(value, kind)
            except MissingFlagError as exc:
                exc.column = name
                return exc
            except ValueError:
                continue
        return None

    def _one(self, value: str, kind: str) -> str:
        if kind == "decimal":
            return number_text(value, self.dialect.decimal)
        return date_text(value, self.dialect, timestamp=kind == "timestamp")
