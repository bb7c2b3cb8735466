"""Targets and attainment: periods, the figures a target reads, attainment to date and
forecast attainment at the period's end. Pure.

- Period: ``YYYY`` (a year) or ``YYYY-Qn`` (a quarter); a figure to date is taken on
  min(as_of, the period's last day).
- Attainment = actual / target; forecast attainment = forecast / target (fractions,
  1.0 = on target). For logo churn-like targets lower is better; none of the metrics
  here is one (logo retention is 1 − churned share).
- Forecast at the period's end, from the renewals due between as_of and the period's
  end and each account's churn probability p (the churn model's; the renewal forecast's
  buckets commit / likely / at risk): expected lost ARR L = Σ p × renewal ARR, expected
  lost logos K = Σ p over those accounts. Dollar retention (NRR, GRR) forecast = actual ×
  (1 − L / ARR); logo retention and renewal rate forecast = actual × (1 − K / accounts);
  CMRR forecast = CMRR − L / 12; referenceable customers forecast = actual (no model).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from keepwell.core import periods as core_periods
from keepwell.core.errors import InputError


class TargetMetric(StrEnum):
    NRR = "nrr"
    GRR = "grr"
    LOGO_RETENTION = "logo_retention"
    RENEWAL_RATE = "renewal_rate"
    CMRR = "cmrr"
    REFERENCEABLE = "referenceable"


METRICS = tuple(str(m) for m in TargetMetric)
DOLLAR = {TargetMetric.NRR, TargetMetric.GRR}
LOGO = {TargetMetric.LOGO_RETENTION, TargetMetric.RENEWAL_RATE}
_PERIOD = re.compile(r"^(\d{4})(?:-Q([1-4]))?$")


@dataclass(frozen=True)
class Period:
    """A target period: its label and first and last day."""

    label: str
    start: date
    end: date

    def day(self, as_of: date) -> date:
        """The day a figure to date is taken: as_of, at most the period's last day."""
        return min(as_of, self.end)

    def month_ends(self, as_of: date) -> list[date]:
        """The month ends of the period up to ``as_of`` (for the history)."""
        days = []
        month = self.start
        while month <= self.day(as_of):
            end = core_periods.month_end(month)
            if end <= as_of:
                days.append(end)
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        return days


def parse_period(text: str) -> Period:
    """``YYYY`` or ``YYYY-Qn``; :class:`InputError` otherwise."""
    found = _PERIOD.match(text.strip())
    if not found:
        raise InputError(f"{text!r} is not a period", hint="use YYYY or YYYY-Qn, e.g. 2026-Q4")
    year = int(found.group(1))
    if found.group(2) is None:
        return Period(text.strip(), date(year, 1, 1), date(year, 12, 31))
    quarter = int(found.group(2))
    first = date(year, 3 * quarter - 2, 1)
    last = core_periods.month_end(date(year, 3 * quarter, 1))
    return Period(text.strip(), first, last)


def period_of(day: date, quarter: bool = True) -> Period:
    """The quarter (or year) containing ``day``."""
    if not quarter:
        return parse_period(str(day.year))
    return parse_period(f"{day.year}-Q{(day.month - 1) // 3 + 1}")


def metric(text: str) -> TargetMetric:
    try:
        return TargetMetric(text.strip().lower())
    except ValueError:
        raise InputError(
            f"unknown target metric {text!r}", hint=f"one of: {', '.join(METRICS)}"
        ) from None


def forecast_value(
    name: TargetMetric,
    actual: Decimal | None,
    *,
    lost_arr: Decimal,
    arr: Decimal,
    lost_logos: Decimal,
    accounts: int,
) -> Decimal | None:
    """The figure expected at the period's end (formulas in the module docstring)."""
    if actual is None:
        return None
    if name in DOLLAR:
        return actual if arr == 0 else actual * (1 - lost_arr / arr)
    if name in LOGO:
        return actual if accounts == 0 else actual * (1 - lost_logos / accounts)
    if name is TargetMetric.CMRR:
        return actual - lost_arr / 12
    return actual


def attainment(value: Decimal | None, target: Decimal) -> Decimal | None:
    """value / target (None when either is missing or the target is 0)."""
    if value is None or target == 0:
        return None
    return value / target


def row(
    name: TargetMetric, target: Decimal, actual: Decimal | None, forecast: Decimal | None
) -> dict[str, Any]:
    """One line of the attainment table."""
    return {
        "metric": str(name),
        "target": target,
        "actual": actual,
        "attainment": attainment(actual, target),
        "forecast": forecast,
        "forecast_attainment": attainment(forecast, target),
    }
