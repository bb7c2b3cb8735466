"""Web pages of revenue: the portfolio overview, renewals, cohorts, survival curves and
the retention-economics simulator. A CSM limited to their book sees its figures only."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from keepwell.core import periods
from keepwell.core.errors import InputError
from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from keepwell.revenue import service
from keepwell.revenue.scoped import scoped_book
from keepwell.revenue.simulator import Renewal, Scenario, simulate
from keepwell.web import charts
from keepwell.web.directory import (
    Directory,
    band_counts,
    band_trend,
    directory,
    visible,
    workspace_key,
)
from keepwell.web.pages import PageUser, memo, page_user, render, today, workspace_of
from keepwell.web.risk_view import renewal_forecast

router = APIRouter(include_in_schema=False)
User = Annotated[PageUser, Depends(page_user)]
AsOf = Annotated[date | None, Query()]
#: Movements in bridge order; contraction and churn are negative amounts (metrics.md).
MOVEMENT_STEPS = ("new", "reactivation", "expansion", "contraction", "churn")
RENEWAL_DAYS = 120


def _day(request: Request, as_of: date | None) -> date:
    """``as_of`` or the data's now (the one rule of every face); a page that fell back
    to the data's last day says so (``as_of_note`` in its template context)."""
    resolved = health_service.data_as_of(workspace_of(request), as_of, today())
    request.state.as_of_note = resolved.note()
    return resolved.day


def _named(rows: list[dict[str, Any]], d: Directory) -> list[dict[str, Any]]:
    for row in rows:
        found = d.by_id.get(row["account_id"], {})
        row.update(
            churn_probability=found.get("churn_probability"),
            name=found.get("name", row["account_id"]),
            band=found.get("band", "unknown"),
            owner=found.get("owner"),
            score=found.get("score"),
        )
    return rows


def bridge_chart(month: dict[str, Any]) -> dict[str, Any]:
    """The month's MRR bridge: start, each movement (signed as stored), end."""
    steps: list[tuple[str, float, str]] = [("start", float(month["starting_mrr"]), "absolute")]
    steps += [(name, float(month[name]), "relative") for name in MOVEMENT_STEPS]
    steps.append(("end", float(month["ending_mrr"]), "total"))
    return charts.waterfall("bridge", f"MRR bridge, {month['month']}", steps, "MRR")


def _movement_chart(months: list[dict[str, Any]]) -> dict[str, Any]:
    x = [m["month"] + (" (partial)" if m.get("partial") else "") for m in months]
    series = {name: [float(m[name]) for m in months] for name in MOVEMENT_STEPS}
    chart = charts.bars(
        "movements",
        "MRR movements by month",
        x,
        series,
        y_title="MRR change",
        stacked=True,
        colours=["#1f8a4c", "#38a169", "#68d391", "#ed8936", "#c53030"],
    )
    chart["figure"]["layout"]["barmode"] = "relative"
    chart["figure"]["layout"]["yaxis"]["rangemode"] = "normal"
    return chart


def _portfolio(book: service.Book, ws: Workspace, day: date) -> tuple[Any, Any, Any]:
    """Summary, 13 months of movements and the renewals of the next 90 days."""
    summary = service.portfolio_summary(ws, day, book=book)
    start = periods.month_end(day) - timedelta(days=365)
    months = service.mark_partial_months(service.mrr_movements(ws, start, day, book=book), day)
    return summary, months, service.upcoming_renewals(ws, day, 90, book=book)


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, user: User, as_of: AsOf = None) -> HTMLResponse:
    """The portfolio: KPIs, health bands and their trend, the MRR bridge, renewals."""
    ws, day = workspace_of(request), _day(request, as_of)
    summary, months, upcoming = memo(
        ("overview", workspace_key(ws), user.owner_scope, day),
        lambda: _portfolio(scoped_book(ws, user.owner_scope), ws, day),
    )
    d = directory(ws, day)
    rows = [r for r in visible(d.rows, user.owner_scope) if not r["is_prospect"]]
    trend = band_trend(ws, user.owner_scope)
    modelled = [r for r in rows if r["arr_at_risk"] is not None]
    at_risk = (
        sum((Decimal(str(r["arr_at_risk"])) for r in modelled), Decimal(0))
        if modelled
        else sum((r["arr"] for r in rows if r["band"] == "red"), Decimal(0))
    )
    renewals = _named([dict(r) for r in upcoming], d)
    complete = [m for m in months if m["month"] <= summary.month] or months
    chart_list = [
        _movement_chart(months),
        charts.stacked_bands("bands", "Accounts by health band, per snapshot", trend),
    ]
    if complete:
        chart_list.insert(0, bridge_chart(complete[-1]))
    return render(
        request,
        user,
        "overview.html",
        title="Portfolio overview",
        as_of=day,
        as_of_note=request.state.as_of_note,
        s=summary,
        currency=summary.base_currency,
        months=months,
        bands=band_counts(rows),
        trend=trend,
        at_risk=at_risk,
        modelled=bool(modelled),
        renewals=renewals[:15],
        renewal_count=len(renewals),
        renewal_arr=sum((r["arr"] for r in renewals), Decimal(0)),
        snapshot=d.snapshot,
        charts=chart_list,
    )


