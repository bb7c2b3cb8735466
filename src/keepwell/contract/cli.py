"""``keepwell import``: load a contract file into the workspace; ``keepwell events
refresh``: bring the rollup up to date with a warehouse event source."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from keepwell.console import OutputFormat, err, out, parse_day, print_json, workspace
from keepwell.contract.schema import ENTITIES
from keepwell.contract.service import ImportReport, import_file, refresh_event_rollup


def import_command(
    entity: Annotated[str, typer.Argument(help=f"One of: {', '.join(ENTITIES)}.")],
    file: Annotated[Path, typer.Argument(help="CSV, Parquet or JSON Lines, optionally .gz.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and count; write nothing.")
    ] = False,
    rejects: Annotated[
        Path | None,
        typer.Option(help="Where rejected rows go (default: NAME.rejects.EXT beside FILE)."),
    ] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Summary format.")] = (
        OutputFormat.TABLE
    ),
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar (it shows only on a terminal).")
    ] = False,
) -> None:
    """Import ENTITY rows from FILE. Exit 0: all loaded; 1: some rejected; 2: unusable input."""
    ws = workspace()
    with Progress(
        TextColumn(f"importing {entity}"),
        BarColumn(),
        TaskProgressColumn(),  # of the file's bytes (Parquet: of its rows)
        TextColumn("{task.fields[rows]:>12,} rows  {task.fields[rate]:>9,.0f} rows/s"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=quiet or not err.is_terminal,
    ) as progress:
        task = progress.add_task("import", total=None, rows=0, rate=0.0)
        started = time.monotonic()

        def on_progress(done: int, total: int, rows: int) -> None:
            rate = rows / max(time.monotonic() - started, 1e-3)
            progress.update(task, completed=done, total=total, rows=rows, rate=rate)

        report = import_file(
            ws, entity, file, dry_run=dry_run, rejects_path=rejects, on_progress=on_progress
        )
    ws.close()
    _print_report(report, fmt)
    raise typer.Exit(report.exit_code)


def _print_report(report: ImportReport, fmt: OutputFormat) -> None:
    c = report.counts
    if fmt is OutputFormat.JSON:
        print_json(
            {
                "entity": report.entity,
                "file": str(report.path),
                "dry_run": report.dry_run,
                "read": report.read,
                "loaded": report.loaded,
                "new": c.new,
                "updated": c.updated,
                "unchanged": c.unchanged,
                "rejected": report.rejected,
                "rejects_file": str(report.rejects_path) if report.rejects_path else None,
                "rejects": [{"line": r.line, "reason": r.reason} for r in report.examples],
            }
        )
        return
    verb = "would load" if report.dry_run else "loaded"
    out.print(
        f"{report.entity}: read {report.read:,}, {verb} {report.loaded:,} "
        f"(new {c.new:,}, updated {c.updated:,}, unchanged {c.unchanged:,}), "
        f"rejected {report.rejected:,}"
        + ("  (dry run: nothing written)" if report.dry_run else ""),
        highlight=False,
    )
    for rejected in report.examples[:20]:
        err.print(f"  line {rejected.line}: {rejected.reason}", highlight=False, markup=False)
    if report.rejected > 20:
        err.print(f"  ... and {report.rejected - 20:,} more", highlight=False)
    if report.rejects_path:
        err.print(f"  rejected rows written to {report.rejects_path}", highlight=False)


def refresh_command(
    since: Annotated[
        str | None,
        typer.Option("--since", help="Recompute from this day (YYYY-MM-DD), e.g. for late data."),
    ] = None,
) -> None:
    """Bring the rollup up to date with the events source declared in keepwell.yaml."""
    day = parse_day(since, "--since") if since else None
    result = refresh_event_rollup(workspace(), day)
    if result is None:
        out.print("no events source is declared in keepwell.yaml: nothing to refresh")
        return
    start = result.since.isoformat() if result.since else "the first day"
    out.print(f"rollup refreshed from {start}: {result.rows:,} rows")


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
    events = typer.Typer(help="Events read in place from a warehouse source.", no_args_is_help=True)
    events.command("refresh")(refresh_command)
    app.add_typer(events, name="events")
