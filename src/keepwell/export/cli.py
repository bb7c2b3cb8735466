"""CLI face of the write-back: ``keepwell export scores|risk|movements --to TARGET``."""

from __future__ import annotations

from typing import Annotated

import typer

from keepwell.console import opened_workspace, out
from keepwell.console import parse_day as _day
from keepwell.export import service
from keepwell.export.service import ExportKind


def export_command(
    what: Annotated[ExportKind, typer.Argument(help="scores, risk or movements.")],
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="FILE.csv, FILE.parquet, TABLE / analytics:TABLE (analytics engine) "
            "or db:TABLE (operational database).",
        ),
    ],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Snapshot date (YYYY-MM-DD); default today.")
    ] = None,
    months: Annotated[int, typer.Option("--months", help="Months of movements.")] = 12,
) -> None:
    """Write one snapshot date's rows to a table or file; re-running replaces that date."""
    with opened_workspace() as ws:
        result = service.export(ws, what, to, _day(as_of), months=months)
    out.print(
        f"exported {result.rows} {result.kind} rows of {result.snapshot_date} to {result.target}"
    )


def register(app: typer.Typer) -> None:
    """Add ``export`` to the root ``app``."""
    app.command("export")(export_command)
