"""The ``keepwell`` command: the Typer root; each capability adds its own sub-commands.

Sub-commands load on first use. ``keepwell --help``, ``--version`` and ``init`` import
no capability, so they start in a fraction of a second instead of importing pandas,
scikit-learn, LightGBM, Ibis and DuckDB on every call; ``keepwell metrics ...`` imports
the revenue commands only. ``COMMANDS`` names every top-level command with the loader
of its capability and the one line ``keepwell --help`` shows for it
(tests/test_cli_startup.py checks it against the commands themselves).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from keepwell import __version__
from keepwell.console import OutputFormat, err, out, print_json, print_rows, workspace
from keepwell.core.errors import KeepwellError

Loader = Callable[[typer.Typer], None]


def _contract(app: typer.Typer) -> None:
    from keepwell.contract import cli

    cli.register(app)


def _demo(app: typer.Typer) -> None:
    from keepwell.demo import cli

    cli.register(app)


def _revenue(app: typer.Typer) -> None:
    from keepwell.revenue import cli

    cli.register(app)


def _health(app: typer.Typer) -> None:
    from keepwell.health import cli

    cli.register(app)


def _auth(app: typer.Typer) -> None:
    from keepwell.auth import cli

    cli.register(app)


def _ingest(app: typer.Typer) -> None:
    from keepwell.ingest import cli

    cli.register(app)


def _web(app: typer.Typer) -> None:
    from keepwell.server import cli

    cli.register(app)


def _risk(app: typer.Typer) -> None:
    from keepwell.risk import cli

    cli.register(app)


def _export(app: typer.Typer) -> None:
    from keepwell.export import cli

    cli.register(app)


def _success(app: typer.Typer) -> None:
    from keepwell.success import cli

    cli.register(app)


def _reports(app: typer.Typer) -> None:
    from keepwell.reports import cli

    cli.register(app)


def _notify(app: typer.Typer) -> None:
    from keepwell.notify import cli

    cli.register(app)


def _timeline(app: typer.Typer) -> None:
    from keepwell.success import timeline_cli

    timeline_cli.register(app)


LOADERS: tuple[Loader, ...] = (
    _contract, _demo, _revenue, _health, _auth, _ingest, _web, _risk, _export, _success,
    _reports, _notify, _timeline,
)  # fmt: skip

# name -> (loader, the line `keepwell --help` shows), in the order help lists them.
COMMANDS: dict[str, tuple[Loader, str]] = {
    "import": (
        _contract,
        "Import ENTITY rows from FILE. Exit 0: all loaded; 1: some rejected; "
        "2: unusable input.",
    ),
    "events": (_contract, "Events read in place from a warehouse source."),
    "demo": (_demo, "The demo company: `keepwell demo` sets up and shows everything."),
    "metrics": (_revenue, "Revenue and retention metrics."),
    "renewals": (_revenue, "Upcoming renewals (or past ones with their outcome)."),
    "retention": (_revenue, "Retention projection (sBG)."),
    "simulate": (_revenue, "Retention economics: company A against company B, same acquisition."),
    "score": (_health, "Score every customer as of a day and store the snapshot."),
    "health": (_health, "Customer health: scores and explanations."),
    "risk": (_risk, "Churn risk: model, predictions, forecast."),
    "prospects": (_risk, "Prospects: fit with the customers who succeed."),
    "icp": (
        _risk,
        "Ideal customer profile: NRR, GRR and logo churn per industry, size, "
        "country and custom attribute, with 95% intervals; small groups flagged.",
    ),
    "run": (_success, "Run one cycle: score → rules → CTAs and tech-touch → notifications."),
    "worker": (_success, "Run cycles on a schedule; several workers may share one database."),
    "rules": (_success, "Success rules and playbooks."),
    "ctas": (_success, "Calls to action: list, show, start, snooze, close."),
    "tasks": (_success, "Playbook tasks of CTAs."),
    "plans": (_success, "Joint success plans."),
    "references": (_success, "Reference customers and the 100/100/100 tracker."),
    "timeline": (_timeline, "Show an account's whole story, newest first, filterable by kind."),
    "notes": (_timeline, "Notes on an account's timeline."),
    "feedback": (_timeline, "Product feedback: feature requests."),
    "notifications": (_notify, "Notifications: email, Slack and webhooks."),
    "qbr": (
        _reports,
        "Write the business review of ACCOUNT: usage, health, plan, peers, "
        "support, renewal and next goals.",
    ),
    "export": (
        _export,
        "Write one snapshot date's rows to a table or file; re-running "
        "replaces that date.",
    ),
    "serve": (
        _web,
        "Start the server: REST API under /api/v1, tracking API under /v1, "
        "docs at /docs, and the scheduled cycle (KEEPWELL_CYCLE_EVERY / KEEPWELL_CYCLE_AT).",
    ),
    "status": (
        _web,
        "What runs where: the server (pid, address), the last and next cycle and its "
        "outcome, the queue of outgoing notifications, the stores and their sizes.",
    ),
    "users": (_auth, "People who sign in, and their roles."),
    "tokens": (_auth, "Personal API tokens."),
    "audit": (_auth, "Show the audit log: who changed what and when."),
    "sources": (_ingest, "Senders of tracking events."),
}  # fmt: skip


class _LazyRoot(TyperGroup):
    """The root group: a capability's commands are imported when one of them is called."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        own = super().list_commands(ctx)
        return [*own, *(name for name in COMMANDS if name not in own)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            loader, short = COMMANDS[cmd_name]
            if self._listing:  # the root's help lists it without importing it
                return TyperCommand(cmd_name, help=short, short_help=short)
            self.load(loader)
        return super().get_command(ctx, cmd_name)

    def load(self, loader: Loader) -> None:
        """Add every command of one capability (``loader`` registers them on a Typer)."""
        commands = typer.Typer()
        loader(commands)
        for name, command in typer.main.get_group(commands).commands.items():
            self.commands.setdefault(name, command)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def load_all() -> _LazyRoot:
    """The root command with every capability loaded (for tests and documentation)."""
    group = typer.main.get_group(app)
    assert isinstance(group, _LazyRoot)
    for loader in LOADERS:
        group.load(loader)
    return group


app = typer.Typer(
    name="keepwell",
    cls=_LazyRoot,
    help="Keepwell: customer success for subscription businesses.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
settings_app = typer.Typer(help="Settings of the workspace's data.", no_args_is_help=True)
app.add_typer(settings_app, name="settings")


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
    from keepwell.core.settings import get_settings
    from keepwell.core.workspace import init_workspace

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
    commands that need it run there (:mod:`keepwell.server.forward`)."""
    argv = sys.argv[1:]
    forwarded = None
    # only a command (not --help, --version or no argument) may run in a server: the
    # settings (pydantic-settings, a third of --version's start-up) are read for those
    if argv and not argv[0].startswith("-") and "--help" not in argv:
        try:
            from keepwell.core.settings import get_settings
            from keepwell.server.forward import forward

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
        from keepwell.core.database import store_failure

        failure = store_failure(exc)  # read-only store, full disk: one line, no row data
        if failure is not None:
            err.print("[bold red]error:[/bold red] ", end="")
            err.print(f"{failure.message}\n  hint: {failure.hint}", highlight=False, markup=False)
            sys.exit(failure.exit_code)
        err.print("[bold red]internal error:[/bold red] ", end="")
        first = (str(exc).strip().splitlines() or [""])[0]  # never a statement's bound values
        err.print(f"{type(exc).__name__}: {first}", highlight=False, markup=False)
        err.print("  please report it; set KEEPWELL_DEBUG=1 to see the traceback", highlight=False)
        return 3
    return 0


def _show_error(exc: KeepwellError) -> int:
    err.print("[bold red]error:[/bold red] ", end="")
    err.print(exc.message, highlight=False, markup=False)
    if exc.hint:
        err.print(f"  hint: {exc.hint}", highlight=False, markup=False)
    return exc.exit_code
