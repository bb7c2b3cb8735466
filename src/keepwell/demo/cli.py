"""``keepwell demo``: a whole demo company in one command; ``keepwell demo generate``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from keepwell.console import OutputFormat, err, out, print_rows
from keepwell.core.periods import previous_month
from keepwell.core.settings import get_settings
from keepwell.core.workspace import init_workspace
from keepwell.demo.catalog import Billing
from keepwell.demo.pipeline import DemoRun, run_demo
from keepwell.demo.service import generate_demo

demo_app = typer.Typer(
    help="The demo company: `keepwell demo` sets up and shows everything.",
    invoke_without_command=True,
)


def _parse_month(value: str | None) -> date:
    if value is None:
        return previous_month(date.today())
    try:
        return date.fromisoformat(f"{value}-01")
    except ValueError:
        raise typer.BadParameter(f"expected a month like 2026-10, got {value!r}") from None


Accounts = Annotated[int, typer.Option(min=1, help="Number of accounts (customers and prospects).")]
Months = Annotated[int, typer.Option(min=1, max=120, help="Months of history.")]
Seed = Annotated[int, typer.Option(help="Random seed: same seed, same bytes.")]
End = Annotated[
    str | None, typer.Option(help="Last month of data, YYYY-MM (default: last complete month).")
]
BillingOption = Annotated[
    Billing,
    typer.Option(
        help="mixed: month-to-month and annual contracts; monthly: every customer month "
        "to month (open-ended lines, no renewal dates)."
    ),
]


@demo_app.callback()
def demo(
    ctx: typer.Context,
    accounts: Accounts = 300,
    months: Months = 36,
    seed: Seed = 42,
    end: End = None,
    billing: BillingOption = Billing.MIXED,
    serve: Annotated[
        bool | None,
        typer.Option(
            "--serve/--no-serve",
            help="Start the server at the end (default: when run from a terminal).",
        ),
    ] = None,
) -> None:
    """Create a workspace, generate a demo company, import it, show the portfolio and
    start the server."""
    if ctx.invoked_subcommand is not None:
        return
    settings = get_settings()
    ws = init_workspace(settings.home, settings=settings)
    run = run_demo(
        ws,
        ws.root / "demo-data",
        accounts=accounts,
        months=months,
        seed=seed,
        end_month=_parse_month(end),
        on_step=lambda message: err.print(f"[dim]…[/dim] {message}", highlight=False),
        billing=billing,
    )
    ws.close()
    _show(run)
    out.print(f"\nWorkspace: [bold]{ws.root}[/bold]  (KEEPWELL_HOME={settings.home})")
    out.print(
        "Next: keepwell metrics mrr · keepwell metrics summary · keepwell renewals --within 120"
    )


def _show(run: DemoRun) -> None:
    loaded = [
        {"entity": r.entity, "read": r.read, "loaded": r.loaded, "rejected": r.rejected}
        for r in run.imports
    ]
    print_rows(loaded, OutputFormat.TABLE, title="Imported")
    s = run.summary
    if s is None:
        return
    accounts = next(r for r in run.imports if r.entity == "accounts").loaded
    rows = [
        {"figure": "accounts (incl. prospects)", "value": f"{accounts:,}"},
        {"figure": "paying accounts", "value": f"{s.paying_accounts:,}"},
        {"figure": f"MRR ({s.base_currency})", "value": f"{s.mrr:,.2f}"},
        {"figure": f"ARR ({s.base_currency})", "value": f"{s.arr:,.2f}"},
        {"figure": "NRR, trailing 12 months", "value": _pct(s.nrr_ttm)},
        {"figure": "GRR, trailing 12 months", "value": _pct(s.grr_ttm)},
        {"figure": f"logo churn, {s.month}", "value": _pct(s.logo_churn_rate)},
    ]
    if run.scores is not None:
        bands = ", ".join(f"{band} {n}" for band, n in run.scores.bands.items())
        rows.append({"figure": "health bands", "value": bands})
    if run.cycle is not None:
        rows.append({"figure": "CTAs opened", "value": f"{run.cycle.opened:,} (ctas list)"})
    rows.extend(_risk_rows(run))
    print_rows(rows, OutputFormat.TABLE, title=f"Portfolio as of {s.as_of}")


def _risk_rows(run: DemoRun) -> list[dict[str, str]]:
    if run.risk_skipped is not None:
        return [{"figure": "churn model", "value": f"not trained: {run.risk_skipped}"}]
    r = run.risk
    if r is None:
        return []
    auc = "n/a" if r.roc_auc is None else f"{r.roc_auc:.3f}"
    health = "n/a" if r.health_roc_auc is None else f"{r.health_roc_auc:.3f}"
    return [
        {
            "figure": "churn model (held-out ROC AUC)",
            "value": f"v{r.version}: {auc}, health score alone {health} (risk evaluate)",
        },
        {"figure": "ARR at risk", "value": f"{r.arr_at_risk:,.0f} (risk predict)"},
    ]


def _pct(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.1%}"


@demo_app.command("generate")
def generate(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the files into.")],
    accounts: Accounts = 300,
    months: Months = 36,
    seed: Seed = 42,
    end: End = None,
    billing: BillingOption = Billing.MIXED,
) -> None:
    """Write a demo company in the data-contract format (ground truth in OUT/truth/)."""
    summary = generate_demo(
        out_dir,
        accounts=accounts,
        months=months,
        seed=seed,
        end_month=_parse_month(end),
        billing=billing,
    )
    print_rows(
        [{"entity": k, "rows": v, "file": str(summary.files[k])} for k, v in summary.rows.items()],
        OutputFormat.TABLE,
        title=f"Demo company written to {out_dir}",
    )


def register(app: typer.Typer) -> None:
    app.add_typer(demo_app, name="demo")
