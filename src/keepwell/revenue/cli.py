"""CLI face of revenue analytics: ``keepwell metrics ...``, ``renewals``, ``retention
fit`` and ``simulate``. Every command is one service call; dates default to the data's
now here: today, or the data's last day when today is past it (faces may read the
clock, services never do)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

import typer

from keepwell.console import (
    OutputFormat,
    Tables,
    data_day,
    note,
    out,
    percent,
    print_json,
    print_rows,
    signed_percent,
    table_option,
    workspace,
)
from keepwell.core.errors import InputError
from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from keepwell.revenue import service
from keepwell.revenue.renewal_cohorts import RenewalPeriod
from keepwell.revenue.simulator import Renewal, Scenario

FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table, csv or json.")]
ByOption = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="Account attribute (industry, owner, tier, ...), health segment, band or stage "
        "(as of the day), or product.",
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Date (default: today, or the data's last day if earlier)."),
]


def parse_day(value: str | None, *, end_of_month: bool = False) -> date:
    """``YYYY-MM-DD``, or ``YYYY-MM`` (its first day, or last with ``end_of_month``)."""
    if value is None:
        return date.today()
    try:
        if len(value) == 7:
            first = datetime.strptime(value, "%Y-%m").date()
            return service.month_end(first.year * 12 + first.month - 1) if end_of_month else first
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"{value!r} is not a date", hint="use YYYY-MM or YYYY-MM-DD") from exc


def as_of_day(ws: Workspace, value: str | None) -> date:
    """``--as-of`` (``YYYY-MM-DD`` or ``YYYY-MM``), or the data's now; a day after the
    data and the clock is refused (see :func:`keepwell.console.data_day`)."""
    return data_day(ws, None if value is None else parse_day(value))


def register(app: typer.Typer) -> None:
    """Add the revenue commands to the root ``app``."""
    metrics = typer.Typer(help="Revenue and retention metrics.", no_args_is_help=True)
    metrics.command("mrr")(mrr)
    metrics.command("summary")(summary)
    metrics.command("cohorts")(cohorts)
    metrics.command("survival")(survival)
    metrics.command("explain")(explain)
    app.add_typer(metrics, name="metrics")
    retention = typer.Typer(help="Retention projection (sBG).", no_args_is_help=True)
    retention.command("fit")(retention_fit)
    app.add_typer(retention, name="retention")
    app.command("renewals")(renewals)
    app.command("simulate")(simulate)


def mrr(
    start: Annotated[str | None, typer.Option("--from", help="First month (YYYY-MM).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last month (YYYY-MM).")] = None,
    by: ByOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """MRR and its movements per month (month-end method: an account that starts and
    stops within one month never shows)."""
    ws = workspace()
    now = data_day(ws, None)
    last = parse_day(end, end_of_month=True) if end else now
    first = parse_day(start) if start else date(last.year - 1, last.month, 1)
    rows = service.mark_partial_months(service.mrr_movements(ws, first, last, by), now)
    if fmt is not OutputFormat.TABLE:
        print_rows(rows, fmt)
        return
    title = "MRR movements (base currency, whole units)"
    if any(r["partial"] for r in rows):
        title += f"\n* partial month: the data ends on {now.isoformat()}"
    lines = [_movement_line(r, by is not None, by == service.PRODUCT) for r in rows]
    print_rows(lines, fmt, title=title)


def _movement_line(row: dict[str, Any], grouped: bool, by_product: bool) -> dict[str, Any]:
    """One month of movements in 80 columns: whole units, the accounts at the end."""
    line: dict[str, Any] = {"group": row["group"]} if grouped else {}
    line["month"] = row["month"] + ("*" if row["partial"] else "")
    for key, label in MOVEMENT_LABELS.items():
        if key == "cross_sell" and not by_product:
            continue  # always 0 per account (a cross-sell is an expansion there)
        if key == "starting_mrr" and grouped:
            continue  # room for the group: the start is the previous month's end
        line[label] = Decimal(row[key]).quantize(Decimal(1))
    if not grouped:
        line["accts"] = row["ending_accounts"]
    return line


#: Columns of the ``metrics mrr`` table (all of them in csv and json).
MOVEMENT_LABELS = {
    "starting_mrr": "start",
    "new": "new",
    "cross_sell": "x-sell",
    "reactivation": "react",
    "expansion": "expand",
    "contraction": "contract",
    "churn": "churn",
    "ending_mrr": "end",
}


def summary(
    as_of: AsOfOption = None,
    cac: Annotated[float | None, typer.Option(help="Acquisition cost per new account.")] = None,
    gross_margin: Annotated[float, typer.Option(help="Gross margin, 0..1.")] = 1.0,
    horizon: Annotated[int, typer.Option(help="CMRR horizon in days.")] = 90,
    renewal_days: Annotated[int, typer.Option(help="Renewal period in days.")] = 365,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Portfolio summary as of a date: MRR, ARR, churn, NRR/GRR, LTV, CMRR, renewals."""
    ws = workspace()
    result = service.portfolio_summary(
        ws,
        as_of_day(ws, as_of),
        cac=None if cac is None else Decimal(str(cac)),
        gross_margin=gross_margin,
        horizon_days=horizon,
        renewal_days=renewal_days,
    ).as_dict()
    if fmt is OutputFormat.JSON:
        print_json(result)
    else:
        table = fmt is OutputFormat.TABLE  # rates as percentages, as on the pages
        rows = [
            {"figure": k, "value": percent(v) if table and is_rate(k) else v}
            for k, v in result.items()
        ]
        print_rows(rows, fmt, title="Summary")


