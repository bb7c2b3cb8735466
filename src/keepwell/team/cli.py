"""CLI face of the team slice: ``keepwell team ...`` (teams, CSMs, assignments, books,
coverage, cost to serve, scorecard) and ``keepwell targets ...``; ``keepwell metrics
explain`` lives with the other ``metrics`` commands (revenue's CLI) and calls
``team.service.explain_metric``. Every command is one service call."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer

from keepwell.console import OutputFormat, data_day, note, out, print_json, print_rows, workspace
from keepwell.core.errors import InputError
from keepwell.team import service

FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table, csv or json.")]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="YYYY-MM-DD (default: the data's now).")
]
TeamOption = Annotated[str | None, typer.Option("--team", help="A team's book.")]
CsmOption = Annotated[str | None, typer.Option("--csm", help="A CSM's book (their email).")]


def register(app: typer.Typer) -> None:
    """Add ``team`` and ``targets`` to the root ``app``."""
    team = typer.Typer(
        help="Teams and books of business: coverage, capacity, cost to serve, scorecard.",
        no_args_is_help=True,
    )
    for name, command in (
        ("list", list_teams), ("add", add), ("csm", csm), ("assign", assign),
        ("books", books), ("coverage", coverage), ("costs", costs), ("cost-input", cost_input),
        ("scorecard", scorecard),
    ):  # fmt: skip
        team.command(name)(command)
    app.add_typer(team, name="team")
    targets = typer.Typer(help="Retention targets and attainment.", no_args_is_help=True)
    targets.command("set")(set_target)
    targets.command("list")(list_targets)
    targets.command("attainment")(attainment)
    app.add_typer(targets, name="targets")


def _decimal(value: str | None, option: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise InputError(f"{option} {value!r} is not a number") from None


def _scope(team: str | None, csm: str | None) -> tuple[str, str]:
    if team and csm:
        raise InputError("give --team or --csm, not both")
    return ("team", team) if team else ("csm", csm) if csm else ("company", "")


def list_teams(fmt: FormatOption = OutputFormat.TABLE) -> None:
    """Teams with their manager, segment, region and CSMs."""
    rows = service.list_teams(workspace())
    for row in rows:
        row["csms"] = ", ".join(row["csms"])
    print_rows(rows, fmt, title="Teams")


def add(
    team_id: Annotated[str, typer.Argument(help="The team's id.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    manager: Annotated[str | None, typer.Option(help="The manager's email.")] = None,
    segment: Annotated[str | None, typer.Option(help="Segment the team covers.")] = None,
    region: Annotated[str | None, typer.Option(help="Region (country) it covers.")] = None,
    pooled: Annotated[bool, typer.Option(help="It holds a pooled tech-touch book.")] = False,
    ratio: Annotated[int | None, typer.Option("--accounts-per-csm", help="Target ratio.")] = None,
) -> None:
    """Create or update a team."""
    row = service.add_team(workspace(), team_id, name, manager=manager, segment=segment,
                           region=region, pooled=pooled, accounts_per_csm=ratio)  # fmt: skip
    out.print(f"team {row['team_id']} saved")


def csm(
    email: Annotated[str, typer.Argument(help="The CSM's email (the accounts' owner).")],
    team: Annotated[str, typer.Option("--team", help="Their team.")],
    accounts: Annotated[int | None, typer.Option(help="Capacity in accounts.")] = None,
    arr: Annotated[str | None, typer.Option(help="Capacity in ARR (base currency).")] = None,
) -> None:
    """Add a CSM to a team (or move them) with a capacity."""
    service.add_csm(workspace(), email, team, capacity_accounts=accounts,
                    capacity_arr=_decimal(arr, "--arr"))  # fmt: skip
    out.print(f"{email} is in team {team}")


def assign(
    to: Annotated[str, typer.Argument(help="A CSM's email, or pool:TEAM.")],
    account: Annotated[list[str] | None, typer.Option("--account", help="An account id.")] = None,
    rule: Annotated[
        str | None, typer.Option(help="Accounts matching, e.g. \"segment = 'SMB' and arr < 5000\".")
    ] = None,
    as_of: AsOfOption = None,
) -> None:
    """Assign accounts (by id or by rule) to a CSM or a team's pooled book."""
    ws = workspace()
    if not account and rule is None:
        raise InputError("give --account or --rule")
    count = service.assign(ws, to, data_day(ws, as_of), accounts=account or [], rule=rule)
    out.print(f"{count} accounts assigned to {to}")


