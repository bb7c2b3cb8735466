"""Web pages of revenue: cohorts, survival curves and the retention-economics simulator.
A CSM limited to their book sees its figures only."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from keepwell.core.errors import InputError
from keepwell.core.memo import memo
from keepwell.revenue import service
from keepwell.revenue.cohorts import SMALL_COHORT, is_small
from keepwell.revenue.simulator import Renewal, Scenario, simulate
from keepwell.web import charts
from keepwell.web.toolkit import PageUser, page_day, page_user, render, workspace_of

router = APIRouter(include_in_schema=False)
User = Annotated[PageUser, Depends(page_user)]
AsOf = Annotated[date | None, Query()]


@router.get("/cohorts", response_class=HTMLResponse)
def cohorts(
    request: Request, user: User, as_of: AsOf = None, measure: str = "logo"
) -> HTMLResponse:
    """Retention by cohort month and age, as a heatmap and a table."""
    ws, day = workspace_of(request), page_day(request, as_of)
    key = "revenue_retention" if measure == "revenue" else "logo_retention"
    rows = memo(
        ("cohorts", ws.key, user.owner_scope, day),
        lambda: service.cohort_retention(ws, day, book=service.scoped_book(ws, user.owner_scope)),
    )
    names = sorted({r["cohort"] for r in rows})
    ages = list(range(max((r["age"] for r in rows), default=-1) + 1))
    cells: dict[tuple[str, int], Any] = {(r["cohort"], r["age"]): r for r in rows}
    z = [[(cells[(c, a)][key] if (c, a) in cells else None) for a in ages] for c in names]
    sizes = {r["cohort"]: r["cohort_accounts"] for r in rows if r["age"] == 0}
    small = {c for c in names if is_small(sizes.get(c))}
    title = ("Revenue" if key == "revenue_retention" else "Logo") + " retention by cohort"
    chart = charts.heatmap(
        "heat",
        title,
        ages,
        [f"{c} · {sizes.get(c, 0):,} accounts" + (" (small)" if c in small else "") for c in names],
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
        names=names,
        ages=ages,
        z=z,
        sizes=sizes,
        small=small,
        small_cohort=SMALL_COHORT,
        measure="revenue" if key == "revenue_retention" else "logo",
        charts=[chart] if rows else [],
    )


@router.get("/survival", response_class=HTMLResponse)
def survival(request: Request, user: User, as_of: AsOf = None, by: str = "") -> HTMLResponse:
    """Kaplan–Meier curves of months from first payment to churn, optionally by segment."""
    ws, day = workspace_of(request), page_day(request, as_of)
    groups = ("plan_tier", "industry", "region", "acquisition_channel", "segment", "band")
    group = by if by in groups else None
    curves = memo(
        ("survival", ws.key, user.owner_scope, day, group),
        lambda: service.survival_curves(
            ws, day, group, book=service.scoped_book(ws, user.owner_scope)
        ),
    )
    chart = charts.step_curves_with_band(
        "survival",
        "Share of customers still paying",
        {name: [(p.t, p.survival, p.lower, p.upper) for p in points]
         for name, points in curves.items()},
        band_name="95% interval",
        x_title="months since first payment",
        y_title="survival",
    )  # fmt: skip
    chart["figure"]["layout"]["yaxis"].update(range=[0, 1.02], tickformat=".0%")
    return render(
        request,
        user,
        "survival.html",
        title="Survival",
        as_of=day,
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
