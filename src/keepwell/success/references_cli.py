"""CLI face of references: ``keepwell references
flag|unflag|request|given|declined|requests|use|list|signal|tracker``."""

from __future__ import annotations

from typing import Annotated

import typer

from keepwell.console import OutputFormat, opened_workspace, out, print_json, print_rows
from keepwell.console import parse_day as _day
from keepwell.success import service

Format = Annotated[OutputFormat, typer.Option("--format")]
Account = Annotated[str, typer.Argument(help="Account id.")]
On = Annotated[str | None, typer.Option("--on", help="Day (YYYY-MM-DD, default today).")]


def flag_command(
    account: Account,
    max_uses: Annotated[
        int | None, typer.Option("--max-uses", help="Own limit of uses per 90 days.")
    ] = None,
    notes: Annotated[str | None, typer.Option("--notes")] = None,
    on: On = None,
) -> None:
    """Mark an account as referenceable."""
    with opened_workspace() as ws:
        service.set_referenceable(ws, account, True, on=_day(on), max_uses=max_uses, notes=notes)
    out.print(f"{account} is referenceable")


def unflag_command(account: Account, on: On = None) -> None:
    """Mark an account as not referenceable."""
    with opened_workspace() as ws:
        service.set_referenceable(ws, account, False, on=_day(on))
    out.print(f"{account} is not referenceable")


def request_command(
    account: Account,
    purpose: Annotated[str, typer.Option("--purpose", help="What the reference is for.")],
    by: Annotated[str | None, typer.Option("--by", help="Who asks (email).")] = None,
    on: On = None,
) -> None:
    """Request a reference (refused past the fatigue limit)."""
    with opened_workspace() as ws:
        request_id = service.request_reference(
            ws, account, purpose=purpose, requested_by=by, on=_day(on)
        )
    out.print(f"reference request {request_id} for {account}")


def use_command(
    account: Account,
    kind: Annotated[str, typer.Option("--kind", help="call, case_study, visit, logo…")] = "call",
    request: Annotated[int | None, typer.Option("--request", help="Request it fulfils.")] = None,
    on: On = None,
) -> None:
    """Record a use of a customer as a reference (refused past the fatigue limit)."""
    with opened_workspace() as ws:
        use_id = service.record_use(ws, account, kind=kind, on=_day(on), request_id=request)
    out.print(f"reference use {use_id} recorded for {account}")


Request = Annotated[int, typer.Argument(help="Reference request id.")]


def given_command(
    request: Request,
    kind: Annotated[str, typer.Option("--kind", help="call, case_study, visit, logo…")] = "call",
    by: Annotated[str | None, typer.Option("--by", help="Who records it (email).")] = None,
    on: On = None,
) -> None:
    """The customer gave the requested reference (a use, under the fatigue limit)."""
    with opened_workspace() as ws:
        row = service.record_outcome(ws, request, "given", on=_day(on), kind=kind, actor=by)
    out.print(f"reference request {request} for {row['account_id']}: given")


def declined_command(
    request: Request,
    by: Annotated[str | None, typer.Option("--by", help="Who records it (email).")] = None,
    on: On = None,
) -> None:
    """The customer declined the reference request."""
    with opened_workspace() as ws:
        row = service.record_outcome(ws, request, "declined", on=_day(on), actor=by)
    out.print(f"reference request {request} for {row['account_id']}: declined")


def requests_command(
    account: Annotated[str | None, typer.Option("--account", help="Only this account.")] = None,
    fmt: Format = OutputFormat.TABLE,
) -> None:
    """Reference requests and their outcomes (requested, given, declined), latest first."""
    with opened_workspace() as ws:
        rows = service.reference_requests(ws, account_id=account)
    print_rows(rows, fmt, title=f"{len(rows)} reference requests")


def signal_command(
    on: On = None,
    store: Annotated[
        bool, typer.Option("--store", help="Store it as the health measure references_stopped.")
    ] = False,
    fmt: Format = OutputFormat.TABLE,
) -> None:
    """Customers who gave references and stopped (1) or still give them (0); the window
    is the workspace setting reference_window_days."""
    with opened_workspace() as ws:
        day = _day(on)
        signals = service.stopped_signals(ws, day)
        if store:
            service.push_stopped_measure(ws, day)
    rows = [{"account_id": a, service.STOPPED_MEASURE: v} for a, v in signals.items()]
    stopped = sum(v == 1 for v in signals.values())
    print_rows(rows, fmt, title=f"{stopped} stopped giving references")


def list_command(on: On = None, fmt: Format = OutputFormat.TABLE) -> None:
    """Referenceable accounts with their recent uses and when they are free again."""
    with opened_workspace() as ws:
        rows = service.list_references(ws, _day(on))
    print_rows(rows, fmt, title=f"{len(rows)} referenceable accounts")


def tracker_command(on: On = None, fmt: Format = OutputFormat.TABLE) -> None:
    """The 100/100/100 tracker: referenceable, retained and renewed first customers."""
    with opened_workspace() as ws:
        result = service.reference_tracker(ws, _day(on))
    if fmt is OutputFormat.JSON:
        print_json(result)
        return
    print_rows([{"figure": k, "value": v} for k, v in result.items()], fmt,
               title="100/100/100: the first customers")  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add ``references`` to the root ``app``."""
    refs = typer.Typer(help="Reference customers and the 100/100/100 tracker.",
                       no_args_is_help=True)  # fmt: skip
    for name, command in (("flag", flag_command), ("unflag", unflag_command),
                          ("request", request_command), ("given", given_command),
                          ("declined", declined_command), ("requests", requests_command),
                          ("use", use_command), ("list", list_command),
                          ("signal", signal_command), ("tracker", tracker_command)):  # fmt: skip
        refs.command(name)(command)
    app.add_typer(refs, name="references")
