"""The back-test: does the health score predict what happened next?

For each month end in the range, the portfolio is scored with only the data available
then (every measure is as-of), and joined with what happened in the following
``horizon`` days, read from the subscriptions:

- *churn*: MRR is 0 at a month end in ``(as_of, as_of + horizon]`` or on the last day;
- *contraction*: not churned, and MRR on ``as_of + horizon`` < 80 % of MRR on as_of.

Month ends whose horizon passes ``data_end`` are left out (their outcome is not known).

The *usage-only* comparison scores the very same account-months with the usage measures
alone (category ``usage`` of :data:`~keepwell.health.measures.MEASURES`, plus the custom
measures, which aggregate product events): ``Σ wᵢ·pᵢ / Σ wᵢ`` over the usage measures
with data, ``wᵢ`` each measure's effective weight in the full score and ``pᵢ`` its
points. It answers "what does the rest of the scorecard add to product usage?". An
account without a score (or without usage data) counts as a neutral 50 in both.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import ibis
import numpy as np
import pandas as pd

from keepwell.core import periods
from keepwell.health.backtest_stats import LogisticWeights, roc_auc
from keepwell.health.config import Bands, HealthConfig
from keepwell.health.days import AS_OF, as_of_days
from keepwell.health.measures import MEASURES, MeasureInputs
from keepwell.health.operational import subscription_history
from keepwell.health.portfolio import AccountHealth, assess_history
from keepwell.health.scorecard import AccountScore, Band, band_of

CONTRACTION = 0.8
USAGE_CATEGORY = "usage"
NEUTRAL = 50.0
TRAIN_SHARE = 0.6


def month_end(year: int, month: int) -> date:
    """The last day of a calendar month."""
    return periods.month_end(date(year, month, 1))


def month_ends(first: date, last: date) -> list[date]:
    """Month ends of every month from ``first``'s month to ``last``'s month, inclusive."""
    result, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        result.append(month_end(year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return result


def _checks(as_of: date, horizon: int) -> list[date]:
    """The days MRR is looked at after ``as_of``: each month end in the horizon and its
    last day."""
    end = as_of + timedelta(days=horizon)
    checks = [d for d in month_ends(as_of + timedelta(days=1), end) if d <= end]
    if not checks or checks[-1] != end:
        checks.append(end)
    return checks


@dataclass(frozen=True)
class _MrrOn:
    """MRR per account on some days: ``mrr[row[day], code]`` (0.0 without a row), and
    per day the account codes in the query's row order; ``accounts`` names the codes."""

    row: dict[date, int]
    accounts: np.ndarray
    mrr: np.ndarray
    listed: list[np.ndarray]


def _mrr_on(subscriptions: ibis.Table, days: set[date]) -> _MrrOn:
    """MRR per account on each of ``days`` (one query for them all)."""
    ordered = sorted(days)
    table = subscription_history(subscriptions, as_of_days(days))
    rows = table.select(AS_OF, "account_id", "mrr").to_pyarrow()
    day = np.searchsorted(
        np.array(ordered, dtype="datetime64[D]"), rows[AS_OF].to_numpy().astype("datetime64[D]")
    )
    codes, accounts = pd.factorize(
        np.array(rows["account_id"].to_pylist(), dtype=object), use_na_sentinel=False
    )
    mrr = np.zeros((len(ordered), len(accounts)))
    mrr[day, codes] = rows["mrr"].to_numpy()  # one row per (day, account)
    by_day = np.argsort(day, kind="stable")
    listed = np.split(codes[by_day], np.cumsum(np.bincount(day, minlength=len(ordered)))[:-1])
    row = {d: i for i, d in enumerate(ordered)}
    return _MrrOn(row, np.asarray(accounts, dtype=object), mrr, listed)


def outcomes(subscriptions: ibis.Table, as_of: date, horizon: int) -> dict[str, tuple[bool, bool]]:
    """``account_id -> (churned, contracted)`` over ``(as_of, as_of + horizon]``."""
    return outcomes_history(subscriptions, [as_of], horizon)[as_of]


def outcomes_history(
    subscriptions: ibis.Table, days: Iterable[date], horizon: int
) -> dict[date, dict[str, tuple[bool, bool]]]:
    """:func:`outcomes` as of each of ``days``, from one query of MRR on every day looked
    at (accounts in the order the query gives them)."""
    mrr, parts = _outcomes(subscriptions, days, horizon)
    result: dict[date, dict[str, tuple[bool, bool]]] = {}
    for day, codes, churned, contracted in parts:
        result[day] = dict(
            zip(
                mrr.accounts[codes].tolist(),
                zip(churned.tolist(), contracted.tolist(), strict=True),
                strict=True,
            )
        )
    return result


