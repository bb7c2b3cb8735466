"""Prospect fit: how much a prospect looks like the customers who renewed and expanded,
learned from firmographics and custom attributes only (what is known before signing).
Pure.

Past customers are labelled *success* or *failure* by :mod:`keepwell.risk.outcomes`:
by their renewals when they have renewal dates (none churned or contracted), by whether
they still pay twelve months on when they are month to month. Gradient-boosted
trees (LightGBM, small and regularized for a few hundred customers) learn P(success);
the fit score of a prospect is 100 x P(success). Its explanation is the per-prediction
contributions (TreeSHAP) of its attributes. The cross-validated ROC AUC (stratified
5-fold, out-of-fold predictions) says how much to trust it; near 0.5 means the
attributes do not tell.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from keepwell.core.errors import InputError
from keepwell.risk import metrics
from keepwell.risk.features import align

SKIP = frozenset({"account_id", "name", "owner", "parent_account_id", "is_prospect", "created_at"})
MIN_COVERAGE = 0.5
MAX_CATEGORIES = 40
FOLDS = 5
PARAMS: dict[str, Any] = {
    "n_estimators": 150,
    "learning_rate": 0.05,
    "num_leaves": 4,
    "min_child_samples": 10,
    "reg_lambda": 1.0,
    # one category against the rest, as in the churn model: grouping many categories
    # sorted by their gradient learns noise from a few hundred customers
    "max_cat_to_onehot": MAX_CATEGORIES + 1,
    "random_state": 0,
    "n_jobs": 1,
    "verbose": -1,
}


def attribute_columns(customers: pd.DataFrame, prospects: pd.DataFrame) -> dict[str, list[str]]:
    """Usable attributes -> their categories ([] for numbers): filled for at least
    :data:`MIN_COVERAGE` of prospects and of customers (a field only filled after
    signing, like a plan tier, would not describe a prospect)."""
    result: dict[str, list[str]] = {}
    for column in customers.columns:
        if column in SKIP or column == "success" or column not in prospects:
            continue
        if min(customers[column].notna().mean(), prospects[column].notna().mean()) < MIN_COVERAGE:
            continue
        values = pd.concat([customers[column], prospects[column]]).dropna()
        if values.map(lambda v: isinstance(v, str)).all():
            distinct = sorted(values.astype(str).unique().tolist())
            if len(distinct) <= MAX_CATEGORIES:
                result[str(column)] = distinct
        elif pd.to_numeric(values, errors="coerce").notna().all():
            result[str(column)] = []
    return result


def _matrix(frame: pd.DataFrame, columns: dict[str, list[str]]) -> pd.DataFrame:
    return align(frame, list(columns), {k: v for k, v in columns.items() if v})


def _cv_auc(x: pd.DataFrame, y: np.ndarray) -> float | None:
    folds = min(FOLDS, int(y.sum()), int(len(y) - y.sum()))
    if folds < 2:
        return None
    oof = np.zeros(len(y))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(x, y):
        model = lgb.LGBMClassifier(**PARAMS).fit(x.iloc[train], y[train])
        oof[test] = np.asarray(model.predict_proba(x.iloc[test]))[:, 1]
    auc: float | None = metrics.evaluate(oof, y)["roc_auc"]
    return auc


def _explain(columns: list[str], values: list[Any], contrib: np.ndarray) -> list[dict[str, Any]]:
    order = np.argsort(-np.abs(contrib), kind="stable")[:3]
    return [
        {
            "attribute": columns[i],
            "value": None if pd.isna(values[i]) else values[i],
            "effect": "raises fit" if contrib[i] > 0 else "lowers fit",
            "contribution": round(float(contrib[i]), 4),
            "text": f"{columns[i]} is {_shown(values[i])} "
            f"({'raises' if contrib[i] > 0 else 'lowers'} fit)",
        }
        for i in order
        if contrib[i] != 0
    ]


def _shown(value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.4g}" if isinstance(value, float | np.floating) else str(value)


def score_prospects(customers: pd.DataFrame, prospects: pd.DataFrame) -> dict[str, Any]:
    """Fit on ``customers`` (attributes + ``success`` 0/1) and score ``prospects``:
    fit score (0-100), explanation, the attributes used and the cross-validated AUC."""
    columns = attribute_columns(customers, prospects)
    y = customers["success"].to_numpy(dtype=float)
    if not columns or not 0 < y.sum() < len(y):
        raise InputError(
            f"prospect fit needs past customers who succeeded and who did not (of {len(y)} "
            f"labelled, {int(y.sum())} succeeded), and attributes known for prospects "
            "(industry, employees, country, ...)",
            hint="import accounts with firmographics, and subscriptions with renewals or "
            "month-to-month customers followed for at least 12 months",
        )
    x = _matrix(customers, columns)
    model = lgb.LGBMClassifier(**PARAMS).fit(x, y)
    xp = _matrix(prospects, columns)
    p = np.asarray(model.predict_proba(xp))[:, 1] if len(xp) else np.array([])
    contrib = np.asarray(model.predict(xp, pred_contrib=True)) if len(xp) else None
    values = xp.astype(object).to_numpy()
    scored: list[dict[str, Any]] = [
        {
            "account_id": str(account),
            "name": prospects["name"].iloc[i] if "name" in prospects else None,
            "fit_score": round(100 * float(p[i]), 1),
            "explanation": _explain(list(columns), list(values[i]), np.asarray(contrib)[i, :-1]),
        }
        for i, account in enumerate(prospects["account_id"])
    ]
    scored.sort(key=lambda r: (-float(r["fit_score"]), str(r["account_id"])))
    return {
        "customers": len(y),
        "success_rate": float(y.mean()),
        "attributes": list(columns),
        "cv_roc_auc": _cv_auc(x, y),
        "prospects": scored,
    }
