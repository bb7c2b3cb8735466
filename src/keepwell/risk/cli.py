"""CLI face of churn risk: ``keepwell risk train|evaluate|predict|forecast|card``,
``keepwell prospects score`` and ``keepwell icp``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import typer

from keepwell.console import (
    OutputFormat,
    Tables,
    data_day,
    note,
    opened_workspace,
    parse_day,
    percent,
    print_json,
    print_rows,
    table_option,
)
from keepwell.health import service as health_service
from keepwell.revenue import service as revenue_service
from keepwell.risk import service

AsOf = Annotated[str | None, typer.Option("--as-of", help="Day (YYYY-MM-DD); default today.")]
Format = Annotated[OutputFormat, typer.Option("--format")]
Version = Annotated[int | None, typer.Option("--version", help="Model version (default latest).")]
METRICS = ("rows", "positives", "base_rate", "roc_auc", "roc_auc_churn_only", "pr_auc", "brier")
METRICS_TAIL = ("ece", "top_decile_lift")


def train(
    as_of: AsOf = None,
    horizon: Annotated[int, typer.Option(help="Days after each snapshot to watch.")] = 180,
    calibration: Annotated[str, typer.Option(help="sigmoid or isotonic.")] = "sigmoid",
    first: Annotated[
        str | None, typer.Option("--from", help="First snapshot month (YYYY-MM).")
    ] = None,
    target: Annotated[
        str, typer.Option(help="churn-or-contraction (> 20%) or churn (logo churn only).")
    ] = "churn-or-contraction",
    fmt: Format = OutputFormat.TABLE,
) -> None:
    """Train the churn model on monthly snapshots up to --as-of and store it (versioned)."""
    with opened_workspace() as ws:
        start = parse_day(f"{first}-01") if first else None
        card = service.train_model(
            ws, data_day(ws, as_of), horizon, calibration=calibration, first=start, target=target
        )
    if fmt is OutputFormat.JSON:
        print_json(card)
        return
    window = card["data_window"]
    note(
        fmt,
        f"Churn model [bold]v{card['version']}[/bold]: {card['target']}; snapshots "
        f"{window['first_snapshot']} to {window['last_snapshot']}, {len(card['features'])} "
        "features",
    )
    if card["outcomes_known_until"] != card["trained_as_of"]:
        note(
            fmt,
            f"Outcomes known until {card['outcomes_known_until']}, the last day with data "
            f"(before --as-of {card['trained_as_of']}): later horizons are left unlabelled.",
        )
    if card["excluded_features"]:
        rows = [{"feature": k, "reason": v} for k, v in card["excluded_features"].items()]
        print_rows(rows, fmt, title="Excluded features (leakage guard)")
    _print_metrics(card["metrics"], fmt)


def _print_metrics(metrics: dict[str, Any], fmt: OutputFormat) -> None:
    rows = [
        {"metric": k, **{name: m.get(k) for name, m in metrics.items()}}
        for k in (*METRICS, *METRICS_TAIL)
    ]
    print_rows(rows, fmt, title="Held-out test (later period): model vs health score alone")


def evaluate(version: Version = None, fmt: Format = OutputFormat.TABLE) -> None:
    """Held-out metrics of the model and of the health score alone on the same rows."""
    with opened_workspace() as ws:
        result = service.evaluation(ws, version)
    if fmt is OutputFormat.JSON:
        print_json(result)
        return
    tests = result["test_snapshots"]
    note(fmt, f"Model v{result['version']}, test snapshots {tests[0]} to {tests[-1]}")
    _print_metrics(result["metrics"], fmt)
    for name, m in result["metrics"].items():
        print_rows(m["calibration"], fmt, title=f"Calibration ({name}, deciles)")


def card(version: Version = None) -> None:
    """The model card (JSON): data window, split, features, parameters, metrics."""
    with opened_workspace() as ws:
        print_json(service.model_card(ws, version))


def predict(
    as_of: AsOf = None,
    version: Version = None,
    top: Annotated[int, typer.Option(help="Rows shown (table).")] = 25,
    fmt: Format = OutputFormat.TABLE,
) -> None:
    """Churn probability per account with its drivers; stored with the health snapshot."""
    with opened_workspace() as ws:
        result = service.predict_risk(ws, data_day(ws, as_of), version=version)
    if fmt is OutputFormat.JSON:
        print_json(result)
        return
    note(
        fmt,
        f"As of {result['as_of']}: {result['accounts']} accounts, ARR {result['arr']:,.0f}, "
        f"ARR at risk {result['arr_at_risk']:,.0f} (model v{result['model_version']})",
    )
    rows = [
        {
            "account_id": r["account_id"],
            "churn_probability": r["churn_probability"],
            "arr": r["arr"],
            "arr_at_risk": r["arr_at_risk"],
            "drivers": "; ".join(d["text"] for d in r["risk_drivers"]),
        }
        for r in result["predictions"]
    ]
    if fmt is not OutputFormat.TABLE:
        print_rows(rows, fmt)
        return
    with opened_workspace() as ws:
        names = revenue_service.account_names(ws)
        health = health_service.latest_scores(ws, date.fromisoformat(str(result["as_of"])))
    lines = []
    for r in result["predictions"][:top]:
        band, score = health.get(r["account_id"], ("—", None))
        drivers = r["risk_drivers"]
        lines.append(
            {
                "account": names.get(r["account_id"], r["account_id"]),
                "health": band if score is None else f"{band} {score:.0f}",
                "churn": percent(r["churn_probability"], 0),
                "ARR": Decimal(str(r["arr"])).quantize(Decimal(1)),
                "at risk": Decimal(str(r["arr_at_risk"])).quantize(Decimal(1)),
                "main driver": drivers[0]["text"] if drivers else "",
            }
        )
    print_rows(lines, fmt, title=f"Riskiest {len(lines)} first (churn = probability)")


FORECAST_TABLES = ("upcoming", "month_to_month", "past")


def forecast(
    within: Annotated[int, typer.Option(help="Renewals in the next N days.")] = 120,
    as_of: AsOf = None,
    version: Version = None,
    fmt: Format = OutputFormat.TABLE,
    table: Annotated[str | None, table_option(FORECAST_TABLES)] = None,
) -> None:
    """Expected renewed ARR of upcoming renewals; past forecast vs what happened."""
    tables = Tables(fmt, table, FORECAST_TABLES)
    with opened_workspace() as ws:
        result = service.renewal_forecast(ws, data_day(ws, as_of), within, version=version)
    if fmt is OutputFormat.JSON:
        print_json(result)
        return
    t = result["thresholds"]
    note(
        fmt, f"Buckets: commit p < {t['commit_below']}, likely < {t['at_risk_from']}, at risk above"
    )
    tables.print(
        "upcoming", result["upcoming"]["buckets"], title=f"Renewals in the next {within} days"
    )
    monthly = result["month_to_month"]
    if tables.chosen == "month_to_month" or any(b["accounts"] for b in monthly["buckets"]):
        tables.print(
            "month_to_month",
            monthly["buckets"],
            title="Month to month (no renewal date): ARR expected to stay over the "
            f"model's {monthly['horizon_days']} days",
        )
    past = result["past"]
    tables.print(
        "past",
        past["buckets"],
        title=f"Forecast made {past['forecast_as_of']} vs what happened (actual = gross renewed)",
    )
    learned = past["model_learned_outcomes_until"]
    if past["out_of_sample"]:
        note(fmt, f"Out of sample: the model learned from outcomes up to {learned} only.")
    else:
        note(
            fmt,
            f"In sample: the model learned from outcomes up to {learned}, after the forecast "
            f"day. For an honest check, train with --as-of {past['forecast_as_of']} and pass "
            "that --version.",
        )


def prospects_score(
    as_of: AsOf = None,
    fmt: Format = OutputFormat.TABLE,
) -> None:
    """Fit score of every prospect, learned from which customers succeeded: renewed
    without contraction, or (month to month) still paying 12 months on."""
    with opened_workspace() as ws:
        result = service.score_prospects(ws, data_day(ws, as_of))
    if fmt is OutputFormat.JSON:
        print_json(result)
        return
    auc = result["cv_roc_auc"]
    by = result["labelled_by"]
    note(
        fmt,
        f"Learned from {result['customers']} customers ({result['success_rate']:.0%} "
        f"succeeded; {by['renewals']} by their renewals: renewed without contraction, "
        f"{by['retained']} month to month: still paying 12 months on) on "
        f"{', '.join(result['attributes'])}; cross-validated ROC AUC "
        + ("n/a" if auc is None else f"{auc:.2f}"),
    )
    rows = [
        {
            "account_id": r["account_id"],
            "name": r["name"],
            "fit_score": r["fit_score"],
            "why": "; ".join(e["text"] for e in r["explanation"]),
        }
        for r in result["prospects"]
    ]
    print_rows(rows, fmt, title="Prospects, best fit first")


def icp(as_of: AsOf = None, fmt: Format = OutputFormat.TABLE) -> None:
    """Ideal customer profile: NRR, GRR and logo churn per industry, size, country and
    custom attribute, with 95% intervals; small groups flagged."""
    with opened_workspace() as ws:
        result = service.ideal_customer_profile(ws, data_day(ws, as_of))
    if fmt is OutputFormat.JSON:
        print_json(result)
        return
    note(
        fmt,
        f"{result['accounts']} accounts with MRR in {result['from_month']}, followed to "
        f"{result['to_month']}; groups under {result['small_group_below']} accounts are "
        "flagged small (wide intervals)",
    )
    rows = [
        {
            "dimension": g["dimension"],
            "group": g["group"],
            "accounts": g["accounts"],
            "NRR [95% CI]": _interval(g, "nrr"),
            "GRR [95% CI]": _interval(g, "grr"),
            "logo churn [95% CI]": _interval(g, "logo_churn"),
            "small": "small" if g["small"] else "",
        }
        for g in result["groups"]
    ]
    print_rows(rows, fmt, title="Ideal customer profile (best NRR first per dimension)")


def _interval(row: dict[str, Any], key: str) -> str:
    if row[key] is None:
        return "n/a"
    return f"{row[key]:.0%} [{row[key + '_low']:.0%}, {row[key + '_high']:.0%}]"


def register(app: typer.Typer) -> None:
    """Add ``risk``, ``prospects`` and ``icp`` to the root ``app``."""
    risk_app = typer.Typer(help="Churn risk: model, predictions, forecast.", no_args_is_help=True)
    for command in (train, evaluate, predict, forecast, card):
        risk_app.command(command.__name__)(command)
    app.add_typer(risk_app, name="risk")
    prospects_app = typer.Typer(help="Prospects: fit with the customers who succeed.")
    prospects_app.command("score")(prospects_score)
    app.add_typer(prospects_app, name="prospects")
    app.command("icp")(icp)