def is_rate(figure: str) -> bool:
    """Whether a summary figure is a rate (a fraction shown as a percentage)."""
    return (
        figure.endswith("_rate")
        or figure.startswith(("nrr", "grr"))
        or figure == ("share_of_wallet")
    )


def cohorts(
    as_of: AsOfOption = None, by: ByOption = None, fmt: FormatOption = OutputFormat.CSV
) -> None:
    """Logo and revenue retention by cohort month x age."""
    ws = workspace()
    print_rows(service.cohort_retention(ws, as_of_day(ws, as_of), by), fmt, title="Cohorts")


def survival(
    as_of: AsOfOption = None, by: ByOption = None, fmt: FormatOption = OutputFormat.JSON
) -> None:
    """Kaplan–Meier survival (months from first MRR to churn) with 95 % log-log CIs."""
    ws = workspace()
    curves = service.survival_curves(ws, as_of_day(ws, as_of), by)
    rows = [{"group": g, **asdict(p)} for g, points in curves.items() for p in points]
    if fmt is OutputFormat.JSON:
        print_json({g: [asdict(p) for p in points] for g, points in curves.items()})
    else:
        print_rows(rows, fmt, title="Survival")


def renewals(
    within: Annotated[int, typer.Option(help="Days ahead.")] = 120,
    as_of: AsOfOption = None,
    past: Annotated[
        int | None, typer.Option(help="Instead: lines that ended in the last N days, with outcome.")
    ] = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Upcoming renewals (or past ones with their outcome)."""
    if within < 1 or (past is not None and past < 1):
        option = "--past" if past is not None and past < 1 else "--within"
        raise InputError(
            f"{option} {past if option == '--past' else within} must be a number of days >= 1",
            hint="--within 120 lists the next 120 days; --past 90 the last 90",
        )
    ws = workspace()
    day = as_of_day(ws, as_of)
    book = service.load_book(ws)
    if past is not None:
        rows = service.past_renewals(ws, day - timedelta(days=past), day, book=book)
        title = f"Renewals of the {past} days to {day.isoformat()}, with their outcome"
    else:
        rows = service.upcoming_renewals(ws, day, within, book=book)
        title = f"Renewals in the {within} days after {day.isoformat()}"
    if fmt is not OutputFormat.TABLE:
        print_rows(rows, fmt)
        return
    names = service.account_names(ws, book=book)
    health = health_service.latest_scores(ws, day)
    print_rows([_renewal_line(r, names, health) for r in rows], fmt, title=title)
    if past is None:
        _month_to_month_note(service.account_arr(ws, day, book=book))


def _month_to_month_note(arr: dict[str, dict[str, Any]]) -> None:
    """Customers without a renewal date are not in the list: say how many, and where to
    look instead."""
    monthly = [r["arr"] for r in arr.values() if r.get("next_renewal") is None and r["arr"] > 0]
    if monthly:
        total = Decimal(sum(monthly, Decimal(0))).quantize(Decimal(1))
        out.print(  # prose: wrapped at the terminal's width, unlike the tables
            f"{len(monthly)} customers (ARR {total:,}) are month to month: no renewal date, "
            "they renew every month until they cancel. Their risk: `keepwell risk predict` "
            "and `keepwell risk forecast`; lines that ended: `--past DAYS`.",
            soft_wrap=False,
        )


def _renewal_line(
    row: dict[str, Any], names: dict[str, str], health: dict[str, tuple[str, float | None]]
) -> dict[str, Any]:
    """A renewal in 80 columns: the account by name with its health, ARR in whole units."""
    band, score = health.get(row["account_id"], ("—", None))
    line: dict[str, Any] = {
        "account": names.get(row["account_id"], row["account_id"]),
        "health": band if score is None else f"{band} {score:.0f}",
        "product": row["product"],
        "ends": row["ends_on"],
    }
    if "arr" in row:
        line["ARR"] = Decimal(row["arr"]).quantize(Decimal(1))
        line["status"] = (
            "renewed" if row["has_successor"] else "auto-renew" if row["auto_renew"] else "open"
        )
    else:
        line["MRR before"] = Decimal(row["expiring_mrr"]).quantize(Decimal(1))
        line["after"] = Decimal(row["successor_mrr"]).quantize(Decimal(1))
        line["outcome"] = row["outcome"]
    return line


FIT_TABLES = ("fit", "projection")


def retention_fit(
    survivors: Annotated[
        str | None, typer.Option(help="Counts active per period, e.g. 1000,631,468")
    ] = None,
    from_workspace: Annotated[
        bool, typer.Option("--from-workspace", help="Count the workspace's cohorts instead.")
    ] = False,
    period: Annotated[
        RenewalPeriod, typer.Option(help="With --from-workspace: renewal period.")
    ] = RenewalPeriod.ANNUAL,
    cohort: Annotated[
        str | None, typer.Option(help="With --from-workspace: one cohort (YYYY-MM).")
    ] = None,
    by_cohort: Annotated[
        bool, typer.Option("--by-cohort", help="With --from-workspace: one fit per cohort.")
    ] = False,
    as_of: AsOfOption = None,
    project: Annotated[int | None, typer.Option(help="Periods to project.")] = None,
    discount_rate: Annotated[float, typer.Option(help="For DERL.")] = 0.1,
    fmt: FormatOption = OutputFormat.TABLE,
    table: Annotated[str | None, table_option(FIT_TABLES)] = None,
) -> None:
    """Fit the shifted-beta-geometric model to survivor counts (given, or counted per
    cohort of the workspace's accounts on annual or monthly renewals) and project them.
    Without --cohort or --by-cohort, the workspace's cohorts are fitted together."""
    tables = Tables(fmt, table, FIT_TABLES)
    if from_workspace == (survivors is not None):
        raise InputError("give either --survivors or --from-workspace")
    if survivors is not None:
        result = service.fit_retention(_counts(survivors), project, discount_rate)
    else:
        ws = workspace()
        result = service.fit_workspace_retention(
            ws,
            as_of_day(ws, as_of),
            period,
            cohort=cohort,
            by_cohort=by_cohort,
            project=project,
            discount_rate=discount_rate,
        )
    if fmt is OutputFormat.JSON:
        print_json(result)
        return
    fits = result.get("cohorts", [result])
    if fmt is OutputFormat.CSV:  # one table, a row per cohort (or per cohort and period)
        if tables.wanted("fit"):
            print_rows([{"cohort": f.get("cohort"), **_fit_head(f)} for f in fits], fmt)
        else:
            rows = [{"cohort": f.get("cohort"), **p} for f in fits for p in f["periods"]]
            print_rows(rows, fmt)
        return
    for fit in fits:
        _print_fit(fit, fmt)


def _counts(survivors: str) -> list[int]:
    try:
        return [int(v) for v in survivors.split(",")]
    except ValueError as exc:
        raise InputError(f"--survivors {survivors!r} must be integers separated by commas") from exc


def _fit_head(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k not in ("periods", "counts", "cohorts")}


def _print_fit(result: dict[str, Any], fmt: OutputFormat) -> None:
    head = _fit_head(result)
    print_rows([{"figure": k, "value": v} for k, v in head.items()], fmt, title="sBG fit")
    print_rows(result["periods"], fmt, title="Projection")


SIMULATE_TABLES = ("comparison", "sensitivity")


def simulate(
    new_per_month: Annotated[float, typer.Option(help="New customers a month.")] = 10,
    mrr: Annotated[float, typer.Option(help="MRR of a new customer.")] = 1000.0,
    cac: Annotated[float, typer.Option(help="Acquisition cost per customer.")] = 12000.0,
    retention: Annotated[float, typer.Option(help="Annual retention of A.")] = 0.95,
    vs_retention: Annotated[float, typer.Option(help="Annual retention of B.")] = 0.80,
    months: Annotated[int, typer.Option(help="Horizon in months.")] = 60,
    expansion: Annotated[float, typer.Option(help="Annual expansion of kept MRR.")] = 0.0,
    gross_margin: Annotated[float, typer.Option(help="Gross margin, 0..1.")] = 1.0,
    multiple: Annotated[float, typer.Option(help="Naive valuation = ARR x multiple.")] = 5.0,
    discount_rate: Annotated[
        float, typer.Option(help="Annual discount rate of the DCF valuation.")
    ] = 0.10,
    renewal: Annotated[Renewal, typer.Option(help="Churn monthly or at anniversaries.")] = (
        Renewal.MONTHLY
    ),
    fmt: FormatOption = OutputFormat.TABLE,
    table: Annotated[str | None, table_option(SIMULATE_TABLES)] = None,
) -> None:
    """Retention economics: company A against company B, same acquisition.

    Each is valued by the discounted cash flows of its customers and, naively, at ARR x
    multiple, also with retention 1 and 2 points higher."""
    a = Scenario(
        new_per_month,
        mrr,
        cac,
        retention,
        months,
        expansion,
        gross_margin,
        multiple,
        renewal,
        discount_rate,
    )
    tables = Tables(fmt, table, SIMULATE_TABLES)
    result = service.simulate_retention(a, Scenario(**{**asdict(a), "retention": vs_retention}))
    if fmt is OutputFormat.JSON:
        print_json(result)
        return
    rows: list[dict[str, Any]] = [
        {
            "figure": SIMULATION_LABELS.get(k, k),
            "a": v,
            "b": result["b"][k],
            "a - b": result["difference"][k],
        }
        for k, v in result["a"].items()
    ]
    tables.print("comparison", rows, title="Company A vs B after the horizon")
    sensitivity = [
        {
            "company": r["scenario"].upper(),
            "retention": percent(r["retention"]) if fmt is OutputFormat.TABLE else r["retention"],
            "DCF value": r["valuation_dcf"],
            "DCF Δ": signed_percent(r["dcf_change"])
            if fmt is OutputFormat.TABLE
            else r["dcf_change"],
            "ARR x multiple": r["valuation"],
            "multiple Δ": signed_percent(r["multiple_change"])
            if fmt is OutputFormat.TABLE
            else r["multiple_change"],
        }
        for r in result["sensitivity"]
    ]
    title = "Valuation if retention were 1 or 2 points higher"
    tables.print("sensitivity", sensitivity, title=title)


#: Row labels of ``simulate``'s table (keys of the JSON output stay the field names).
SIMULATION_LABELS = {
    "ltv": "LTV per customer",
    "ltv_to_cac": "LTV : CAC",
    "valuation": "value, ARR x multiple (naive)",
    "valuation_dcf": "value, DCF of customers",
    "cumulative_revenue": "cumulative revenue",
    "cumulative_acquisition_spend": "acquisition spend",
}


def explain(
    metric: Annotated[str, typer.Argument(help="nrr, grr, logo_churn, mrr or red_share.")],
    month: Annotated[str, typer.Option("--month", help="The month to explain (YYYY-MM).")],
    vs: Annotated[
        str | None, typer.Option("--vs", help="Compared with this month (default: the one before).")
    ] = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Why did it move: the change of METRIC split by segment, team, CSM, product, plan,
    industry and country into mix and rate effects (they add up exactly to the change),
    the accounts that moved it most, and a summary."""
    from keepwell.team import service as team_service  # the team slice: loaded on use

    ws = workspace()
    first = parse_day(month)
    before = None if vs is None else parse_day(vs)
    result = team_service.explain_metric(ws, metric.lower(), first, before)
    if fmt is OutputFormat.JSON:
        print_json(result)
        return
    rows = [{"dimension": name, **g} for name, groups in result["dimensions"].items()
            for g in groups]  # fmt: skip
    columns = ("dimension", "group", "mix", "rate", "total", "weight1", "rate0", "rate1")
    top = result["top_accounts"]
    unit = "base currency"
    if fmt is OutputFormat.TABLE and metric.lower() != "mrr":  # rates: percentage points
        unit = "percentage points; rates and weights in %"
        rows = [{k: v * 100 if isinstance(v, Decimal) else v for k, v in r.items()} for r in rows]
        top = [{**a, "change": a["change"] * 100} for a in top]
    title = f"{metric} {result['vs']} -> {result['month']} ({unit})"
    print_rows(rows, fmt, title=title, columns=columns)
    if fmt is OutputFormat.TABLE:
        print_rows(top, fmt, title="Accounts that moved it most")
    note(fmt, result["summary"])
