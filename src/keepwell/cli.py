"""The ``keepwell`` command: the Typer root; each capability adds its own sub-commands."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from keepwell import __version__
from keepwell.auth import cli as auth_cli
from keepwell.console import OutputFormat, err, out, print_json, print_rows, workspace
from keepwell.contract import cli as contract_cli
from keepwell.core.errors import KeepwellError
from keepwell.core.settings import get_settings
from keepwell.core.workspace import init_workspace
from keepwell.demo import cli as demo_cli
from keepwell.export import cli as export_cli
from keepwell.health import cli as health_cli
from keepwell.ingest import cli as ingest_cli
from keepwell.notify import cli as notify_cli
from keepwell.reports import cli as reports_cli
from keepwell.revenue import cli as revenue_cli
from keepwell.risk import cli as risk_cli
from keepwell.success import cli as success_cli
from keepwell.success import timeline_cli
from keepwell.web import cli as web_cli

app = typer.Typer(
    name="keepwell",
    help="Keepwell: customer success for subscription businesses.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
settings_app = typer.Typer(help="Settings of the workspace's data.", no_args_is_help=True)
app.add_typer(settings_app, name="settings")
for slice_cli in (contract_cli, demo_cli, revenue_cli, health_cli, auth_cli, ingest_cli, web_cli):
    slice_cli.register(app)
risk_cli.register(app)
export_cli.register(app)
success_cli.register(app)
reports_cli.register(app)
notify_cli.register(app)
timeline_cli.register(app)


def _version(value: bool) -> None:
    if value:
        out.print(f"keepwell {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """Keepwell: customer success for subscription businesses."""


@app.command()
def init(
    path: Annotated[
        Path | None, typer.Argument(help="Workspace directory (default: KEEPWELL_HOME).")
    ] = None,
    currency: Annotated[str, typer.Option(help="Base currency (ISO 4217).")] = "USD",
    timezone: Annotated[str, typer.Option(help="Time zone of the data (IANA).")] = "UTC",
) -> None:
    """Create a workspace (database, analytics store, config); safe to run again."""
    settings = get_settings()
    root = path or settings.home
    ws = init_workspace(root, settings=settings, base_currency=currency, timezone=timezone)
    out.print(f"Workspace ready at [bold]{ws.root}[/bold]")
    ws.close()


@settings_app.command("show")
def settings_show(
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.TABLE,
) -> None:
    """Show the workspace settings."""
    ws = workspace()
    values = ws.settings()
    if fmt is OutputFormat.JSON:
        print_json(values)
    else:
        print_rows([{"setting": k, "value": v} for k, v in values.items()], fmt)


@settings_app.command("set")
def settings_set(key: str, value: str) -> None:
    """Set a workspace setting (base_currency, timezone)."""
    ws = workspace()
    ws.set_setting(key, value)
    out.print(f"{key} = {ws.setting(key)}")


def main() -> None:
    """Entry point: user errors become one line on stderr and an exit code, never a
    traceback. While a server owns the workspace's embedded analytics store, the
    commands that need it run there (:mod:`keepwell.web.forward`)."""
    argv = sys.argv[1:]
    try:
        from keepwell.web.forward import forward

        forwarded = forward(argv, get_settings())
    except KeepwellError as exc:
        sys.exit(_show_error(exc))
    sys.exit(forwarded if forwarded is not None else execute(argv))


def execute(argv: list[str]) -> int:
    """Run ``keepwell ARGV`` here; its exit code. User errors are one line on stderr."""
    try:
        app(args=argv, prog_name="keepwell")
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        err.print(str(exc.code), highlight=False, markup=False)
        return 1
    except KeepwellError as exc:
        return _show_error(exc)
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception as exc:  # the last safety net: a bug, never the user's fault
        if os.environ.get("KEEPWELL_DEBUG"):
            raise
        err.print("[bold red]internal error:[/bold red] ", end="")
        err.print(f"{type(exc).__name__}: {exc}", highlight=False, markup=False)
        err.print("  please report it; set KEEPWELL_DEBUG=1 to see the traceback", highlight=False)
        return 3
    return 0


def _show_error(exc: KeepwellError) -> int:
    err.print("[bold red]error:[/bold red] ", end="")
    err.print(exc.message, highlight=False, markup=False)
    if exc.hint:
        err.print(f"  hint: {exc.hint}", highlight=False, markup=False)
    return exc.exit_code