#: Columns of the ``team books`` table (every figure in csv and json).
BOOK_COLUMNS = ("book", "team", "accts", "arr", "red", "risk_arr", "renew_90d", "ctas", "overdue",
                "tasks", "late_tasks", "late_plans", "untouched", "over_cap")  # fmt: skip


def _book_line(row: dict[str, Any]) -> dict[str, Any]:
    whole = Decimal(1)
    return {
        "book": row["holder"].split("@")[0], "team": row["team"] or "-",
        "accts": row["accounts"], "arr": Decimal(row["arr"]).quantize(whole),
        "red": row["bands"]["red"], "risk_arr": Decimal(row["risk_arr"]).quantize(whole),
        "renew_90d": row["renewals_90"], "ctas": row["open_ctas"],
        "overdue": row["overdue_ctas"], "tasks": row["open_tasks"],
        "late_tasks": row["overdue_tasks"], "late_plans": row["plans_behind"],
        "untouched": row["untouched_30"],
        "over_cap": "yes" if row["over_capacity"] else "",
    }  # fmt: skip


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    return {**{k: v for k, v in row.items() if k != "bands"}, **row["bands"]}


def books(
    team: TeamOption = None, csm: CsmOption = None, as_of: AsOfOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:  # fmt: skip
    """Books of business: per CSM and team, accounts, ARR, health bands, churn-risk ARR,
    renewals in 90/180 days, open and overdue CTAs, accounts untouched for 30 days."""
    ws = workspace()
    kind, ident = _scope(team, csm)
    view = service.book_view(ws, data_day(ws, as_of), kind, ident)
    if fmt is OutputFormat.JSON:
        print_json(view)
        return
    books = view["teams"] + view["csms"]
    if fmt is OutputFormat.CSV:
        print_rows([_flat(r) for r in books], fmt)
        return
    title = f"Books of business ({kind}{' ' + ident if ident else ''}; 30 days untouched)"
    print_rows([_book_line(r) for r in books], fmt, title=title, columns=BOOK_COLUMNS)


def coverage(as_of: AsOfOption = None, fmt: FormatOption = OutputFormat.TABLE) -> None:
    """Coverage and capacity per segment, and which accounts to move to whom."""
    ws = workspace()
    report = service.coverage_report(ws, data_day(ws, as_of))
    if fmt is OutputFormat.JSON:
        print_json(report)
        return
    if fmt is OutputFormat.CSV:
        print_rows([{**r, "over_capacity": " ".join(r["over_capacity"])}
                    for r in report["segments"]], fmt)  # fmt: skip
        print_rows(report["moves"], fmt)
        return
    segments = [{
        "segment": r["segment"], "accts": r["accounts"], "arr": r["arr"].quantize(Decimal(1)),
        "csms": r["csms"], "per_csm": r["accounts_per_csm"],
        "target": r["target_accounts_per_csm"], "unassigned": r["unassigned"],
        "over_capacity": " ".join(e.split("@")[0] for e in r["over_capacity"]) or "-",
    } for r in report["segments"]]  # fmt: skip
    print_rows(segments, fmt, title="Coverage per segment (accounts per CSM against target)")
    if report["moves"]:
        moves = [{"account": m["name"], "arr": m["arr"].quantize(Decimal(1)),
                  "from": m["from"].split("@")[0], "to": m["to"].split("@")[0],
                  "why": "over capacity" if m["reason"] != "unassigned" else "unassigned"}
                 for m in report["moves"]]  # fmt: skip
        print_rows(moves, fmt, title="Rebalancing suggestion (same segment, within capacity)")
    else:
        note(fmt, "No move needed: every CSM is within capacity and every account has one.")


def costs(as_of: AsOfOption = None, fmt: FormatOption = OutputFormat.TABLE) -> None:
    """Cost to serve and renewal margin per segment and per tier (last 12 months)."""
    ws = workspace()
    report = service.cost_to_serve(ws, data_day(ws, as_of))
    if fmt is OutputFormat.JSON:
        print_json(report)
        return
    for key in ("segments", "tiers"):
        name = "segment" if key == "segments" else "tier"
        if fmt is OutputFormat.CSV:
            print_rows(report[key], fmt)
            continue
        whole = Decimal(1)
        rows = [{
            name: r[name], "accts": r["accounts"], "cost": r["cost_to_serve"].quantize(whole),
            "per_acct": r["cost_per_account"].quantize(whole),
            "renewal_rev": r["renewal_revenue"].quantize(whole),
            "margin": r["renewal_margin"].quantize(whole),
            "margin_%": None if r["renewal_margin_share"] is None
            else (r["renewal_margin_share"] * 100).quantize(Decimal("0.1")),
            "cac/arr": None if r["cac_ratio"] is None else r["cac_ratio"].quantize(Decimal("0.01")),
        } for r in report[key]]  # fmt: skip
        print_rows(rows, fmt, title=f"Cost to serve and renewal margin per {name} (12 months)")


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.quantize(Decimal("0.01")) if isinstance(v, Decimal) else v for k, v in row.items()}


