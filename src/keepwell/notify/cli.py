"""CLI face of notifications: ``keepwell notifications list|retry|deliver``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from keepwell.console import OutputFormat, opened_workspace, out, print_json, print_rows
from keepwell.notify import service

app = typer.Typer(help="Notifications: email, Slack and webhooks.", no_args_is_help=True)
Format = Annotated[OutputFormat, typer.Option("--format")]
COLUMNS = ["id", "status", "channel", "target", "subject", "attempts", "next_attempt_at",
           "sent_at", "last_error"]  # fmt: skip


@app.command("list")
def list_command(
    status: Annotated[
        str | None, typer.Option(help="Only this status: pending, sending, sent, failed.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 100,
    fmt: Format = OutputFormat.TABLE,
) -> None:
    """List notifications, newest first (``--status failed`` for the ones given up)."""
    with opened_workspace() as ws:
        rows = service.list_notifications(ws, status=status, limit=limit)
    print_rows(rows, fmt, columns=COLUMNS, title="Notifications")


@app.command("retry")
def retry_command(
    notification_id: Annotated[int, typer.Argument(metavar="ID", help="Notification id.")],
) -> None:
    """Make a failed notification due again now, with a fresh count of attempts."""
    with opened_workspace() as ws:
        row = service.retry_notification(ws, notification_id)
    out.print(f"notification {row['id']} is pending again; `keepwell notifications deliver`")


@app.command("deliver")
def deliver_command(
    limit: Annotated[int | None, typer.Option(help="At most this many.")] = None,
    fmt: Format = OutputFormat.TABLE,
) -> None:
    """Deliver every notification due now; exit code 1 when one was given up this run."""
    with opened_workspace() as ws:
        report = service.deliver_pending(ws, now=datetime.now(UTC), limit=limit)
    figures = {k: v for k, v in vars(report).items() if k != "errors"}
    if fmt is OutputFormat.JSON:
        print_json({**figures, "errors": [{"id": i, "error": e} for i, e in report.errors]})
    else:
        print_rows([figures], fmt, title="Delivery")
        for notification_id, error in report.errors:
            out.print(f"notification {notification_id}: {error}", highlight=False, markup=False)
    if report.failed_total:
        out.print(f"{report.failed_total} failed: `keepwell notifications list --status failed`")
    if report.failed:
        raise typer.Exit(1)


def register(root: typer.Typer) -> None:
    """Add ``notifications`` to the root ``root``."""
    root.add_typer(app, name="notifications")
