"""Kaplan–Meier survival with Greenwood variance and log-log confidence intervals.

S(t) = prod_{t_i <= t} (1 - d_i / n_i), with d_i events and n_i at risk at t_i.
Greenwood: Var[log S(t)] = sum d_i / (n_i (n_i - d_i)). The log-log interval (as in
lifelines and R's survival with conf.type="log-log") is
exp(-exp(log(-log S) -/+ z sqrt(V) / |log S|)), which stays inside [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from keepwell.core.errors import InputError


@dataclass(frozen=True)
class SurvivalPoint:
    """One event or censoring time: t, at risk, events, censored, S(t), CI bounds."""

    t: int
    at_risk: int
    events: int
    censored: int
    survival: float
    lower: float | None
    upper: float | None


def kaplan_meier(
    durations: Sequence[int], events: Sequence[bool], *, confidence: float = 0.95
) -> list[SurvivalPoint]:
    """KM curve of ``durations`` (time units, e.g. months) with ``events`` True for an
    observed churn and False for a censored (still active) subject."""
    d = np.asarray(durations, dtype=np.int64)
    e = np.asarray(events, dtype=bool)
    if d.shape != e.shape:
        raise InputError("durations and events must have the same length")
    z = float(norm.ppf(0.5 + confidence / 2))
    points: list[SurvivalPoint] = []
    survival, greenwood, at_risk = 1.0, 0.0, len(d)
    for t in np.unique(d):
        here = d == t
        died, gone = int(np.sum(e & here)), int(np.sum(here))
        if died:
            survival *= 1 - died / at_risk
            greenwood += died / (at_risk * (at_risk - died)) if at_risk > died else math.inf
        lower, upper = _log_log(survival, greenwood, z)
        points.append(SurvivalPoint(int(t), at_risk, died, gone - died, survival, lower, upper))
        at_risk -= gone
    return points


def _log_log(survival: float, greenwood: float, z: float) -> tuple[float | None, float | None]:
    if survival in (0.0, 1.0) or math.isinf(greenwood):
        return (None, None) if survival == 0.0 or math.isinf(greenwood) else (1.0, 1.0)
    log_s = math.log(survival)
    spread = z * math.sqrt(greenwood) / abs(log_s)
    centre = math.log(-log_s)
    return math.exp(-math.exp(centre + spread)), math.exp(-math.exp(centre - spread))


def median_survival(points: Sequence[SurvivalPoint]) -> int | None:
    """The first time at which S(t) <= 0.5; None when the curve never gets there."""
    return next((p.t for p in points if p.survival <= 0.5), None)