def cost_input(
    key: Annotated[str | None, typer.Argument(help="An input (none: list them).")] = None,
    value: Annotated[str | None, typer.Argument(help="Its value.")] = None,
) -> None:
    """Show or set the cost inputs (CSM hour cost, hours per activity kind, ticket costs,
    tech-touch email cost, COGS share, CAC)."""
    ws = workspace()
    if key is not None:
        number = _decimal(value, key)
        if number is None:
            raise InputError(f"give a value for {key}")
        inputs = service.set_cost_input(ws, key, number)
    else:
        inputs = service.cost_inputs(ws)
    print_rows([{"input": k, "value": v} for k, v in inputs.items()], OutputFormat.TABLE)


def scorecard(
    period: Annotated[str, typer.Option(help="YYYY or YYYY-Qn.")],
    as_of: AsOfOption = None,
    fmt: FormatOption = OutputFormat.CSV,
) -> None:
    """The leader's scorecard per team and CSM for a period (CSV by default): renewals,
    expansion, references and NRR, the figures an incentive plan reads."""
    ws = workspace()
    rows = service.scorecard(ws, period, data_day(ws, as_of))
    print_rows(rows, fmt, title=f"Scorecard {period}", columns=service.SCORECARD_COLUMNS)


def set_target(
    period: Annotated[str, typer.Argument(help="YYYY or YYYY-Qn.")],
    metric: Annotated[
        str, typer.Argument(help="nrr, grr, logo_retention, renewal_rate, cmrr or referenceable.")
    ],
    value: Annotated[str, typer.Argument(help="Fraction (1.1 = 110 %), amount or count.")],
    team: TeamOption = None,
    csm: CsmOption = None,
) -> None:
    """Set a target for the company, a team or a CSM."""
    kind, ident = _scope(team, csm)
    number = _decimal(value, "VALUE")
    assert number is not None
    row = service.set_target(workspace(), period, metric, number, kind, ident)
    out.print(f"target {row['metric']} {row['value']} for {kind} {ident} in {row['period']}")


def list_targets(
    period: Annotated[str | None, typer.Option(help="Only this period.")] = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Targets set."""
    print_rows(service.list_targets(workspace(), period), fmt, title="Targets")


def attainment(
    period: Annotated[str, typer.Argument(help="YYYY or YYYY-Qn.")],
    team: TeamOption = None,
    csm: CsmOption = None,
    as_of: AsOfOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Attainment to date and forecast attainment at the period's end, per target."""
    ws = workspace()
    kind, ident = _scope(team, csm)
    result = service.attainment(ws, period, data_day(ws, as_of), kind, ident)
    if fmt is OutputFormat.JSON:
        print_json(result)
        return
    title = f"Attainment {result['period']} ({kind} {ident}, {result['accounts']} accounts)"
    print_rows([_rounded4(r) for r in result["rows"]], fmt, title=title)
    if not result["rows"]:
        note(fmt, f"No target set for {kind} {ident} in {result['period']}: keepwell targets set")


def _rounded4(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v.quantize(Decimal("0.0001")) if isinstance(v, Decimal) else v for k, v in row.items()
    }
