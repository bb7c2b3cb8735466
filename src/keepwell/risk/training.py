"""Training the churn model from a feature matrix: the split, the fit, the held-out
metrics of the model and of the health score alone on the same rows, and the model
card. Pure: the service supplies the matrix and stores the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from keepwell.core.errors import InputError
from keepwell.risk import metrics
from keepwell.risk.features import CHURNED, LABEL, FeatureSet
from keepwell.risk.model import ChurnModel, HealthBaseline, TimeSplit, time_split

HEALTH_SCORE = "health_score"
TOP_FEATURES = 15


@dataclass
class TrainingResult:
    """The fitted model and its card (JSON-ready: data window, features, metrics)."""

    model: ChurnModel
    card: dict[str, Any]


def _part(frame: pd.DataFrame, days: list[date]) -> pd.DataFrame:
    return frame[frame["snapshot"].isin(set(days))]


def train_churn_model(
    features: FeatureSet,
    horizon_days: int,
    *,
    calibration: str = "sigmoid",
    model: ChurnModel | None = None,
) -> TrainingResult:
    """Fit a :class:`ChurnModel` on the labelled rows of ``features`` with a time-based
    split (see :func:`keepwell.risk.model.time_split`) and evaluate it on the held-out
    test days, beside the health score alone (calibrated on the same slice)."""
    frame = features.frame
    labelled = frame[frame[LABEL].notna()] if LABEL in frame else frame.iloc[0:0]
    if labelled.empty:
        raise InputError(
            "no snapshot has a known outcome yet (every horizon passes the as-of day)",
            hint="use a later --as-of or a shorter --horizon",
        )
    split = time_split(labelled["snapshot"].tolist(), horizon_days)
    train, cal, test = (_part(labelled, d) for d in (split.train, split.calibration, split.test))
    y = {
        n: p[LABEL].to_numpy(dtype=float)
        for n, p in (("train", train), ("cal", cal), ("test", test))
    }
    model = model or ChurnModel(calibration=calibration)
    x_cols = features.features
    model.fit(train[x_cols], y["train"], cal[x_cols], y["cal"], features.categories)
    p_test = model.predict_proba(test[x_cols])
    evaluation: dict[str, Any] = {"model": _evaluate(p_test, test)}
    if HEALTH_SCORE in test.columns:
        baseline = HealthBaseline().fit(cal[HEALTH_SCORE].to_numpy(float), y["cal"], calibration)
        p_health = baseline.predict_proba(test[HEALTH_SCORE].to_numpy(float))
        evaluation["health_score"] = _evaluate(p_health, test)
    card = _card(features, split, horizon_days, model, evaluation, (train, cal, test))
    return TrainingResult(model, card)


def _evaluate(p: np.ndarray, test: pd.DataFrame) -> dict[str, Any]:
    """:func:`metrics.evaluate` on the label, plus the ROC AUC for logo churn alone."""
    result = metrics.evaluate(p, test[LABEL].to_numpy(dtype=float))
    if CHURNED in test.columns:
        result["roc_auc_churn_only"] = metrics.evaluate(p, test[CHURNED].to_numpy(float))["roc_auc"]
    return result


def _card(
    features: FeatureSet,
    split: TimeSplit,
    horizon_days: int,
    model: ChurnModel,
    evaluation: dict[str, Any],
    parts: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
) -> dict[str, Any]:
    days = split.train + split.calibration + split.test
    sizes = {
        name: {
            "rows": len(p),
            "positives": int(p[LABEL].sum()),
            "snapshots": int(p["snapshot"].nunique()),
        }
        for name, p in zip(("train", "calibration", "test"), parts, strict=True)
    }
    return {
        "target": f"logo churn or MRR contraction > 20% within {horizon_days} days",
        "horizon_days": horizon_days,
        "data_window": {
            "first_snapshot": min(days).isoformat(),
            "last_snapshot": max(days).isoformat(),
            "last_outcome_day": (max(days) + timedelta(days=horizon_days)).isoformat(),
        },
        "split": split.as_dict(),
        "rows": sizes,
        "features": features.features,
        "categories": features.categories,
        "excluded_features": features.excluded,
        "algorithm": "LightGBM gradient-boosted trees, " + model.calibration + " calibration",
        "params": {
            **model.params,
            "best_iteration": model.best_iteration_,
            "refit_on_train_and_calibration": model.refit,
            "trees": model.n_trees_,
        },
        "top_features": model.importance()[:TOP_FEATURES],
        "metrics": evaluation,
    }


def labels(churned: np.ndarray, contracted: np.ndarray) -> np.ndarray:
    """The target: churned or contracted by more than 20 % (1.0), else 0.0."""
    return np.asarray(np.asarray(churned, bool) | np.asarray(contracted, bool), dtype=float)