def outcomes_frame(
    subscriptions: ibis.Table, days: Iterable[date], horizon: int, columns: tuple[str, str]
) -> pd.DataFrame:
    """:func:`outcomes_history` as one frame: ``as_of``, ``account_id`` and the two
    ``columns`` (churned, contracted) as 1.0 / 0.0, rows as the dicts give them."""
    churned_name, contracted_name = columns
    mrr, parts = _outcomes(subscriptions, days, horizon)
    if not parts:
        return pd.DataFrame(columns=[AS_OF, "account_id", churned_name, contracted_name])
    return pd.DataFrame(
        {
            AS_OF: np.repeat(
                np.array([p[0] for p in parts], dtype=object), [len(p[1]) for p in parts]
            ),
            "account_id": np.concatenate([mrr.accounts[p[1]] for p in parts]),
            churned_name: np.concatenate([p[2] for p in parts]).astype(float),
            contracted_name: np.concatenate([p[3] for p in parts]).astype(float),
        }
    )


def _outcomes(
    subscriptions: ibis.Table, days: Iterable[date], horizon: int
) -> tuple[_MrrOn, list[tuple[date, np.ndarray, np.ndarray, np.ndarray]]]:
    """The MRR of every day looked at (one query) and, per day of ``days``, its
    :func:`_outcome`: what both :func:`outcomes_history` and :func:`outcomes_frame` give."""
    checks = {day: _checks(day, horizon) for day in days}
    if not checks:
        return _MrrOn({}, np.array([], dtype=object), np.zeros((0, 0)), []), []
    mrr = _mrr_on(subscriptions, {*checks, *(d for c in checks.values() for d in c)})
    return mrr, [(day, *_outcome(mrr, day, later)) for day, later in checks.items()]