def _by_month(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row["ends_on"].strftime("%Y-%m")].append(row)
    result = []
    for month, items in sorted(groups.items()):
        arr = sum((r["arr"] for r in items), Decimal(0))
        risky = sum((r["arr"] for r in items if r["band"] == "red"), Decimal(0))
        watch = sum((r["arr"] for r in items if r["band"] == "yellow"), Decimal(0))
        expected = [r["expected_arr"] for r in items if r.get("expected_arr") is not None]
        result.append(
            {
                "month": month,
                "rows": items,
                "arr": arr,
                "red_arr": risky,
                "yellow_arr": watch,
                "accounts": len({r["account_id"] for r in items}),
                "forecast": sum(expected, Decimal(0)) if expected else None,
            }
        )
    return result


def _upcoming(book: service.Book, ws: Workspace, day: date) -> tuple[str, Any]:
    return book.base_currency, service.upcoming_renewals(ws, day, RENEWAL_DAYS, book=book)


@router.get("/renewals", response_class=HTMLResponse)
def renewals(request: Request, user: User, as_of: AsOf = None) -> HTMLResponse:
    """Lines ending in the next 120 days by month, with health, risk and forecast."""
    ws, day = workspace_of(request), _day(request, as_of)
    currency, upcoming = memo(
        ("renewals", workspace_key(ws), user.owner_scope, day),
        lambda: _upcoming(scoped_book(ws, user.owner_scope), ws, day),
    )
    d = directory(ws, day)
    rows = _named([dict(r) for r in upcoming], d)
    forecast = renewal_forecast(rows)
    months = _by_month(rows)
    chart = charts.bars(
        "renewals",
        "ARR up for renewal by month and health band",
        [m["month"] for m in months],
        {
            "green or unscored": [float(m["arr"] - m["red_arr"] - m["yellow_arr"]) for m in months],
            "yellow": [float(m["yellow_arr"]) for m in months],
            "red": [float(m["red_arr"]) for m in months],
        },
        x_title="month",
        y_title="ARR",
        stacked=True,
        colours=["#1f8a4c", "#d69e2e", "#c53030"],
    )
    return render(
        request,
        user,
        "renewals.html",
        title="Renewals",
        as_of=day,
        as_of_note=request.state.as_of_note,
        months=months,
        currency=currency,
        total=sum((m["arr"] for m in months), Decimal(0)),
        forecast=forecast,
        days=RENEWAL_DAYS,
        charts=[chart] if months else [],
    )


@router.get("/cohorts", response_class=HTMLResponse)
def cohorts(
    request: Request, user: User, as_of: AsOf = None, measure: str = "logo"
) -> HTMLResponse:
    """Retention by cohort month and age, as a heatmap and a table."""
    ws, day = workspace_of(request), _day(request, as_of)
    key = "revenue_retention" if measure == "revenue" else "logo_retention"
    rows = memo(
        ("cohorts", workspace_key(ws), user.owner_scope, day),
        lambda: service.cohort_retention(ws, day, book=scoped_book(ws, user.owner_scope)),
    )
    names = sorted({r["cohort"] for r in rows})
    ages = list(range(max((r["age"] for r in rows), default=-1) + 1))
    cells: dict[tuple[str, int], Any] = {(r["cohort"], r["age"]): r for r in rows}
    z = [[(cells[(c, a)][key] if (c, a) in cells else None) for a in ages] for c in names]
    sizes = {r["cohort"]: r["cohort_accounts"] for r in rows if r["age"] == 0}
    title = ("Revenue" if key == "revenue_retention" else "Logo") + " retention by cohort"
    chart = charts.heatmap(
        "heat",
        title,
        ages,
        names,
        z,
        x_title="months since start",
        y_title="cohort (first paid month)",
    )
    return render(
        request,
        user,
        "cohorts.html",
        title="Cohorts",
        as_of=day,
        as_of_note=request.state.as_of_note,
        names=names,
        ages=ages,
        z=z,
        sizes=sizes,
        measure="revenue" if key == "revenue_retention" else "logo",
        charts=[chart] if rows else [],
    )


