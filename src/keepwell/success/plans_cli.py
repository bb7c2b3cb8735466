"""CLI face of success plans: ``keepwell plans create|show|milestone|objective|checkin``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from keepwell.console import (
    OutputFormat,
    Tables,
    note,
    opened_workspace,
    out,
    print_json,
    table_option,
)
from keepwell.console import parse_day as _day
from keepwell.success import service

Format = Annotated[OutputFormat, typer.Option("--format")]
Account = Annotated[str, typer.Argument(help="Account id.")]
AsOf = Annotated[str | None, typer.Option("--as-of", help="Day (YYYY-MM-DD, default today).")]


PLAN_TABLES = ("objectives", "milestones", "checkins")


def _print_plan(plan: dict[str, Any], fmt: OutputFormat, table: str | None = None) -> None:
    tables = Tables(fmt, table, PLAN_TABLES)
    if fmt is OutputFormat.JSON:
        print_json(plan)
        return
    progress = plan["progress"]
    shown = "n/a" if progress is None else f"{progress:.0f}%"
    note(
        fmt,
        f"[bold]{plan['title']}[/bold] for {plan['account_id']} "
        f"(plan {plan['plan_id']}, template {plan['template']}): progress {shown}",
    )
    tables.print("objectives", plan["objectives"], title="Objectives (the customer's measures)")
    tables.print("milestones", plan["milestones"], title="Milestones")
    if plan["checkins"] or fmt is OutputFormat.CSV:
        tables.print("checkins", plan["checkins"], title="Check-ins")


def create_command(
    account: Account,
    template: Annotated[
        str | None, typer.Option("--template", help="Template (default: the segment's).")
    ] = None,
    as_of: AsOf = None,
    fmt: Format = OutputFormat.TABLE,
) -> None:
    """Create the account's success plan from a template."""
    with opened_workspace() as ws:
        plan = service.create_plan(ws, account, as_of=_day(as_of), template=template)
    _print_plan(plan, fmt)


def show_command(
    account: Account,
    as_of: AsOf = None,
    fmt: Format = OutputFormat.TABLE,
    table: Annotated[str | None, table_option(PLAN_TABLES)] = None,
) -> None:
    """Show the account's active plan with its progress."""
    with opened_workspace() as ws:
        plan = service.show_plan(ws, account, _day(as_of))
    _print_plan(plan, fmt, table)


def milestone_command(
    milestone_id: Annotated[int, typer.Argument(help="Milestone id (see `plans show`).")],
    status: Annotated[str, typer.Option("--status", help="planned, in_progress, done, blocked.")],
    on: Annotated[str | None, typer.Option("--on", help="Day of the change.")] = None,
) -> None:
    """Update a milestone's status."""
    with opened_workspace() as ws:
        service.update_milestone(ws, milestone_id, status, _day(on, "--on"))
    out.print(f"milestone {milestone_id}: {status}")


def objective_command(
    objective_id: Annotated[int, typer.Argument(help="Objective id (see `plans show`).")],
    current: Annotated[float | None, typer.Option("--current", help="Value now.")] = None,
    baseline: Annotated[float | None, typer.Option("--baseline")] = None,
    target: Annotated[float | None, typer.Option("--target")] = None,
) -> None:
    """Record an objective's current value (or restate its baseline and target)."""
    with opened_workspace() as ws:
        service.update_objective(
            ws, objective_id, current=current, baseline=baseline, target=target
        )
    out.print(f"objective {objective_id} updated")


def checkin_command(
    account: Account,
    notes: Annotated[str | None, typer.Option("--notes", help="What was agreed.")] = None,
    on: Annotated[str | None, typer.Option("--on", help="Day of the meeting.")] = None,
) -> None:
    """Record a monthly check-in on the account's plan (with its progress then)."""
    with opened_workspace() as ws:
        value = service.record_checkin(ws, account, _day(on, "--on"), notes)
    out.print(f"check-in recorded: progress {value:.0f}%")


def register(app: typer.Typer) -> None:
    """Add ``plans`` to the root ``app``."""
    plans_app = typer.Typer(help="Joint success plans.", no_args_is_help=True)
    for name, command in (("create", create_command), ("show", show_command),
                          ("milestone", milestone_command), ("objective", objective_command),
                          ("checkin", checkin_command)):  # fmt: skip
        plans_app.command(name)(command)
    app.add_typer(plans_app, name="plans")
