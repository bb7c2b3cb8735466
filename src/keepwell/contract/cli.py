"""``keepwell import``: load a contract file (or any export, through a mapping) into the
workspace; ``keepwell map``: propose, save and list mappings; ``keepwell events
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

from keepwell.console import OutputFormat, err, out, parse_day, print_json, print_rows, workspace
from keepwell.contract.dialect import Dialect
from keepwell.contract.schema import ENTITIES
from keepwell.contract.service import (
    ImportReport,
    find_mapping,
    import_file,
    preset_names,
    refresh_event_rollup,
    save_mapping,
    saved_mappings,
    suggest_for_file,
)
from keepwell.core.errors import InputError

DelimiterOption = Annotated[
    str | None,
    typer.Option("--delimiter", help="Field separator: , ; tab | (default: sniffed)."),
]
EncodingOption = Annotated[
    str | None,
    typer.Option("--encoding", help="The file's encoding, e.g. cp1252, latin-1, utf-16."),
]
DecimalOption = Annotated[
    str | None,
    typer.Option("--decimal", help="Decimal mark of amounts: . or , (the other groups thousands)."),
]
DateOrderOption = Annotated[
    str | None,
    typer.Option("--date-order", help="Order of numeric dates like 03/04/2025: dmy, mdy or ymd."),
]
DateFormatOption = Annotated[
    str | None, typer.Option("--date-format", help="strptime format of dates, e.g. %d.%m.%Y.")
]
SheetOption = Annotated[
    str | None, typer.Option("--sheet", help="The sheet of an .xlsx workbook (default: first).")
]


def _dialect(
    delimiter: str | None,
    encoding: str | None,
    decimal: str | None,
    date_order: str | None,
    date_format: str | None,
    sheet: str | None,
) -> Dialect:
    if delimiter in ("tab", "\\t"):
        delimiter = "\t"
    try:
        return Dialect(
            delimiter=delimiter,
            encoding=encoding or "utf-8",
            decimal=decimal,
            date_order=date_order,
            date_format=date_format,
            sheet=sheet,
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None


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
    mapping: Annotated[
        str | None,
        typer.Option(
            "--mapping", help="A mapping: saved NAME, preset NAME or PATH.yaml (keepwell map list)."
        ),
    ] = None,
    preview: Annotated[
        bool,
        typer.Option("--preview", help="Show the first rows as mapped, with any reject reason."),
    ] = False,
    rows: Annotated[int, typer.Option("--rows", help="Rows the preview shows.", min=1)] = 10,
    delimiter: DelimiterOption = None,
    encoding: EncodingOption = None,
    decimal: DecimalOption = None,
    date_order: DateOrderOption = None,
    date_format: DateFormatOption = None,
    sheet: SheetOption = None,
) -> None:
    """Import ENTITY rows from FILE. Exit 0: all loaded; 1: some rejected; 2: unusable input."""
    dialect = _dialect(delimiter, encoding, decimal, date_order, date_format, sheet)
    ws = workspace()
    chosen = find_mapping(ws, mapping) if mapping else None
    if preview:
        report = import_file(ws, entity, file, dialect=dialect, mapping=chosen, preview=rows)
        ws.close()
        _print_preview(report, fmt)
        raise typer.Exit(report.exit_code)
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
            ws,
            entity,
            file,
            dry_run=dry_run,
            rejects_path=rejects,
            on_progress=on_progress,
            dialect=dialect,
            mapping=chosen,
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
                "filtered": report.filtered,
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
        + (f", left out by the mapping {report.filtered:,}" if report.filtered else "")
        + ("  (dry run: nothing written)" if report.dry_run else ""),
        highlight=False,
    )
    for rejected in report.examples[:20]:
        err.print(f"  line {rejected.line}: {rejected.reason}", highlight=False, markup=False)
    if report.rejected > 20:
        err.print(f"  ... and {report.rejected - 20:,} more", highlight=False)
    if report.rejects_path:
        err.print(f"  rejected rows written to {report.rejects_path}", highlight=False)


def _print_preview(report: ImportReport, fmt: OutputFormat) -> None:
    rows = [
        {
            "line": p.line,
            "result": "left out (where)"
            if p.filtered
            else ("ok" if p.reason is None else "rejected"),
            **dict(p.values),
            "reason": p.reason or "",
        }
        for p in report.preview
    ]
    if fmt is OutputFormat.JSON:
        print_json({"entity": report.entity, "file": str(report.path), "rows": rows})
        return
    columns = sorted({k for r in rows for k in r}, key=lambda k: _order(rows, k))
    print_rows(
        [{c: r.get(c, "") for c in columns} for r in rows],
        fmt,
        title=f"{report.entity} from {report.path.name}: the first {report.read} rows as mapped "
        "(nothing written)",
    )


def _order(rows: list[dict[str, object]], key: str) -> int:
    for row in rows:
        if key in row:
            return list(row).index(key) if key != "reason" else 10_000
    return 10_000


def map_suggest(
    file: Annotated[Path, typer.Argument(help="An export (CSV, .xlsx, Parquet, JSON Lines).")],
    entity: Annotated[
        str | None, typer.Option("--entity", help=f"The entity it feeds: {', '.join(ENTITIES)}.")
    ] = None,
    save: Annotated[
        str | None, typer.Option("--save", help="Keep the proposal in the workspace as NAME.")
    ] = None,
    delimiter: DelimiterOption = None,
    encoding: EncodingOption = None,
    sheet: SheetOption = None,
) -> None:
    """Propose a mapping from FILE's header (recognising the presets); print it as YAML."""
    dialect = _dialect(delimiter, encoding, None, None, None, sheet)
    suggestion = suggest_for_file(file, dialect, entity)
    if suggestion.preset:
        err.print(f"recognised: the {suggestion.preset} preset", highlight=False)
    elif suggestion.unmatched:
        err.print(
            "no column found for " + ", ".join(suggestion.unmatched) + ": fill them in",
            highlight=False,
        )
    out.print(suggestion.text, end="", highlight=False, markup=False)
    if save:
        if suggestion.unmatched:
            raise InputError(
                f"not saved: the proposal has no column for {', '.join(suggestion.unmatched)}",
                hint="write the mapping to a file, complete it, and import with --mapping FILE",
            )
        path = save_mapping(workspace(), save, suggestion.text)
        err.print(f"saved as {save} ({path})", highlight=False)


def map_list() -> None:
    """The mappings saved in the workspace and the presets shipped with Keepwell."""
    ws = workspace()
    rows = [{"name": n, "kind": "saved"} for n in saved_mappings(ws)]
    rows += [{"name": n, "kind": "preset"} for n in preset_names()]
    print_rows(
        rows, OutputFormat.TABLE, title="mappings (keepwell import ENTITY FILE --mapping NAME)"
    )


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
    mapping = typer.Typer(help="Mappings from exports to the contract.", no_args_is_help=True)
    mapping.command("suggest")(map_suggest)
    mapping.command("list")(map_list)
    app.add_typer(mapping, name="map")
    events = typer.Typer(help="Events read in place from a warehouse source.", no_args_is_help=True)
    events.command("refresh")(refresh_command)
    app.add_typer(events, name="events")
