"""The shifted-beta-geometric (sBG) model of contractual retention (Fader & Hardie,
2007, "How to project customer retention", J. Interactive Marketing 21(1)).

Each customer churns at the end of a renewal period with a constant probability
theta, and theta is Beta(alpha, beta) across customers. Then
P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta), S(t) = B(alpha, beta + t) /
B(alpha, beta), and the retention rate r_t = S(t) / S(t-1) = (beta + t - 1) /
(alpha + beta + t - 1) rises with t (the survivors are the loyal ones).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, hyp2f1

from keepwell.core.errors import InputError


class ShiftedBetaGeometric:
    """sBG estimator fitted by maximum likelihood on counts still active per period.

    ``fit([1000, 631, 468, ...])`` takes the number of customers active at the start
    (period 0) and at the end of each period 1..n.
    """

    def __init__(self, *, initial: tuple[float, float] = (1.0, 1.0)) -> None:
        self.initial = initial

    def fit(self, survivors: Sequence[int | float]) -> ShiftedBetaGeometric:
        """Maximise LL = sum_t n_t log P(T = t) + S_n log S(n), with n_t = S_{t-1} - S_t
        churned in period t and S_n still active after the last period."""
        counts = _checked(survivors)
        self._maximise([counts])
        self.n_periods_ = len(counts) - 1
        self.survivors_ = [float(c) for c in counts]
        return self

    def fit_cohorts(self, cohorts: Sequence[Sequence[int | float]]) -> ShiftedBetaGeometric:
        """Pooled fit of several cohorts, each observed for its own number of periods
        (a younger cohort is censored earlier): LL = sum over cohorts of the LL of
        :meth:`fit`. ``survivors_`` holds only the pooled start (period 0), so
        :meth:`summary` projects from it and shows no actual count after period 0."""
        if not cohorts:
            raise InputError("fit_cohorts needs at least one cohort")
        checked = [_checked(c) for c in cohorts]
        self._maximise(checked)
        self.n_periods_ = max(len(c) for c in checked) - 1
        self.survivors_ = [float(sum(c[0] for c in checked))]
        return self

    def _maximise(self, cohorts: list[np.ndarray]) -> None:
        def negative_ll(log_params: np.ndarray) -> float:
            alpha, beta = np.exp(log_params)
            return -sum(_loglik(alpha, beta, -np.diff(c), c[-1]) for c in cohorts)

        start = np.log(np.asarray(self.initial, dtype=float))
        result = minimize(
            negative_ll,
            start,
            method="Nelder-Mead",
            options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 10_000},
        )
        self.alpha_, self.beta_ = (float(v) for v in np.exp(result.x))
        self.loglik_ = float(-result.fun)

    def survival(self, t: int) -> float:
        """S(t) = B(alpha, beta + t) / B(alpha, beta): share still active after t periods."""
        return float(np.exp(betaln(self.alpha_, self.beta_ + t) - betaln(self.alpha_, self.beta_)))

    def churn_probability(self, t: int) -> float:
        """P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta), t >= 1."""
        return float(
            np.exp(betaln(self.alpha_ + 1, self.beta_ + t - 1) - betaln(self.alpha_, self.beta_))
        )

    def retention(self, t: int) -> float:
        """r_t = (beta + t - 1) / (alpha + beta + t - 1), t >= 1."""
        return (self.beta_ + t - 1) / (self.alpha_ + self.beta_ + t - 1)

    def expected_lifetime(self) -> float:
        """E[T] in periods = (alpha + beta - 1) / (alpha - 1); infinite when alpha <= 1."""
        if self.alpha_ <= 1:
            return math.inf
        return (self.alpha_ + self.beta_ - 1) / (self.alpha_ - 1)

    def discounted_expected_residual_lifetime(self, discount_rate: float, n: int = 1) -> float:
        """DERL in periods (Fader & Hardie 2010) of a customer active in period n - 1:
        sum_{k >= 0} S(n + k) / S(n - 1) / (1 + d)^k
        = (beta + n - 1) / (alpha + beta + n - 1) * 2F1(1, beta + n; alpha + beta + n; 1/(1+d)).
        """
        if discount_rate <= 0:
            raise InputError("discount_rate must be above zero (e.g. 0.1 for 10 % a period)")
        a, b = self.alpha_, self.beta_
        return float(self.retention(n) * hyp2f1(1, b + n, a + b + n, 1 / (1 + discount_rate)))

    def project(self, periods: int, start: float | None = None) -> list[float]:
        """Projected survivors for periods 0..periods, from ``start`` (default: the
        first fitted count)."""
        base = self.survivors_[0] if start is None else start
        return [base * self.survival(t) for t in range(periods + 1)]

    def summary(self, periods: int | None = None, discount_rate: float = 0.1) -> dict[str, Any]:
        """Fitted parameters, log-likelihood, and per period: survival, retention,
        projected and actual counts."""
        horizon = periods if periods is not None else self.n_periods_
        rows = []
        for t, projected in enumerate(self.project(horizon)):
            actual = self.survivors_[t] if t < len(self.survivors_) else None
            rows.append(
                {
                    "period": t,
                    "survival": self.survival(t),
                    "retention": None if t == 0 else self.retention(t),
                    "projected": projected,
                    "actual": actual,
                }
            )
        return {
            "alpha": self.alpha_,
            "beta": self.beta_,
            "loglik": self.loglik_,
            "expected_lifetime": self.expected_lifetime(),
            "discount_rate": discount_rate,
            "derl": self.discounted_expected_residual_lifetime(discount_rate),
            "periods": rows,
        }


def _checked(survivors: Sequence[int | float]) -> np.ndarray:
    counts = np.asarray(survivors, dtype=float)
    if counts.ndim != 1 or len(counts) < 2 or counts[0] <= 0:
        raise InputError("survivors must hold at least two counts, the first above zero")
    if np.any(np.diff(counts) > 0) or np.any(counts < 0):
        raise InputError("survivors must never increase and never be negative")
    return counts


def _loglik(alpha: float, beta: float, churned: np.ndarray, remaining: float) -> float:
    t = np.arange(1, len(churned) + 1)
    base = betaln(alpha, beta)
    log_p = betaln(alpha + 1, beta + t - 1) - base
    log_s = betaln(alpha, beta + len(churned)) - base
    return float(np.sum(churned * log_p) + remaining * log_s)
