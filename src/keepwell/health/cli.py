"""CLI face of customer health: ``keepwell score``, ``keepwell health show``,
``keepwell health measures``, ``keepwell health stages`` and ``keepwell health backtest``."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

import typer

from keepwell.console import (
    OutputFormat,
    Tables,
    data_day,
    note,
    opened_workspace,
    print_json,
    print_rows,
    table_option,
)
from keepwell.core.errors import InputError
from keepwell.health import service

AsOf = Annotated[str | None, typer.Option("--as-of", help="Day to score as of (YYYY-MM-DD).")]
Format = Annotated[OutputFormat, typer.Option("--format")]


SCORE_TABLES = ("bands", "movers")
EXPLAIN_TABLES = ("measures", "risk", "change")
BACKTEST_TABLES = ("compared", "bands", "measures", "weights", "holdout")


def score_command(
    as_of: AsOf = None,
    fmt: Format = OutputFormat.TABLE,
    table: Annotated[str | None, table_option(SCORE_TABLES)] = None,
) -> None:
    """Score every customer as of a day and store the snapshot."""
    tables = Tables(fmt, table, SCORE_TABLES)
    with opened_workspace() as ws:
        run = service.compute_scores(ws, data_day(ws, as_of))
    if fmt is OutputFormat.JSON:
        print_json(
            {
                "as_of": run.as_of,
                "accounts": run.accounts,
                "bands": run.bands,
                "previous_as_of": run.previous_as_of,
                "movers": run.movers,
            }
        )
        return
    rows = [{"band": b, "accounts": n} for b, n in run.bands.items()]
    title = f"Health as of {run.as_of.isoformat()}: {run.accounts} accounts"
    tables.print("bands", rows, title=title)
    if run.movers or (fmt is OutputFormat.CSV and tables.wanted("movers")):
        since = run.previous_as_of.isoformat() if run.previous_as_of else ""
        columns = ["account_id", "score_before", "score", "change", "band_before", "band"]
        tables.print("movers", run.movers, title=f"Biggest movers since {since}", columns=columns)


def show_command(
    account: Annotated[str, typer.Argument(help="Account id.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Latest snapshot on or before this day.")
    ] = None,
    fmt: Format = OutputFormat.TABLE,
    table: Annotated[str | None, table_option(EXPLAIN_TABLES)] = None,
) -> None:
    """Explain one account's health: every measure, what was missing, what changed."""
    tables = Tables(fmt, table, EXPLAIN_TABLES)
    with opened_workspace() as ws:
        day = data_day(ws, as_of) if as_of else None
        explanation = service.explain_account(ws, account, day)
    if fmt is OutputFormat.JSON:
        print_json(explanation)
        return
    _print_explanation(explanation, fmt, tables)


def _print_explanation(e: dict[str, Any], fmt: OutputFormat, tables: Tables) -> None:
    score = "n/a" if e["score"] is None else f"{e['score']:.1f}"
    note(
        fmt,
        f"[bold]{e['account_id']}[/bold] as of {e['as_of']}: score {score} ({e['band']}), "
        f"segment {e['segment']}, stage {e['stage']}"
        + (" [red](overdue)[/red]" if e["stage_overdue"] else ""),
    )
    columns = ["group", "measure", "value", "points", "weight", "contribution"]
    tables.print("measures", e["measures"], columns=columns, title="Measures")
    if e["missing"]:
        note(fmt, "No data (weights renormalized over the rest): " + ", ".join(e["missing"]))
    risk = e.get("risk")
    if risk:
        at_risk = "n/a" if risk["arr_at_risk"] is None else f"{risk['arr_at_risk']:,.0f}"
        note(fmt, f"Churn probability {risk['churn_probability']:.0%}, ARR at risk {at_risk}")
        tables.print("risk", risk["drivers"], title="Why (model drivers)")
    previous = e["previous"]
    if previous:
        change = "n/a" if previous["change"] is None else f"{previous['change']:+.1f}"
        note(fmt, f"Change since {previous['as_of']}: {change} (was {previous['band']})")
        tables.print("change", previous["drivers"][:5], title="Drivers of the change")


def measures_command(fmt: Format = OutputFormat.TABLE) -> None:
    """Every measure this workspace can compute, in a scorecard or not, with its definition."""
    with opened_workspace() as ws:
        entries = service.list_measures(ws)
    rows = [
        {
            "measure": e.name,
            "source": e.source,
            "category": e.category,
            "definition": e.definition,
            "weighted_in": ", ".join(e.weighted_in) if e.weighted_in else "not scored",
        }
        for e in entries
    ]
    print_rows(rows, fmt, title="Health measures (usable in health.yaml segments and rules.yaml)")