def _outcome(
    mrr: _MrrOn, day: date, later: list[date]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The accounts with MRR on ``day`` (codes, in row order), whether each churned (no
    MRR on a day of ``later``) and contracted (not churned, and the last day's MRR below
    :data:`CONTRACTION` x the day's)."""
    listed = mrr.listed[mrr.row[day]]
    start = mrr.mrr[mrr.row[day], listed]
    kept = ~(start <= 0)  # NaN MRR counts as some, as a comparison with it is false
    codes, start = listed[kept], start[kept]
    after = mrr.mrr[np.ix_([mrr.row[d] for d in later], codes)]
    churned = np.asarray((after <= 0).any(axis=0))
    contracted = ~churned & (after[-1] < CONTRACTION * start)
    return codes, churned, contracted


@dataclass
class BacktestReport:
    """What the back-test found (see the module docstring for the definitions)."""

    months: list[date]
    skipped_months: list[date]
    horizon_days: int
    observations: int = 0
    churn_rate: float | None = None
    auc_churn: float | None = None
    auc_churn_or_contraction: float | None = None
    usage_only_auc_churn: float | None = None
    usage_only_auc_churn_or_contraction: float | None = None
    usage_only_red_lift: float | None = None
    bands: list[dict[str, Any]] = field(default_factory=list)
    red_lift: float | None = None
    measures: list[dict[str, Any]] = field(default_factory=list)
    suggested_weights: list[dict[str, Any]] = field(default_factory=list)
    holdout: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Observation:
    month: date
    health: AccountHealth
    churned: bool
    contracted: bool


def run_backtest(
    inputs: MeasureInputs,
    config: HealthConfig,
    months: list[date],
    horizon: int,
    data_end: date,
) -> BacktestReport:
    """Score as of each month end in ``months`` and compare with the outcomes."""
    usable = [m for m in months if m + timedelta(days=horizon) <= data_end]
    report = BacktestReport(usable, [m for m in months if m not in usable], horizon)
    observations: list[_Observation] = []
    assessed = assess_history(inputs, usable, config) if usable else {}
    happened_by_day = outcomes_history(inputs.subscriptions, usable, horizon)
    for as_of in usable:
        happened = happened_by_day[as_of]
        for health in assessed[as_of]:
            churned, contracted = happened.get(health.score.account_id, (False, False))
            observations.append(_Observation(as_of, health, churned, contracted))
    _summarize(report, observations, usage_measures(config), config.bands)
    return report


def usage_measures(config: HealthConfig) -> set[str]:
    """The measures the usage-only comparison keeps: built-in usage measures and the
    custom measures (aggregations of product events)."""
    built_in = {name for name, (category, _) in MEASURES.items() if category == USAGE_CATEGORY}
    return built_in | {m.name for m in config.measures.custom}


def usage_only_score(score: AccountScore, usage: set[str]) -> float | None:
    """``Σ wᵢ·pᵢ / Σ wᵢ`` (0–100) over the measures of ``usage`` with points, ``wᵢ`` their
    effective weights in ``score``; None when none has data."""
    pairs = [
        (m.effective_weight, m.points)
        for m in score.measures
        if m.measure in usage and m.points is not None and m.effective_weight > 0
    ]
    total = sum(w for w, _ in pairs)
    return sum(w * p for w, p in pairs) / total if total > 0 else None


def _risk(score: float | None) -> float:
    """Higher = riskier: minus the score, an unknown score counting as neutral."""
    return -(NEUTRAL if score is None else score)


def _lift(flags: list[bool], events: list[bool]) -> float | None:
    """Event rate among the flagged / overall event rate."""
    flagged = [e for f, e in zip(flags, events, strict=True) if f]
    if not flagged or not any(events):
        return None
    return (sum(flagged) / len(flagged)) / (sum(events) / len(events))


def _summarize(
    report: BacktestReport, obs: list[_Observation], usage: set[str], bands: Bands
) -> None:
    report.observations = len(obs)
    if not obs:
        return
    churn = [o.churned for o in obs]
    lost = [o.churned or o.contracted for o in obs]
    full = [o.health.score.score for o in obs]
    only = [usage_only_score(o.health.score, usage) for o in obs]
    report.churn_rate = sum(churn) / len(obs)
    report.auc_churn = roc_auc([_risk(s) for s in full], churn)
    report.auc_churn_or_contraction = roc_auc([_risk(s) for s in full], lost)
    report.usage_only_auc_churn = roc_auc([_risk(s) for s in only], churn)
    report.usage_only_auc_churn_or_contraction = roc_auc([_risk(s) for s in only], lost)
    report.bands = _bands(obs)
    report.red_lift = _lift([o.health.score.band is Band.RED for o in obs], churn)
    report.usage_only_red_lift = _lift([band_of(s, bands) is Band.RED for s in only], churn)
    report.measures = _measure_aucs(obs)
    _suggest_weights(report, obs)


def _bands(obs: list[_Observation]) -> list[dict[str, Any]]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for o in obs:
        c = counts[o.health.score.band.value]
        c[0] += 1
        c[1] += o.churned
        c[2] += o.churned or o.contracted
    return [
        {
            "band": band.value,
            "accounts": counts[band.value][0],
            "churned": counts[band.value][1],
            "churn_rate": counts[band.value][1] / counts[band.value][0]
            if counts[band.value][0]
            else None,
            "churn_or_contraction_rate": counts[band.value][2] / counts[band.value][0]
            if counts[band.value][0]
            else None,
        }
        for band in Band
    ]


def _measure_aucs(obs: list[_Observation]) -> list[dict[str, Any]]:
    values: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for o in obs:
        for m in o.health.score.measures:
            if m.value is not None:
                values[m.measure].append((m.value, o.churned))
    rows = []
    for name, pairs in values.items():
        auc = roc_auc([v for v, _ in pairs], [c for _, c in pairs])
        rows.append(
            {
                "measure": name,
                "observations": len(pairs),
                "auc": None if auc is None else max(auc, 1 - auc),
                "direction": None
                if auc is None
                else ("higher, more churn" if auc > 0.5 else "lower, more churn"),
            }
        )
    return sorted(rows, key=lambda r: -(r["auc"] or 0))


def _points_matrix(obs: list[_Observation], names: list[str]) -> np.ndarray:
    x = np.full((len(obs), len(names)), np.nan)
    index = {n: i for i, n in enumerate(names)}
    for row, o in enumerate(obs):
        for m in o.health.score.measures:
            if m.points is not None:
                x[row, index[m.measure]] = m.points
    return x


def _suggest_weights(report: BacktestReport, obs: list[_Observation]) -> None:
    names = sorted({m.measure for o in obs for m in o.health.score.measures})
    x = _points_matrix(obs, names)
    y = np.array([o.churned for o in obs])
    if y.sum() == 0 or y.all():
        return
    report.suggested_weights = LogisticWeights().fit(x, y, names).summary()
    months = sorted({o.month for o in obs})
    cut = months[max(1, int(len(months) * TRAIN_SHARE)) - 1]
    train = np.array([o.month <= cut for o in obs])
    if train.all() or y[train].sum() == 0 or y[~train].sum() == 0:
        return
    model = LogisticWeights().fit(x[train], y[train], names)
    current = [_risk(o.health.score.score) for o, t in zip(obs, train, strict=True) if not t]
    report.holdout = {
        "trained_through": cut,
        "observations": int((~train).sum()),
        "auc_current_weights": roc_auc(current, y[~train]),
        "auc_suggested_weights": roc_auc(-model.weighted_score(x[~train]), y[~train]),
        "auc_logistic": roc_auc(model.predict_risk(x[~train]), y[~train]),
    }
