"""What every CLI face shares: the consoles, the workspace of the command, output formats.

Faces only: nothing below the faces imports this module.
"""

from __future__ import annotations

import getpass
import json
import re
import secrets
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.table import Table

from keepwell.core.csvtext import csv_text, decimal_text
from keepwell.core.errors import InputError

if TYPE_CHECKING:
    from keepwell.core.workspace import Workspace

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class OutputFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


def workspace() -> Workspace:
    """The workspace of this command (``KEEPWELL_HOME``, default ``./.keepwell``)."""
    # the settings and stores load with the first command that uses them
    from keepwell.core.settings import get_settings
    from keepwell.core.workspace import open_workspace

    return open_workspace(get_settings())


@contextmanager
def opened_workspace() -> Iterator[Workspace]:
    """:func:`workspace`, closed when the command's block ends (even on an error)."""
    ws = workspace()
    try:
        yield ws
    finally:
        ws.close()


def parse_day(value: str | None, option: str = "--as-of") -> date:
    """A ``YYYY-MM-DD`` option value, or today (UTC) when not given: faces read the
    clock so that nothing below them does. A bad value is an :class:`InputError`
    naming the option."""
    if value is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"{option} {value!r} is not a date", hint="use YYYY-MM-DD") from exc


def cli_user() -> str:
    """Who runs the command when it does not say: ``cli:<OS user>`` (``cli`` when the
    OS cannot tell), as the audit log records CLI actors."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def note(fmt: OutputFormat, text: str) -> None:
    """Prose beside a command's rows: on standard output with a table, on standard
    error with csv or json, so that those stay pure CSV or JSON for the next program."""
    (out if fmt is OutputFormat.TABLE else err).print(text)


def data_day(ws: Workspace, value: str | date | None, option: str = "--as-of") -> date:
    """The day a command works as of: ``value`` (a ``YYYY-MM-DD`` string or a date), or
    by default the data's now (today, or the data's last day when today is past it,
    said on standard error so that CSV and JSON output stay clean). A day in the
    future of both the data and the clock is an :class:`InputError` naming ``option``.
    One rule for every face: :func:`keepwell.health.service.data_as_of`."""
    from keepwell.health import service as health_service  # loaded on first use

    requested = parse_day(value, option) if isinstance(value, str) else value
    resolved = health_service.data_as_of(ws, requested, datetime.now(UTC).date())
    note = resolved.note()
    if note is not None:
        err.print(
            f"[dim]{note[0].upper()}{note[1:]}; {option} chooses another day.[/dim]",
            highlight=False,
        )
    return resolved.day


def to_jsonable(value: Any) -> Any:
    """Plain JSON values: decimals become numbers, dates ISO strings, None stays null."""
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN: undefined
        return None
    return value


def json_text(payload: Any) -> str:
    """``payload`` as indented JSON in which every :class:`~decimal.Decimal` is written
    digit for digit (a float keeps ~16 significant digits: 12,974,824,895.614858 would
    lose its cents). Other values as :func:`to_jsonable`."""
    marks: list[str] = []
    nonce = secrets.token_hex(8)  # no string of the payload can contain it by chance

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal) and value.is_finite():
            marks.append(decimal_text(value))
            return f"{nonce}:{len(marks) - 1}:{nonce}"
        if isinstance(value, Mapping):
            return {str(k): mark(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [mark(v) for v in value]
        return to_jsonable(value)

    text = json.dumps(mark(payload), indent=2, ensure_ascii=False)
    return re.sub(f'"{nonce}:(\\d+):{nonce}"', lambda m: marks[int(m.group(1))], text)


def print_json(payload: Any) -> None:
    sys.stdout.write(json_text(payload) + "\n")


def percent(rate: float | None, digits: int = 1) -> str:
    """A rate (a fraction) as a percentage, ``0.954 -> 95.4%``; empty when undefined."""
    return "" if rate is None or rate != rate else f"{rate * 100:,.{digits}f}%"


def signed_percent(rate: float | None, digits: int = 1) -> str:
    """A change (a fraction) as a signed percentage, ``0.226 -> +22.6%``."""
    return "" if rate is None or rate != rate else f"{rate * 100:+,.{digits}f}%"


def _numeric(value: Any) -> bool:
    """Whether a cell is right-aligned: a number, or a percentage printed as text."""
    if isinstance(value, str):
        return value.endswith("%") and value[:1] in "+-0123456789"
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _fixed(value: Any) -> bool:
    """Whether a cell keeps its width: a date, a flag, or no value."""
    return value is None or isinstance(value, bool | date)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if value != value else f"{value:,.4g}" if abs(value) < 10 else f"{value:,.2f}"
    if isinstance(value, Decimal):  # whole units stay whole; money to the cent
        return f"{value:,.0f}" if value.as_tuple().exponent == 0 else f"{value:,.2f}"
    if isinstance(value, datetime):  # a table shows the minute, in UTC (csv/json: ISO)
        moment = value.astimezone(UTC) if value.tzinfo else value
        return moment.strftime("%Y-%m-%d %H:%M")
    return str(to_jsonable(value))


class Tables:
    """The tables one command prints: every one in a terminal; with ``--format csv``
    only the one ``chosen`` by name (default: the first), so the output is one pure CSV
    table, and the others are named on standard error with the option that picks them
    (``--table NAME``). An unknown name is an :class:`InputError`."""

    def __init__(self, fmt: OutputFormat, chosen: str | None, names: Sequence[str]) -> None:
        if chosen is not None and chosen not in names:
            raise InputError(f"--table {chosen!r} is not a table of this command",
                             hint=f"one of {', '.join(names)}")  # fmt: skip
        self.fmt, self.names = fmt, tuple(names)
        self.chosen = chosen or self.names[0]
        others = [n for n in self.names if n != self.chosen]
        if fmt is OutputFormat.CSV and others:
            err.print(f"CSV of the {self.chosen} table; also: {', '.join(others)} (--table NAME)")

    def wanted(self, name: str) -> bool:
        """Whether table ``name`` is printed in this format."""
        return self.fmt is not OutputFormat.CSV or name == self.chosen

    def print(
        self,
        name: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        title: str | None = None,
        columns: Iterable[str] | None = None,
    ) -> None:
        """:func:`print_rows` of table ``name`` when it is :meth:`wanted`."""
        if self.wanted(name):
            print_rows(rows, self.fmt, title=title, columns=columns)


def table_option(names: Sequence[str]) -> Any:
    """The ``--table`` option of a command printing the tables ``names``."""
    import typer

    return typer.Option(
        "--table",
        help=f"With --format csv, the one table to print: {', '.join(names)} (default {names[0]}).",
    )


def print_rows(
    rows: Sequence[Mapping[str, Any]],
    fmt: OutputFormat,
    *,
    title: str | None = None,
    columns: Iterable[str] | None = None,
) -> None:
    """Rows as a Rich table, CSV or JSON (a list of objects) on standard output."""
    cols = list(columns) if columns is not None else (list(rows[0]) if rows else [])
    if fmt is OutputFormat.JSON:
        print_json([{c: r.get(c) for c in cols} for r in rows])
        return
    if fmt is OutputFormat.CSV:
        sys.stdout.write(csv_text(cols, rows))
        return
    # 80 columns: light rules, numbers and dates never cut (their width is reserved),
    # text folds onto more lines instead of ending in an ellipsis; when the reserved
    # widths leave text too little room, nothing is reserved (rather cut than lost)
    table = Table(
        title=title, header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True
    )
    cells = [[_cell(row.get(c)) for c in cols] for row in rows]
    shapes = []
    for i, c in enumerate(cols):
        numeric = any(_numeric(r.get(c)) for r in rows[:50])
        fixed = numeric or all(_fixed(r.get(c)) for r in rows[:50])
        widest = max((len(line[i]) for line in cells), default=0)
        word = max((len(w) for line in cells for w in line[i].split()), default=0)
        shapes.append((c, numeric, fixed, widest if fixed else min(word, 12)))
    needed = sum(width + 1 for _c, _n, _f, width in shapes)
    reserve = needed <= out.width
    for c, numeric, fixed, width in shapes:
        table.add_column(
            c,
            justify="right" if numeric else "left",
            no_wrap=fixed and reserve,
            min_width=width if reserve else None,
            overflow="fold" if reserve else "ellipsis",
        )
    for line in cells:
        table.add_row(*line)
    out.print(table)
