"""Statistics of the back-test: ROC AUC, and suggested measure weights from a regularized
logistic regression. Pure numpy/scipy; no stores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from scipy.stats import rankdata


def roc_auc(
    risk: Sequence[float] | np.ndarray, events: Sequence[bool] | np.ndarray
) -> float | None:
    """ROC AUC of ``risk`` for ``events``: P(risk of an event > risk of a non-event), ties
    counting half (Mann–Whitney U / (n₁·n₀)). None when either class is empty."""
    r = np.asarray(risk, dtype=float)
    y = np.asarray(events, dtype=bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return None
    ranks = rankdata(r)
    u = ranks[y].sum() - positives * (positives + 1) / 2
    return float(u / (positives * negatives))


class LogisticWeights:
    """L2-regularized logistic regression of an event on measure points (0–100).

    ``penalty`` is the L2 strength on standardized features (λ in
    ``mean log-loss + λ/2 · ‖β‖²``). Missing points are imputed with the feature mean.
    After :meth:`fit`: ``coef_`` (per standardized feature; negative = protective),
    ``intercept_``, ``means_``, ``scales_`` and ``weights_`` — suggested scorecard weights,
    ``max(0, −coef)`` normalized to sum to 100 (a measure whose higher points go with more
    events gets no weight).
    """

    def __init__(self, penalty: float = 0.01) -> None:
        self.penalty = penalty

    def _standardize(self, x: np.ndarray) -> np.ndarray:
        filled = np.where(np.isnan(x), self.means_, x)
        return np.asarray((filled - self.means_) / self.scales_)

    def fit(self, x: np.ndarray, y: np.ndarray, names: Sequence[str]) -> LogisticWeights:
        self.names_ = list(names)
        have = ~np.isnan(x)
        count = have.sum(axis=0)
        filled = np.where(have, x, 0.0)
        self.means_ = np.where(count > 0, filled.sum(axis=0) / np.maximum(count, 1), 50.0)
        spread = np.where(have, (x - self.means_) ** 2, 0.0).sum(axis=0) / np.maximum(count, 1)
        self.scales_ = np.where(spread > 0, np.sqrt(spread), 1.0)
        z = self._standardize(x)
        target = y.astype(float)

        def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
            b0, beta = params[0], params[1:]
            logits = b0 + z @ beta
            p = expit(logits)
            value = np.mean(np.logaddexp(0.0, logits) - target * logits)
            value += self.penalty / 2 * float(beta @ beta)
            grad_logits = (p - target) / len(target)
            grad = np.concatenate([[grad_logits.sum()], z.T @ grad_logits + self.penalty * beta])
            return float(value), grad

        result = minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B")
        self.intercept_ = float(result.x[0])
        self.coef_ = np.asarray(result.x[1:])
        protective = np.maximum(0.0, -self.coef_) + 0.0  # no negative zeros
        total = protective.sum()
        self.weights_ = protective / total * 100 if total > 0 else protective
        return self

    def predict_risk(self, x: np.ndarray) -> np.ndarray:
        """Probability of the event for each row of points."""
        logits = self.intercept_ + self._standardize(x) @ self.coef_
        return np.asarray(expit(logits))  # stable for large |logits| (no overflow)

    def weighted_score(self, x: np.ndarray) -> np.ndarray:
        """Σ weight·points / Σ weight over the measures with data (a scorecard score)."""
        w = np.broadcast_to(self.weights_, x.shape)
        have = ~np.isnan(x)
        total = np.where(have, w, 0.0).sum(axis=1)
        points = np.where(have, x, 0.0) * w
        return np.asarray(
            np.where(total > 0, points.sum(axis=1) / np.where(total > 0, total, 1), 50.0)
        )

    def summary(self) -> list[dict[str, Any]]:
        """One row per measure: coefficient and suggested weight, largest weight first."""
        rows = [
            {"measure": n, "coefficient": float(c), "suggested_weight": float(w)}
            for n, c, w in zip(self.names_, self.coef_, self.weights_, strict=True)
        ]
        return sorted(rows, key=lambda r: -r["suggested_weight"])
