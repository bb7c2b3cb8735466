"""CLI face of the timeline and product feedback: ``keepwell timeline ACCOUNT`` (the
whole story, assembled by ``portfolio.service.account_story``),
``keepwell notes add``, ``keepwell feedback add`` and ``keepwell feedback top``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from keepwell.console import (
    OutputFormat,
    cli_user,
    note,
    opened_workspace,
    out,
    print_json,
    print_rows,
)
from keepwell.console import parse_day as _day
from keepwell.core.errors import InputError
from keepwell.portfolio import service as portfolio_service
from keepwell.success import service, timeline

notes_app = typer.Typer(help="Notes on an account's timeline.", no_args_is_help=True)
feedback_app = typer.Typer(help="Product feedback: feature requests.", no_args_is_help=True)

Format = Annotated[OutputFormat, typer.Option("--format")]
Author = Annotated[
    str | None, typer.Option(help="Who wrote it (email; default: cli:<your OS user>).")
]
At = Annotated[str | None, typer.Option("--at", help="When (ISO timestamp; default now).")]


def _when(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(
            f"--at {value!r} is not a timestamp", hint="use 2026-03-01T10:00Z"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def timeline_command(
    account: Annotated[str, typer.Argument(help="Account id.")],
    kind: Annotated[
        list[str] | None,
        typer.Option(
            help="Only entries of this kind (repeatable): "
            + ", ".join(portfolio_service.TIMELINE_KINDS)
        ),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    tag: Annotated[str | None, typer.Option(help="Only activities with this tag.")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The story up to this day (default today).")
    ] = None,
    fmt: Format = OutputFormat.TABLE,
) -> None:
    """Show an account's whole story, newest first, filterable by kind.

    Meetings, calls, emails, notes and reviews, tickets, surveys, CTAs, plan check-ins
    and milestones, messages sent, health band changes, renewals and MRR changes."""
    with opened_workspace() as ws:
        rows = portfolio_service.account_story(
            ws, account, _day(as_of), scope=None, kinds=kind, limit=limit, tag=tag
        )
    if fmt is OutputFormat.JSON:
        print_json(rows)
        return
    if fmt is OutputFormat.TABLE:  # minutes in UTC are enough to read at 80 columns
        rows = [{**r, "at": f"{r['at']:%Y-%m-%d %H:%M}"} for r in rows]
    print_rows(rows, fmt, columns=portfolio_service.TIMELINE_FIELDS, title=f"Timeline of {account}")


@notes_app.command("add")
def notes_add(
    account: Annotated[str, typer.Argument(help="Account id.")],
    body: Annotated[str, typer.Option(help="The note.")],
    tags: Annotated[str | None, typer.Option(help="Tags separated by ';'.")] = None,
    kind: Annotated[str, typer.Option(help=f"One of {', '.join(timeline.KINDS)}.")] = "note",
    subject: Annotated[str | None, typer.Option(help="A title.")] = None,
    author: Author = None,
    at: At = None,
) -> None:
    """Add a note (or a meeting, call... record) to an account's timeline."""
    with opened_workspace() as ws:
        who = author or cli_user()  # a note always records who wrote it
        row = timeline.add_note(ws, account, who, body, tags, kind, _when(at), subject=subject)
    out.print(f"added {row['kind']} {row['activity_id']} to {account} by {row['author']}")


@feedback_app.command("add")
def feedback_add(
    account: Annotated[str, typer.Argument(help="Account id.")],
    request: Annotated[str, typer.Option(help="What the customer asks for (the title).")],
    body: Annotated[
        str | None, typer.Option("--body", "--quote", help="The customer's words.")
    ] = None,
    contact: Annotated[str | None, typer.Option(help="Contact id of who asked.")] = None,
    to: Annotated[
        int | None,
        typer.Option("--to", help="Join this request id (default: a similar title, else new)."),
    ] = None,
    author: Author = None,
    at: At = None,
) -> None:
    """Record a feature request of an account (an ask, and a note on its timeline)."""
    with opened_workspace() as ws:
        when = _when(at)
        row = service.add_feedback(
            ws, account, request, author=author or cli_user(), occurred_at=when, body=body,
            contact_id=contact, request_id=to, as_of=min(when.date(), datetime.now(UTC).date()),
        )  # fmt: skip
    out.print(
        f"recorded request {row['subject']!r} of {account} ({row['activity_id']}): "
        f"feature request {row['request_id']} {row['request']!r}"
    )


