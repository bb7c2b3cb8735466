"""Retention economics: two companies that win the same customers at the same cost and
differ only in how many they keep (expected values, fractional customers).

Each month ``new_per_month`` customers start at ``mrr`` each (paying that month) and
cost ``cac`` each. Annual retention R acts as a monthly survival R^(1/12) at every
month end, or with ``renewal=annual`` as survival R once a year on each customer's
anniversary. Optional annual expansion E grows a kept customer's MRR by (1+E)^(1/12)
a month.
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

    def check(self) -> None:
        if not 0 < self.retention <= 1:
            raise InputError(f"retention {self.retention} must be in (0, 1], e.g. 0.95")
        if self.months < 1 or self.new_per_month < 0 or self.mrr < 0 or self.cac < 0:
            raise InputError("months must be >= 1 and counts, MRR and CAC >= 0")


@dataclass(frozen=True)
class Result:
    """Outcome after ``months``: customers, MRR/ARR run rate at the end, cumulative
    revenue and acquisition spend, LTV (None when customers never leave), valuation
    = ARR x multiple."""

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
    )


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


def compare(a: Scenario, b: Scenario) -> dict[str, Any]:
    """Both scenarios, their difference (a - b), and the valuation of each with retention
    one and two points higher (capped at 100 %)."""
    ra, rb = simulate(a), simulate(b)
    diff = {k: _minus(v, getattr(rb, k)) for k, v in ra.__dict__.items()}
    sensitivity = [
        {
            "scenario": name,
            "retention": s.retention,
            "valuation": simulate(s).valuation,
            "valuation_plus_1pt": simulate(
                replace(s, retention=min(1.0, s.retention + 0.01))
            ).valuation,
            "valuation_plus_2pt": simulate(
                replace(s, retention=min(1.0, s.retention + 0.02))
            ).valuation,
        }
        for name, s in (("a", a), ("b", b))
    ]
    return {"a": ra.__dict__, "b": rb.__dict__, "difference": diff, "sensitivity": sensitivity}


def _minus(x: float | None, y: float | None) -> float | None:
    return None if x is None or y is None else x - y