def stages_command(
    as_of: AsOf = None,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild",
            help="First rebuild the stage history from the past month ends (a new "
            "workspace whose snapshots do not go back).",
        ),
    ] = False,
    months: Annotated[int, typer.Option(help="Month ends replayed by --rebuild.")] = 24,
    fmt: Format = OutputFormat.TABLE,
) -> None:
    """Journey stages: accounts, days in the stage (since they entered it), share on
    track, process KPIs (medians) and outcome KPI, and how long finished stays took."""
    with opened_workspace() as ws:
        day = data_day(ws, as_of)
        written = service.rebuild_stage_history(ws, day, months) if rebuild else None
        rows = service.stage_report(ws, day)
    if fmt is OutputFormat.JSON:
        print_json(rows)
        return
    if written is not None:
        note(fmt, f"Stage history rebuilt from {months} month ends: {written} entries")
    shown = [
        {
            "stage": r["stage"],
            "accounts": r["accounts"],
            "days": r["median_days_in_stage"],
            "expected": r["expected_days"],
            "on_track": _percent(r["on_track_share"]),
            "outcome": _percent(r["outcome_met_share"]),
            "left": r["finished"],
            "days_to_leave": r["median_days_to_finish"],
            "kpis": _kpis(r["kpis"]),
        }
        for r in rows
    ]
    title = f"Journey stages as of {day.isoformat()} (days: median in the stage)"
    if fmt is OutputFormat.CSV:
        print_rows(shown, fmt, title=title)
        return
    print_rows(
        shown, fmt, title=title, columns=[c for c in shown[0] if c != "kpis"] if shown else None
    )
    for row in shown:
        if row["kpis"]:
            note(fmt, f"{row['stage']}: {row['kpis']}")


def _kpis(kpis: dict[str, float | None]) -> str:
    return "; ".join(f"{k} {'n/a' if v is None else f'{v:,.2f}'}" for k, v in kpis.items())


def _percent(share: float | None) -> str:
    return "n/a" if share is None else f"{share:.0%}"


def parse_month(value: str, option: str) -> date:
    """``YYYY-MM`` as the first day of that month."""
    try:
        return date.fromisoformat(f"{value}-01")
    except ValueError as exc:
        raise InputError(f"{option} {value!r} is not a month", hint="use YYYY-MM") from exc


def backtest_command(
    first: Annotated[str, typer.Option("--from", help="First month scored (YYYY-MM).")],
    last: Annotated[str, typer.Option("--to", help="Last month scored (YYYY-MM).")],
    horizon: Annotated[int, typer.Option(help="Days after each month end to watch.")] = 180,
    fmt: Format = OutputFormat.TABLE,
    table: Annotated[str | None, table_option(BACKTEST_TABLES)] = None,
) -> None:
    """Back-test the health score: does it predict churn in the following days?"""
    tables = Tables(fmt, table, BACKTEST_TABLES)
    with opened_workspace() as ws:
        report = service.backtest_scores(
            ws, parse_month(first, "--from"), parse_month(last, "--to"), horizon
        )
    payload = asdict(report)
    if fmt is OutputFormat.JSON:
        print_json(payload)
        return
    _print_backtest(payload, fmt, tables)


def _number(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _print_backtest(r: dict[str, Any], fmt: OutputFormat, tables: Tables) -> None:
    months = r["months"]
    span = f"{months[0]:%Y-%m} to {months[-1]:%Y-%m}" if months else "no month"
    note(
        fmt,
        f"Back-test {span}, horizon {r['horizon_days']} days: {r['observations']} "
        f"account-months, churn rate {_number(r['churn_rate'])}",
    )
    if r["skipped_months"]:
        note(fmt, f"Skipped (outcome not known yet): {len(r['skipped_months'])} months")
    note(
        fmt,
        f"ROC AUC of the score for churn: {_number(r['auc_churn'])} "
        f"(usage only: {_number(r['usage_only_auc_churn'])}; churn or contraction: "
        f"{_number(r['auc_churn_or_contraction'])}); lift of the red band: "
        f"{_number(r['red_lift'])}",
    )
    compared = [
        {
            "score": name,
            "auc_churn": r[f"{prefix}auc_churn"],
            "auc_churn_or_contraction": r[f"{prefix}auc_churn_or_contraction"],
            "red_lift": r[f"{prefix}red_lift"],
        }
        for name, prefix in (("full scorecard", ""), ("usage measures only", "usage_only_"))
    ]
    tables.print("compared", compared, title="Full score vs usage only (same account-months)")
    tables.print("bands", r["bands"], title="Churn per band")
    tables.print("measures", r["measures"], title="Per-measure AUC for churn")
    tables.print("weights", r["suggested_weights"], title="Suggested weights (logistic, L2)")
    if r["holdout"]:
        tables.print("holdout", [r["holdout"]], title="Out-of-time check of the suggested weights")


def register(app: typer.Typer) -> None:
    """Add ``score`` and ``health show|measures|backtest`` to the root ``app``."""
    app.command("score")(score_command)
    health_app = typer.Typer(help="Customer health: scores and explanations.", no_args_is_help=True)
    health_app.command("show")(show_command)
    health_app.command("measures")(measures_command)
    health_app.command("stages")(stages_command)
    health_app.command("backtest")(backtest_command)
    app.add_typer(health_app, name="health")