@router.get("/survival", response_class=HTMLResponse)
def survival(request: Request, user: User, as_of: AsOf = None, by: str = "") -> HTMLResponse:
    """Kaplan–Meier curves of months from first payment to churn, optionally by segment."""
    ws, day = workspace_of(request), _day(request, as_of)
    group = by if by in ("plan_tier", "industry", "region", "acquisition_channel") else None
    curves = memo(
        ("survival", workspace_key(ws), user.owner_scope, day, group),
        lambda: service.survival_curves(ws, day, group, book=scoped_book(ws, user.owner_scope)),
    )
    series = {name: [p.survival for p in points] for name, points in curves.items()}
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "line": {"shape": "hv"},
            "name": charts.label(name),
            "x": [p.t for p in points],
            "y": series[name],
        }
        for name, points in curves.items()
    ]
    lay = charts.layout(
        "Share of customers still paying", "months since first payment", "survival", height=380
    )
    lay["yaxis"].update(range=[0, 1.02], tickformat=".0%")
    chart = charts.figure("survival", data, lay)
    return render(
        request,
        user,
        "survival.html",
        title="Survival",
        as_of=day,
        as_of_note=request.state.as_of_note,
        curves=curves,
        by=by,
        charts=[chart] if curves else [],
    )


FIELDS = (  # name, label, unit, scale (form value x scale = scenario value)
    ("new_per_month", "New customers per month", "", 1.0),
    ("mrr", "MRR per new customer", "", 1.0),
    ("cac", "Acquisition cost per customer", "", 1.0),
    ("retention", "Annual logo retention", "%", 0.01),
    ("expansion", "Annual expansion of kept customers", "%", 0.01),
    ("gross_margin", "Gross margin", "%", 0.01),
    ("months", "Horizon", "months", 1.0),
    ("multiple", "Naive valuation multiple of ARR", "x", 1.0),
    ("discount_rate", "Discount rate of the DCF valuation", "%", 0.01),
)
DEFAULT_A = Scenario(retention=0.95)
DEFAULT_B = Scenario(retention=0.80)


def _scenario(prefix: str, params: dict[str, str], default: Scenario) -> Scenario:
    values: dict[str, Any] = {}
    for name, _label, _unit, scale in FIELDS:
        raw = params.get(f"{prefix}_{name}")
        try:
            values[name] = float(raw) * scale if raw not in (None, "") else getattr(default, name)
        except ValueError:
            values[name] = getattr(default, name)
    values["months"] = max(1, min(240, int(values["months"])))
    renewal = params.get(f"{prefix}_renewal", default.renewal.value)
    values["renewal"] = (
        Renewal(renewal) if renewal in {r.value for r in Renewal} else default.renewal
    )
    return Scenario(**values)


def _form_values(s: Scenario) -> dict[str, float]:
    return {name: round(getattr(s, name) / scale, 6) for name, _l, _u, scale in FIELDS}


def _path_chart(a: Scenario, b: Scenario) -> dict[str, Any]:
    horizon = max(a.months, b.months)
    step = max(1, horizon // 24)
    x = list(range(step, horizon + 1, step))
    series = {
        name: [simulate(replace(s, months=m)).arr for m in x] for name, s in (("A", a), ("B", b))
    }
    return charts.line(
        "sim-arr", "ARR run rate over time", x, series, x_title="months", y_title="ARR"
    )


@router.get("/simulator", response_class=HTMLResponse)
def simulator(request: Request, user: User) -> HTMLResponse:
    """Company A against company B: the same acquisition, different retention; what each
    keeps and is worth over the horizon."""
    params = dict(request.query_params)
    a, b = _scenario("a", params, DEFAULT_A), _scenario("b", params, DEFAULT_B)
    result, error, chart_list = None, None, []
    try:
        result = service.simulate_retention(a, b)
        chart_list = [_path_chart(a, b)]
    except InputError as exc:
        error = exc.message
    return render(
        request,
        user,
        "simulator.html",
        title="Simulator",
        a=a,
        b=b,
        result=result,
        error=error,
        fields=FIELDS,
        va=_form_values(a),
        vb=_form_values(b),
        charts=chart_list,
    )
