"""CLI face of the customer's voice: ``keepwell surveys define|run|list|sends`` and
``keepwell measures add|reading|list|push`` (sharing plans: ``keepwell plans share``)."""

from __future__ import annotations

from typing import Annotated

import typer

from keepwell.console import OutputFormat, opened_workspace, out, print_rows
from keepwell.console import parse_day as _day
from keepwell.core.settings import Settings
from keepwell.voice import service

Format = Annotated[OutputFormat, typer.Option("--format")]
Account = Annotated[str, typer.Argument(help="Account id.")]
AsOf = Annotated[str | None, typer.Option("--as-of", help="Day (YYYY-MM-DD, default today).")]


def define_command(
    name: Annotated[str, typer.Argument(help="Campaign name.")],
    question: Annotated[str, typer.Option("--question", help="What the email asks.")],
    kind: Annotated[service.SurveyKind, typer.Option("--kind")] = service.SurveyKind.NPS,
    role: Annotated[str | None, typer.Option("--role", help="Contacts of this role.")] = None,
    segment: Annotated[str | None, typer.Option("--segment", help="Accounts of it.")] = None,
    every: Annotated[int | None, typer.Option("--every", help="Ask again every N days.")] = None,
    throttle: Annotated[
        int, typer.Option("--throttle", help="Never ask a contact twice in N days.")
    ] = 90,
    starts: Annotated[str | None, typer.Option("--starts", help="First day.")] = None,
) -> None:
    """Create or replace a survey campaign."""
    campaign = service.Campaign(name, kind.value, question, role, segment, every, throttle,
                                _day(starts, "--starts"))  # fmt: skip
    with opened_workspace() as ws:
        service.define_campaign(ws, campaign)
    out.print(f"campaign {name} saved")


def run_command(as_of: AsOf = None) -> None:
    """Queue the survey emails due on the day (sent by `keepwell notifications send`
    or the server's cycle)."""
    with opened_workspace() as ws:
        counts = service.run_campaigns(ws, _day(as_of), Settings())
    out.print(", ".join(f"{k} {v}" for k, v in counts.items()))


def list_command(fmt: Format = OutputFormat.TABLE) -> None:
    """Campaigns with their sends, answers and response rate."""
    with opened_workspace() as ws:
        print_rows(service.list_campaigns(ws), fmt)


def summary_command(as_of: AsOf = None, fmt: Format = OutputFormat.TABLE) -> None:
    """Response rate and NPS by segment, with the trend over the last four quarters."""
    with opened_workspace() as ws:
        summary = service.survey_summary(ws, _day(as_of))
    rows = [{k: v for k, v in r.items() if k != "trend"} | r["trend"] for r in summary["segments"]]
    print_rows(rows, fmt, title=f"Surveys as of {summary['as_of']}")


def sends_command(
    campaign: Annotated[str | None, typer.Argument(help="Campaign (default: all).")] = None,
    fmt: Format = OutputFormat.TABLE,
) -> None:
    """Survey emails sent and their answers."""
    with opened_workspace() as ws:
        print_rows(service.list_sends(ws, campaign), fmt)


def add_command(
    account: Account,
    name: Annotated[str, typer.Option("--name", help="What the customer measures.")],
    unit: Annotated[str, typer.Option("--unit")],
    baseline: Annotated[float, typer.Option("--baseline")],
    target: Annotated[float, typer.Option("--target")],
    by: Annotated[str, typer.Option("--by", help="Target day (YYYY-MM-DD).")],
    starts: Annotated[str | None, typer.Option("--starts", help="Baseline day.")] = None,
) -> None:
    """Record what the customer measures success in."""
    with opened_workspace() as ws:
        measure = service.add_measure(ws, account, name=name, unit=unit, baseline=baseline,
                                      target=target, started_on=_day(starts, "--starts"),
                                      target_on=_day(by, "--by"))  # fmt: skip
    out.print(f"measure {measure} for {account}")


def reading_command(
    measure_id: Annotated[int, typer.Argument(help="Measure id (see `measures list`).")],
    value: Annotated[float, typer.Argument(help="The value in the measure's unit.")],
    on: Annotated[str | None, typer.Option("--on", help="Day of the reading.")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who read it.")] = None,
) -> None:
    """Record a reading of a success measure (replacing that day's)."""
    with opened_workspace() as ws:
        service.record_reading(ws, measure_id, _day(on, "--on"), value, by)
    out.print(f"measure {measure_id}: {value:g}")


def measures_list_command(
    account: Account, as_of: AsOf = None, fmt: Format = OutputFormat.TABLE
) -> None:
    """The account's success measures, latest reading and progress."""
    with opened_workspace() as ws:
        rows = service.account_measures(ws, account, _day(as_of))
    print_rows([{k: v for k, v in m.items() if k != "readings"} for m in rows], fmt)


def push_command(as_of: AsOf = None) -> None:
    """Store the health measures measure_progress (progress toward the customer's
    measures), plan_overdue_ours and plan_overdue_customer (overdue milestones) and
    references_stopped (a referencing customer stopped giving references); declare
    them under `measures: external:` in health.yaml to score them."""
    with opened_workspace() as ws:
        written = service.push_health_measures(ws, _day(as_of))
    for name, count in written.items():
        out.print(f"{name}: {count} account(s)")


def register(app: typer.Typer) -> None:
    """Add ``surveys`` and ``measures`` to the root ``app``."""
    surveys = typer.Typer(help="Surveys sent and answered.", no_args_is_help=True)
    for name, command in (("define", define_command), ("run", run_command),
                          ("list", list_command), ("sends", sends_command),
                          ("summary", summary_command)):  # fmt: skip
        surveys.command(name)(command)
    app.add_typer(surveys, name="surveys")
    measures = typer.Typer(help="The customer's own success measures.", no_args_is_help=True)
    measures.command("add")(add_command)
    measures.command("reading")(reading_command)
    measures.command("list")(measures_list_command)
    measures.command("push")(push_command)
    app.add_typer(measures, name="measures")
