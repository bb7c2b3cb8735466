"""Retention economics: two companies that win the same customers at the same cost and
differ only in how many they keep (expected values, fractional customers).

Each month ``new_per_month`` customers start at ``mrr`` each (paying that month) and
cost ``cac`` each. Annual retention R acts as a monthly survival R^(1/12) at every
month end, or with ``renewal=annual`` as survival R once a year on each customer's
anniversary. Optional annual expansion E grows a kept customer's MRR by (1+E)^(1/12)
a month.

Two valuations after the horizon: the naive one, ARR x ``multiple``, which moves with
retention only through the ARR reached; and the discounted cash flows of the customers
kept (``valuation_dcf``, customer-based valuation as in Gupta, Lehmann & Stuart 2004 and
McCarthy & Fader), which also prices how long they stay: each kept customer pays their
MRR x gross margin every month while they stay, growing by the expansion, discounted
at ``discount_rate`` a year. See :func:`customer_value` and docs/metrics.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from keepwell.core.errors import InputError


class Renewal(StrEnum):
    MONTHLY = "monthly"
    ANNUAL = "annual"


@dataclass(frozen=True)
class Scenario:
    """Inputs of one company (money in any one currency, a month)."""

    new_per_month: float = 10
    mrr: float = 1000.0
    cac: float = 12000.0
    retention: float = 0.95
    months: int = 60
    expansion: float = 0.0
    gross_margin: float = 1.0
    multiple: float = 5.0
    renewal: Renewal = Renewal.MONTHLY
    discount_rate: float = 0.10

    def check(self) -> None:
        if not 0 < self.retention <= 1:
            raise InputError(f"retention {self.retention} must be in (0, 1], e.g. 0.95")
        if self.months < 1 or self.new_per_month < 0 or self.mrr < 0 or self.cac < 0:
            raise InputError("months must be >= 1 and counts, MRR and CAC >= 0")
        if not 0 <= self.discount_rate <= 10:
            raise InputError(
                f"discount rate {self.discount_rate} must be in [0, 10], e.g. 0.10 for 10 %"
            )
        if not -1 < self.expansion <= 10 or not 0 <= self.gross_margin <= 1:
            raise InputError("expansion must be in (-1, 10] and gross margin in [0, 1]")


@dataclass(frozen=True)
class Result:
    """Outcome after ``months``: customers, MRR/ARR run rate at the end, cumulative
    revenue and acquisition spend, LTV (None when customers never leave), valuation
    = ARR x multiple (the naive view), valuation_dcf = the discounted cash flows of the
    customers kept (None when they would grow faster than the discount rate forever)."""

    acquired: float
    lost: float
    active: float
    mrr: float
    arr: float
    cumulative_revenue: float
    cumulative_acquisition_spend: float
    ltv: float | None
    ltv_to_cac: float | None
    valuation: float
    valuation_dcf: float | None


def simulate(scenario: Scenario) -> Result:
    """Run one scenario month by month (see the module docstring)."""
    scenario.check()
    growth = (1 + scenario.expansion) ** (1 / 12)
    monthly = scenario.retention ** (1 / 12)
    cohorts: list[float] = []  # customers by age in months
    revenue = lost = 0.0
    for _ in range(scenario.months):
        cohorts.insert(0, float(scenario.new_per_month))
        revenue += sum(n * scenario.mrr * growth**age for age, n in enumerate(cohorts))
        for age, n in enumerate(cohorts):
            keep = _survival(scenario, monthly, age)
            lost += n * (1 - keep)
            cohorts[age] = n * keep
    active = sum(cohorts)
    mrr = sum(n * scenario.mrr * growth ** (age + 1) for age, n in enumerate(cohorts))
    ltv = _ltv(scenario, monthly * growth)
    acquired = scenario.new_per_month * scenario.months
    return Result(
        acquired=acquired,
        lost=lost,
        active=active,
        mrr=mrr,
        arr=12 * mrr,
        cumulative_revenue=revenue,
        cumulative_acquisition_spend=acquired * scenario.cac,
        ltv=ltv,
        ltv_to_cac=None if ltv is None or scenario.cac == 0 else ltv / scenario.cac,
        valuation=12 * mrr * scenario.multiple,
        valuation_dcf=_base_value(scenario, cohorts, growth),
    )


def customer_value(scenario: Scenario, age: int) -> float | None:
    """Present value, per unit of next month's MRR, of a customer kept after the horizon
    who has paid ``age + 1`` months (``age`` as in :func:`simulate`), times the gross
    margin; None when the sum diverges.

    Month k = 1, 2, ... after the horizon the customer pays MRR x g^(k-1) (g the monthly
    expansion) if still there, at the month's end, discounted by v^k with
    v = (1 + discount_rate)^(-1/12). With monthly renewal the customer stays each month
    with s = R^(1/12): value = GM x v / (1 - s g v). With annual renewal the customer
    stays with R at each anniversary; the next one is after j months (1..12):
    value = GM x [A + R (gv)^j B / (1 - R (gv)^12)], A = sum_{k=1..j} g^(k-1) v^k,
    B = sum_{k=1..12} g^(k-1) v^k. Finite when the yearly factor R (1+E)/(1+d) < 1.
    """
    g = (1 + scenario.expansion) ** (1 / 12)
    v = (1 + scenario.discount_rate) ** (-1 / 12)
    if scenario.renewal is Renewal.MONTHLY:
        s = scenario.retention ** (1 / 12)
        return None if s * g * v >= 1 else scenario.gross_margin * v / (1 - s * g * v)
    yearly = scenario.retention * (g * v) ** 12
    if yearly >= 1:
        return None
    j = (-(age + 1)) % 12 or 12
    first = sum(float(g ** (k - 1) * v**k) for k in range(1, j + 1))
    year = sum(float(g ** (k - 1) * v**k) for k in range(1, 13))
    later: float = scenario.retention * (g * v) ** j * year / (1 - yearly)
    return scenario.gross_margin * (first + later)


def _base_value(scenario: Scenario, cohorts: list[float], growth: float) -> float | None:
    """Sum over the cohorts kept of customers x next month's MRR x :func:`customer_value`."""
    total = 0.0
    for age, n in enumerate(cohorts):
        unit = customer_value(scenario, age)
        if unit is None:
            return None
        total += n * scenario.mrr * growth ** (age + 1) * unit
    return total


