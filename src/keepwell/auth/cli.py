"""CLI face of auth: ``keepwell users ...``, ``keepwell tokens ...`` and ``keepwell audit``."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from typing import Annotated

import typer

from keepwell.auth import service
from keepwell.auth.service import cli_actor
from keepwell.console import OutputFormat, out, print_rows, workspace
from keepwell.core.errors import InputError

FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table, csv or json.")]


__all__ = ["cli_actor", "register"]


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


EmailArgument = Annotated[str, typer.Argument(help="The user's email.")]


def users_deactivate(email: EmailArgument) -> None:
    """Deactivate a user: sign-in, sessions and API tokens stop at once; their accounts
    show as unassigned."""
    user = service.deactivate_user(workspace(), email, now=datetime.now(UTC))
    out.print(f"User {user['email']} deactivated", highlight=False)


def users_activate(email: EmailArgument) -> None:
    """Let a deactivated user sign in again."""
    user = service.activate_user(workspace(), email, now=datetime.now(UTC))
    out.print(f"User {user['email']} active again as {user['role']}", highlight=False)


def users_role(
    email: EmailArgument,
    role: Annotated[str, typer.Argument(help="admin, manager, csm or viewer.")],
) -> None:
    """Change a user's role (applies to their next request)."""
    user = service.set_role(workspace(), email, role, now=datetime.now(UTC))
    out.print(f"User {user['email']} is now {user['role']}", highlight=False)


def users_password(
    email: EmailArgument,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from standard input.")
    ] = False,
    remove: Annotated[
        bool, typer.Option("--remove", help="Remove the password (API tokens only).")
    ] = False,
) -> None:
    """Reset a user's password (from standard input) and sign them out everywhere."""
    if password_stdin == remove:
        raise InputError("give exactly one of --password-stdin or --remove")
    password = None if remove else _read_password(True)
    user = service.reset_password(workspace(), email, password, now=datetime.now(UTC))
    done = "removed" if remove else "reset"
    out.print(f"Password of {user['email']} {done}; their sessions ended", highlight=False)


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
    limit: Annotated[
        int, typer.Option(min=1, help="How many rows, newest first (CSV/JSON: all).")
    ] = 50,
    user: Annotated[
        str | None, typer.Option("--user", help="Who acted: an email or cli:<OS user>.")
    ] = None,
    account: Annotated[str | None, typer.Option("--account", help="An account id.")] = None,
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="cta, task, plan, note, reference, import, user, ..."),
    ] = None,
    since: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="From this day (UTC).")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="To this day included.")
    ] = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Show the audit log: who changed what and when.

    Each change with its before and after values; ``--format csv`` exports every
    matching row."""
    rows = service.list_audit(
        workspace(), None if fmt is not OutputFormat.TABLE else limit,
        actor=user, account_id=account, kind=kind, since=_day(since), until=_day(until),
    )  # fmt: skip
    if fmt is OutputFormat.TABLE and not rows:
        out.print("No audit rows match.")
    elif fmt is OutputFormat.TABLE:
        print_rows([_short(r) for r in rows], fmt, title=f"{len(rows)} newest audit rows")
    elif fmt is OutputFormat.CSV:
        print_rows([_flat(r) for r in rows], fmt)
    else:
        print_rows(rows, fmt)


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def _flat(row: dict[str, object]) -> dict[str, object]:
    """A row for CSV: the details as compact JSON text."""
    details = row.get("details")
    return {**row, "details": service.details_text(details) if details else ""}


def _short(row: dict[str, object]) -> dict[str, object]:
    """A row for the terminal: the time to the minute, the change as old → new."""
    at = row["at"]
    when = at.strftime("%Y-%m-%d %H:%M") if isinstance(at, datetime) else str(at)
    return {"at (UTC)": when, "actor": row["actor"], "action": row["action"],
            "account": row["account_id"] or "",
            "change": service.change_text(row.get("details")) or (row["target"] or "")}  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add ``users``, ``tokens`` and ``audit`` to the root ``app``."""
    users = typer.Typer(help="People who sign in, and their roles.", no_args_is_help=True)
    users.command("add")(users_add)
    users.command("list")(users_list)
    users.command("deactivate")(users_deactivate)
    users.command("activate")(users_activate)
    users.command("role")(users_role)
    users.command("password")(users_password)
    tokens = typer.Typer(help="Personal API tokens.", no_args_is_help=True)
    tokens.command("create")(tokens_create)
    tokens.command("list")(tokens_list)
    tokens.command("revoke")(tokens_revoke)
    app.add_typer(users, name="users")
    app.add_typer(tokens, name="tokens")
    app.command("audit")(audit_show)
