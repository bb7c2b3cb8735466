"""How good a churn probability is: ranking, precision, calibration and lift. Pure numpy.

Definitions (``p`` the predicted probability, ``y`` the 0/1 outcome, ``N`` rows):

- ROC AUC: P(p of a churner > p of a non-churner), ties counting half.
- PR AUC: average precision, Σ (recallₖ − recallₖ₋₁) · precisionₖ over the ranking.
- Brier score: mean of (p − y)².
- Calibration table: rows sorted by p cut into (up to) ten equal-count bins; per bin the
  mean p, the observed rate and the count. Expected calibration error (ECE) =
  Σ_bins nᵦ/N · |observed rateᵦ − mean pᵦ|.
- Lift in the top decile: churn rate of the 10 % highest p / overall churn rate.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    roc_auc_score,
)

BINS = 10


def _both_classes(y: np.ndarray) -> bool:
    return bool(0 < y.sum() < len(y))


def calibration_table(p: np.ndarray, y: np.ndarray, bins: int = BINS) -> list[dict[str, Any]]:
    """Equal-count bins of ``p`` (ascending): bin, rows, mean predicted, observed rate."""
    order = np.argsort(p, kind="stable")
    rows = []
    for i, idx in enumerate(np.array_split(order, min(bins, len(p)))):
        if len(idx) == 0:
            continue
        rows.append(
            {
                "bin": i + 1,
                "rows": len(idx),
                "mean_predicted": float(p[idx].mean()),
                "observed_rate": float(y[idx].mean()),
            }
        )
    return rows


def expected_calibration_error(table: list[dict[str, Any]]) -> float | None:
    """ECE of a :func:`calibration_table`: count-weighted mean |observed − predicted|."""
    total = sum(r["rows"] for r in table)
    if total == 0:
        return None
    gaps = (r["rows"] * abs(r["observed_rate"] - r["mean_predicted"]) for r in table)
    return float(sum(gaps) / total)


def top_decile_lift(p: np.ndarray, y: np.ndarray) -> float | None:
    """Churn rate among the 10 % highest ``p`` (at least one row) / the overall rate."""
    if len(y) == 0 or y.mean() == 0:
        return None
    top = np.argsort(-p, kind="stable")[: max(1, len(p) // 10)]
    return float(y[top].mean() / y.mean())


def evaluate(p: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Every metric of the module docstring for probabilities ``p`` and outcomes ``y``."""
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    table = calibration_table(p, y)
    ranked = _both_classes(y)
    return {
        "rows": len(y),
        "positives": int(y.sum()),
        "base_rate": float(y.mean()) if len(y) else None,
        "roc_auc": float(roc_auc_score(y, p)) if ranked else None,
        "pr_auc": float(average_precision_score(y, p)) if ranked else None,
        "brier": float(np.mean((p - y) ** 2)) if len(y) else None,
        "ece": expected_calibration_error(table),
        "top_decile_lift": top_decile_lift(p, y),
        "calibration": table,
    }
