"""CLI face of customer-success operations: ``keepwell run``, ``keepwell worker``,
``keepwell rules check``, ``keepwell ctas ...`` and ``keepwell tasks complete``."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from keepwell.console import (
    OutputFormat,
    Tables,
    data_day,
    err,
    opened_workspace,
    out,
    parse_day,
    print_json,
    print_rows,
    table_option,
    workspace,
)
from keepwell.health import service as health_service
from keepwell.revenue import service as revenue_service
from keepwell.success import plans_cli, references_cli, service
from keepwell.success.service import CycleReport

Format = Annotated[OutputFormat, typer.Option("--format")]
AsOf = Annotated[
    str | None, typer.Option("--as-of", help="Day the cycle runs as of (default: today, UTC).")
]
CtaId = Annotated[int, typer.Argument(help="CTA id (see `keepwell ctas list`).")]
OUTCOME_HELP = (
    "One of the CTA type's: renewal: renewed, renewed_contraction, churned, not_needed; "
    "risk: saved, churned, not_a_risk; opportunity: won, lost, not_needed; "
    "lifecycle: done, not_needed."
)
LIST_COLUMNS = ("cta_id", "account_id", "type", "priority", "title", "owner", "status",
                "due_on", "overdue", "reason")  # fmt: skip


def now() -> datetime:
    """The wall clock, read here at the face only."""
    return datetime.now(UTC)


def _report(report: CycleReport, fmt: OutputFormat) -> None:
    for problem in report.problems:
        err.print(f"[yellow]warning:[/yellow] {problem}", highlight=False)
    if fmt is OutputFormat.JSON:
        print_json(asdict(report))
        return
    rows = [{"step": k, "value": v} for k, v in asdict(report).items()
            if k not in ("problems", "opened_ids")]  # fmt: skip
    print_rows(rows, fmt, title=f"Cycle as of {report.as_of.isoformat()}")


def run_command(as_of: AsOf = None, fmt: Format = OutputFormat.TABLE) -> None:
    """Run one cycle: score → rules → CTAs and tech-touch → notifications."""
    with opened_workspace() as ws:
        report = service.run_cycle(ws, data_day(ws, as_of), clock=now)
    _report(report, fmt)


def worker_command(
    interval: Annotated[
        float, typer.Option("--interval", help="Seconds between cycles (any worker's).")
    ] = 3600.0,
    once: Annotated[bool, typer.Option("--once", help="Wake up once, then exit.")] = False,
    as_of: AsOf = None,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between wake-ups.")] = 30.0,
) -> None:
    """Run cycles on a schedule; several workers may share one database."""
    ws = workspace()
    holder = service.new_holder()
    try:
        while True:
            report = service.worker_tick(
                ws, as_of=parse_day(as_of), clock=now, interval_seconds=interval, holder=holder
            )
            if report is not None:
                _report(report, OutputFormat.TABLE)
            elif once:
                out.print("no cycle due (or another worker is running one)")
            if once:
                return
            time.sleep(min(poll, interval))
    finally:
        ws.close()


def rules_check_command(fmt: Format = OutputFormat.TABLE) -> None:
    """Validate rules.yaml and playbooks.yaml; exit code 2 if anything is left out."""
    with opened_workspace() as ws:
        result = service.check_rules(ws)
    if fmt is OutputFormat.JSON:
        print_json(result)
    else:
        out.print(f"{len(result['rules'])} rules, {len(result['playbooks'])} playbooks usable")
        for problem in result["problems"]:
            err.print(f"[red]error:[/red] {problem}", highlight=False)
    if result["problems"]:
        raise typer.Exit(2)


def ctas_list_command(
    owner: Annotated[str | None, typer.Option("--owner", help="Owner's email.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue CTAs.")] = False,
    status: Annotated[
        str | None, typer.Option("--status", help="open, in_progress, snoozed, closed, all.")
    ] = None,
    account: Annotated[str | None, typer.Option("--account", help="Account id.")] = None,
    as_of: AsOf = None,
    fmt: Format = OutputFormat.TABLE,
) -> None:
    """List CTAs (live ones by default), most urgent first."""
    with opened_workspace() as ws:
        rows = service.list_ctas(ws, as_of=parse_day(as_of), owner=owner, overdue=overdue,
                                 status=status, account_id=account)  # fmt: skip
        if fmt is OutputFormat.TABLE:
            names = revenue_service.account_names(ws)
            health = health_service.latest_scores(ws, parse_day(as_of))
    if fmt is not OutputFormat.TABLE:
        columns = None if fmt is OutputFormat.JSON else LIST_COLUMNS  # JSON: every field
        print_rows(rows, fmt, columns=columns)
        return
    lines = [_cta_line(r, names, health) for r in rows]
    title = f"{len(rows)} CTAs, most urgent first; ! = overdue; ctas show ID gives the reason"
    print_rows(lines, fmt, title=title)


def _cta_line(
    row: dict[str, Any], names: dict[str, str], health: dict[str, tuple[str, float | None]]
) -> dict[str, Any]:
    """A CTA on one or two lines of 80 columns: the account by name with its health;
    the owner by the first part of their email; the reason is left to ``ctas show``."""
    band, score = health.get(row["account_id"], ("—", None))
    owner = str(row["owner"] or "").split("@")[0].split(".")[0]  # csv/json: the full email
    due = row["due_on"].isoformat() if row["due_on"] else ""
    return {
        "id": row["cta_id"],
        "account": names.get(row["account_id"], row["account_id"]),
        "health": band if score is None else f"{band} {score:.0f}",
        "prio": row["priority"],
        "title": row["title"],
        "due": due + ("!" if row["overdue"] else ""),
        "owner": owner,
    }


CTA_TABLES = ("cta", "trigger", "tasks")


def ctas_show_command(
    cta_id: CtaId,
    as_of: AsOf = None,
    fmt: Format = OutputFormat.TABLE,
    table: Annotated[str | None, table_option(CTA_TABLES)] = None,
) -> None:
    """One CTA with its triggering values and tasks."""
    tables = Tables(fmt, table, CTA_TABLES)
    with opened_workspace() as ws:
        detail = service.cta_detail(ws, cta_id, as_of=parse_day(as_of))
    if fmt is OutputFormat.JSON:
        print_json(detail)
        return
    facts = {k: v for k, v in detail.items() if k not in ("tasks", "trigger_values")}
    tables.print("cta", [{"field": k, "value": v} for k, v in facts.items()], title=f"CTA {cta_id}")
    values = [{"column": k, "value": v} for k, v in detail["trigger_values"].items()]
    tables.print("trigger", values, title="Triggered by")
    tables.print("tasks", detail["tasks"], title="Tasks")


def ctas_start_command(cta_id: CtaId) -> None:
    """Mark a CTA in progress."""
    with opened_workspace() as ws:
        service.start_cta(ws, cta_id, now())
    out.print(f"CTA {cta_id} in progress")


def ctas_close_command(
    cta_id: CtaId,
    outcome: Annotated[
        str,
        typer.Option(
            "--outcome",
            help=OUTCOME_HELP,
        ),
    ],
    reason: Annotated[str | None, typer.Option("--reason", help="Why, in a sentence.")] = None,
) -> None:
    """Close a CTA with its outcome and reason."""
    with opened_workspace() as ws:
        service.close_cta(ws, cta_id, outcome=outcome, reason=reason, now=now())
    out.print(f"CTA {cta_id} closed ({outcome})")


def ctas_snooze_command(
    cta_id: CtaId,
    until: Annotated[str, typer.Option("--until", help="Day it comes back (YYYY-MM-DD).")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why, in a sentence.")] = None,
) -> None:
    """Put a CTA aside until a day."""
    day = parse_day(until, "--until")
    with opened_workspace() as ws:
        service.snooze_cta(ws, cta_id, day, now(), reason=reason)
    out.print(f"CTA {cta_id} snoozed until {day.isoformat()}")


def ctas_reassign_command(
    cta_id: CtaId,
    owner: Annotated[str, typer.Option("--owner", help="Email of the new owner.")],
) -> None:
    """Give a CTA (and its open tasks the previous owner held) to another owner."""
    with opened_workspace() as ws:
        service.reassign_cta(ws, [cta_id], owner, now())
    out.print(f"CTA {cta_id} now owned by {owner}")


def _interval(value: Any) -> str:
    return "—" if value is None else f"{value[0]:+.0%} to {value[1]:+.0%}"


def rules_effectiveness_command(as_of: AsOf = None, fmt: Format = OutputFormat.TABLE) -> None:
    """Per playbook: CTAs closed by outcome, and churn of the accounts that got it
    against comparable accounts that did not, with 95% intervals."""
    with opened_workspace() as ws:
        result = service.playbook_effectiveness(ws, data_day(ws, as_of))
    if fmt is OutputFormat.JSON:
        print_json(result)
        return
    rows = [{
        "playbook": e["playbook"], "ctas": e["openings"],
        "outcomes": ", ".join(f"{k} {v}" for k, v in e["outcomes"].items()) or "none closed",
        "matched": e["matched"],
        "churn": "—" if e["treated_churn"] is None else f"{e['treated_churn']:.0%}",
        "comparable": "—" if e["comparable_churn"] is None else f"{e['comparable_churn']:.0%}",
        "difference": "—" if e["difference"] is None else f"{e['difference']:+.0%}",
        "95% interval": _interval(e["difference_interval"]), "verdict": e["verdict"],
    } for e in result["playbooks"]]  # fmt: skip
    title = (f"Playbook effectiveness as of {result['as_of']} ({result['closed']} CTAs "
             f"closed; churn within {result['horizon_days']} days)")  # fmt: skip
    print_rows(rows, fmt, title=title)


def tasks_complete_command(
    task_id: Annotated[int, typer.Argument(help="Task id (see `keepwell ctas show ID`).")],
) -> None:
    """Mark a playbook task done."""
    with opened_workspace() as ws:
        result = service.complete_task(ws, task_id, now())
    out.print(f"task {task_id} done; CTA {result['cta_id']} has {result['open_tasks']} open tasks")


def register(app: typer.Typer) -> None:
    """Add ``run``, ``worker``, ``rules``, ``ctas``, ``tasks``, ``plans`` and ``references``."""
    app.command("run")(run_command)
    app.command("worker")(worker_command)
    rules_app = typer.Typer(help="Success rules and playbooks.", no_args_is_help=True)
    rules_app.command("check")(rules_check_command)
    rules_app.command("effectiveness")(rules_effectiveness_command)
    app.add_typer(rules_app, name="rules")
    ctas_app = typer.Typer(help="Calls to action: list, show, start, snooze, close.",
                           no_args_is_help=True)  # fmt: skip
    for name, command in (("list", ctas_list_command), ("show", ctas_show_command),
                          ("start", ctas_start_command), ("close", ctas_close_command),
                          ("snooze", ctas_snooze_command),
                          ("reassign", ctas_reassign_command)):  # fmt: skip
        ctas_app.command(name)(command)
    app.add_typer(ctas_app, name="ctas")
    tasks_app = typer.Typer(help="Playbook tasks of CTAs.", no_args_is_help=True)
    tasks_app.command("complete")(tasks_complete_command)
    app.add_typer(tasks_app, name="tasks")
    plans_cli.register(app)
    references_cli.register(app)
