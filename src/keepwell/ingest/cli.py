"""CLI face of ingestion: ``keepwell sources add|list|remove|rotate``; ``add`` and
``rotate`` print the source's write key (once: only its hash is kept)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from keepwell.auth.cli import cli_actor
from keepwell.console import OutputFormat, out, print_rows, workspace
from keepwell.ingest import service


def sources_add(name: Annotated[str, typer.Argument(help="A name for the sender.")]) -> None:
    """Create a tracking source and print its write key once (Basic auth user name)."""
    key = service.add_source(workspace(), name, now=datetime.now(UTC), actor=cli_actor())
    sys.stdout.write(key + "\n")


def sources_list(
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.TABLE,
) -> None:
    """List the tracking sources (never their keys)."""
    print_rows(service.list_sources(workspace()), fmt)


def sources_remove(name: Annotated[str, typer.Argument(help="The source to delete.")]) -> None:
    """Delete a source: its write key stops being accepted (a running server notices
    within seconds)."""
    service.remove_source(workspace(), name, now=datetime.now(UTC), actor=cli_actor())
    out.print(f"Source {name} removed")


def sources_rotate(name: Annotated[str, typer.Argument(help="The source to re-key.")]) -> None:
    """Give a source a new write key and print it once; the old key stops being accepted
    (a running server notices within seconds)."""
    key = service.rotate_source(workspace(), name, now=datetime.now(UTC), actor=cli_actor())
    sys.stdout.write(key + "\n")


def register(app: typer.Typer) -> None:
    """Add ``sources`` to the root ``app``."""
    sources = typer.Typer(help="Senders of tracking events.", no_args_is_help=True)
    sources.command("add")(sources_add)
    sources.command("list")(sources_list)
    sources.command("remove")(sources_remove)
    sources.command("rotate")(sources_rotate)
    app.add_typer(sources, name="sources")