def _survival(scenario: Scenario, monthly: float, age: int) -> float:
    if scenario.renewal is Renewal.ANNUAL:
        return scenario.retention if (age + 1) % 12 == 0 else 1.0
    return monthly


def _ltv(scenario: Scenario, kept_value: float) -> float | None:
    """LTV = MRR x gross margin x sum_k (s g)^k = MRR x GM / (1 - s g), s the monthly
    survival and g the monthly expansion; None when s g >= 1."""
    if kept_value >= 1:
        return None
    return scenario.mrr * scenario.gross_margin / (1 - kept_value)


#: Retention points (percentage points of annual retention) of the sensitivity table.
SENSITIVITY_POINTS = (0, 1, 2)


def compare(a: Scenario, b: Scenario) -> dict[str, Any]:
    """Both scenarios, their difference (a - b), and the sensitivity of each valuation
    to retention: one row per scenario and ``SENSITIVITY_POINTS`` (retention that many
    points higher, capped at 100 %) with both valuations and their change against the
    scenario as given (fractions: 0.2 = +20 %)."""
    ra, rb = simulate(a), simulate(b)
    diff = {k: _minus(v, getattr(rb, k)) for k, v in ra.__dict__.items()}
    sensitivity = [
        _sensitivity_row(name, s, base, points)
        for name, s, base in (("a", a, ra), ("b", b, rb))
        for points in SENSITIVITY_POINTS
    ]
    return {"a": ra.__dict__, "b": rb.__dict__, "difference": diff, "sensitivity": sensitivity}


def _sensitivity_row(name: str, s: Scenario, base: Result, points: int) -> dict[str, Any]:
    moved = replace(s, retention=min(1.0, round(s.retention + points / 100, 10)))
    result = simulate(moved) if points else base
    return {
        "scenario": name,
        "points": points,
        "retention": moved.retention,
        "valuation_dcf": result.valuation_dcf,
        "dcf_change": _change(result.valuation_dcf, base.valuation_dcf),
        "valuation": result.valuation,
        "multiple_change": _change(result.valuation, base.valuation),
    }


def _change(value: float | None, base: float | None) -> float | None:
    return None if value is None or base is None or base == 0 else value / base - 1


def _minus(x: float | None, y: float | None) -> float | None:
    return None if x is None or y is None else x - y
