"""CLI face of auth: ``keepwell users ...``, ``keepwell tokens ...`` and ``keepwell audit``."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from keepwell.auth import service
from keepwell.console import OutputFormat, out, print_rows, workspace
from keepwell.core.errors import InputError

FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table, csv or json.")]


def cli_actor() -> str:
    """Who runs the command, for the audit log: ``cli:<OS user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _read_password(from_stdin: bool) -> str | None:
    if not from_stdin:
        return None
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise InputError("--password-stdin was given but standard input is empty")
    return password


def users_add(
    email: Annotated[str, typer.Argument(help="The user's email (their login).")],
    role: Annotated[str, typer.Option("--role", help="admin, manager, csm or viewer.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Add a user; without --password-stdin they can only use API tokens."""
    ws = workspace()
    user = service.add_user(
        ws, email, role, password=_read_password(password_stdin),
        now=datetime.now(UTC), actor=cli_actor(),
    )  # fmt: skip
    out.print(f"User {user['email']} added as {user['role']}")


def users_list(fmt: FormatOption = OutputFormat.TABLE) -> None:
    """List the users and their roles."""
    print_rows(service.list_users(workspace()), fmt)


def tokens_create(
    email: Annotated[str, typer.Argument(help="Whose token.")],
    scope: Annotated[str, typer.Option("--scope", help="read or write.")] = "read",
) -> None:
    """Create a personal API token and print it once (only its hash is stored)."""
    token = service.create_token(
        workspace(), email, scope, now=datetime.now(UTC), actor=cli_actor()
    )
    sys.stdout.write(token + "\n")


def tokens_list(email: str, fmt: FormatOption = OutputFormat.TABLE) -> None:
    """List a user's tokens (id, prefix, scope, last use, revocation)."""
    print_rows(service.list_tokens(workspace(), email), fmt)


def tokens_revoke(token_id: int) -> None:
    """Revoke a token by id: it stops working with the next request."""
    service.revoke_token(workspace(), token_id, now=datetime.now(UTC), actor=cli_actor())
    out.print(f"Token {token_id} revoked")


def audit_show(
    limit: Annotated[int, typer.Option(help="How many rows, newest first.")] = 50,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Show the audit log: who changed what and when."""
    print_rows(service.list_audit(workspace(), limit), fmt)


def register(app: typer.Typer) -> None:
    """Add ``users``, ``tokens`` and ``audit`` to the root ``app``."""
    users = typer.Typer(help="People who sign in, and their roles.", no_args_is_help=True)
    users.command("add")(users_add)
    users.command("list")(users_list)
    tokens = typer.Typer(help="Personal API tokens.", no_args_is_help=True)
    tokens.command("create")(tokens_create)
    tokens.command("list")(tokens_list)
    tokens.command("revoke")(tokens_revoke)
    app.add_typer(users, name="users")
    app.add_typer(tokens, name="tokens")
    app.command("audit")(audit_show)