def _print_requests(
    rows: list[dict[str, Any]], fmt: OutputFormat, title: str, csv_extra: list[str] | None = None
) -> None:
    """Feature requests as JSON, or one row each (``csv_extra`` columns in CSV only: a
    terminal has no room for the account ids)."""
    if fmt is OutputFormat.JSON:
        print_json(rows)
        return
    columns = ["request_id", "request", "status", "accounts", "mentions", "arr"]
    if fmt is OutputFormat.CSV:
        columns += csv_extra or []
    table = [{**r, "account_ids": ";".join(r["account_ids"])} for r in rows]
    print_rows(table, fmt, columns=columns, title=title)


@feedback_app.command("top")
def feedback_top(
    limit: Annotated[int, typer.Option(help="How many requests.")] = 20,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Requests up to and ARR on this day.")
    ] = None,
    fmt: Format = OutputFormat.TABLE,
) -> None:
    """The most requested features: accounts asking, mentions and their ARR."""
    with opened_workspace() as ws:
        rows = service.list_requests(ws, _day(as_of), limit=limit)
    _print_requests(rows, fmt, "Top feature requests", csv_extra=["account_ids", "last_at"])


@feedback_app.command("list")
def feedback_list(
    status: Annotated[
        str | None, typer.Option(help="Only this status: open, planned, shipped, declined.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Requests up to and ARR on this day.")
    ] = None,
    fmt: Format = OutputFormat.TABLE,
) -> None:
    """Every feature request (not merged away), most asked first."""
    with opened_workspace() as ws:
        rows = service.list_requests(ws, _day(as_of), status=status)
    _print_requests(rows, fmt, "Feature requests")


@feedback_app.command("show")
def feedback_show(
    request_id: Annotated[int, typer.Argument(help="Feature request id.")],
    fmt: Format = OutputFormat.TABLE,
) -> None:
    """One feature request and every customer who asked, in their words."""
    with opened_workspace() as ws:
        request = service.show_request(ws, request_id)
    if fmt is OutputFormat.JSON:
        print_json(request)
        return
    merged = f", merged into {request['merged_into']}" if request["merged_into"] else ""
    note(fmt, f"[bold]{request['request_id']} {request['title']}[/bold]: {request['status']}"
              f"{merged}; {request['accounts']} account(s)")  # fmt: skip
    columns = ["account_id", "account", "contact_id", "arr", "asked_at", "quote"]
    print_rows(request["asks"], fmt, columns=columns, title="Asked by")


@feedback_app.command("status")
def feedback_status(
    request_id: Annotated[int, typer.Argument(help="Feature request id.")],
    status: Annotated[str, typer.Argument(help="open, planned, shipped or declined.")],
) -> None:
    """Set a request's status; shipped tells each asking customer's contact once (email
    through the notification outbox)."""
    with opened_workspace() as ws:
        request = service.set_status(ws, request_id, status, at=datetime.now(UTC))
    out.print(
        f"feature request {request['request_id']} {request['title']!r} is {request['status']}"
    )


@feedback_app.command("merge")
def feedback_merge(
    source: Annotated[int, typer.Argument(help="The request to merge away.")],
    into: Annotated[int, typer.Argument(help="The request it joins.")],
) -> None:
    """Merge one feature request into another (its asks move)."""
    with opened_workspace() as ws:
        request = service.merge_requests(ws, source, into, at=datetime.now(UTC))
    out.print(f"merged {source} into {request['request_id']} {request['title']!r}: "
              f"{request['accounts']} account(s)")  # fmt: skip


@feedback_app.command("sync")
def feedback_sync(
    as_of: Annotated[str | None, typer.Option("--as-of", help="ARR of this day.")] = None,
) -> None:
    """Take activities tagged feature_request (imported) as feature requests."""
    with opened_workspace() as ws:
        taken = service.sync_requests(ws, _day(as_of))
    out.print(f"took {taken} feature request(s) from the timeline")


def register(app: typer.Typer) -> None:
    """Add ``timeline``, ``notes`` and ``feedback`` to the root ``app``."""
    app.command("timeline")(timeline_command)
    app.add_typer(notes_app, name="notes")
    app.add_typer(feedback_app, name="feedback")
