"""The ideal customer profile: which industries, sizes, countries and custom attributes
renew and expand best. Pure.

Over the accounts with MRR twelve months before the as-of month (``mrr_start``) and
their MRR at the as-of month (``mrr_end``), per group of a dimension:

- NRR = Σ mrr_end / Σ mrr_start; GRR = Σ min(mrr_end, mrr_start) / Σ mrr_start
  (metrics.md's trailing-twelve-month definitions);
- logo churn = accounts with mrr_end = 0 / accounts;
- 95 % intervals: Wilson for logo churn; for NRR and GRR a percentile bootstrap over
  the group's accounts (:data:`RESAMPLES` resamples, fixed seed: same data, same
  interval). Groups under :data:`SMALL_GROUP` accounts are flagged ``small``: their
  intervals are wide, read them as such.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

RESAMPLES = 1000
SMALL_GROUP = 30
Z95 = 1.959964
SIZE_BANDS = ((0, 50, "1-49"), (50, 200, "50-199"), (200, 1000, "200-999"), (1000, None, "1000+"))
MAX_GROUPS = 25
SKIP = frozenset({"account_id", "name", "owner", "parent_account_id", "is_prospect"})


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson score interval of a proportion (None, None when n = 0)."""
    if n == 0:
        return None, None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _ratio_ci(
    num: np.ndarray, den: np.ndarray, rng: np.random.Generator
) -> tuple[float | None, float | None]:
    n = len(den)
    if n == 0:
        return None, None
    idx = rng.integers(0, n, size=(RESAMPLES, n))
    totals = den[idx].sum(axis=1)
    ok = totals > 0
    if not ok.any():
        return None, None
    ratios = num[idx].sum(axis=1)[ok] / totals[ok]
    low, high = np.percentile(ratios, [2.5, 97.5])
    return float(low), float(high)


def size_band(employees: Any) -> str | None:
    """The company-size band of an employee count (None when unknown)."""
    if employees is None or pd.isna(employees):
        return None
    for low, high, label in SIZE_BANDS:
        if employees >= low and (high is None or employees < high):
            return label
    return None


def group_stats(label: str, start: np.ndarray, end: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """NRR, GRR, logo churn and their intervals for one group (module docstring)."""
    rng = np.random.default_rng(seed)
    n, base = len(start), float(start.sum())
    floor = np.minimum(start, end)
    churned = int((end <= 0).sum())
    nrr_ci, grr_ci, churn_ci = (
        _ratio_ci(end, start, rng),
        _ratio_ci(floor, start, rng),
        wilson(churned, n),
    )
    return {
        "group": label,
        "accounts": n,
        "nrr": float(end.sum()) / base if base else None,
        "nrr_low": nrr_ci[0],
        "nrr_high": nrr_ci[1],
        "grr": float(floor.sum()) / base if base else None,
        "grr_low": grr_ci[0],
        "grr_high": grr_ci[1],
        "logo_churn": churned / n if n else None,
        "logo_churn_low": churn_ci[0],
        "logo_churn_high": churn_ci[1],
        "small": n < SMALL_GROUP,
    }


def dimensions(accounts: pd.DataFrame) -> list[str]:
    """Columns to profile: ``size`` (from employees) and text attributes with 2 to
    :data:`MAX_GROUPS` distinct values."""
    result = ["size"] if "employees" in accounts else []
    for column in accounts.columns:
        if column in SKIP or column in {"mrr_start", "mrr_end", "employees", "size"}:
            continue
        values = accounts[column]
        if values.map(lambda v: isinstance(v, str)).any() and 2 <= values.nunique() <= MAX_GROUPS:
            result.append(str(column))
    return result


def profile(accounts: pd.DataFrame) -> list[dict[str, Any]]:
    """Per dimension and group, the figures of :func:`group_stats`, best NRR first
    within each dimension; missing values form the group ``(none)``."""
    frame = accounts.copy()
    if "employees" in frame:
        frame["size"] = frame["employees"].map(size_band)
    rows = []
    for dimension in dimensions(frame):
        labels = frame[dimension].astype("string").fillna("(none)")
        part = []
        for label, idx in frame.groupby(labels).groups.items():
            group = frame.loc[idx]
            stats = group_stats(
                str(label), group["mrr_start"].to_numpy(float), group["mrr_end"].to_numpy(float)
            )
            part.append({"dimension": dimension, **stats})
        part.sort(key=lambda r: (-(r["nrr"] or 0), r["group"]))
        rows.extend(part)
    return rows
