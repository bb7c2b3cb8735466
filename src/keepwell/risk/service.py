"""Use cases of churn risk: train and evaluate the model, predict per account (stored
with the health snapshot), forecast renewals. The public surface of the risk slice.

Snapshots come from the health slice (``point_in_time_history``: every measure as of
each month end, and churn or contraction over the horizon); contract features from the
subscriptions; renewals from the revenue slice. Nothing here reads the clock.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from keepwell.contract import service as contract_service
from keepwell.core import periods
from keepwell.core.errors import InputError, KeepwellError, NotFoundError
from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from keepwell.revenue import service as revenue_service
from keepwell.risk import forecast, icp, outcomes, store
from keepwell.risk import prospects as prospect_fit
from keepwell.risk.drivers import top_drivers
from keepwell.risk.features import CHURNED, LABEL, LAG_MONTHS, build_features, shift_months
from keepwell.risk.terms import CONTRACT_COLUMNS, contract_frame, contract_history
from keepwell.risk.training import train_churn_model

CHURN_OR_CONTRACTION, CHURN = "churn-or-contraction", "churn"
TARGETS = (CHURN_OR_CONTRACTION, CHURN)
#: Days of usage a snapshot's usage measures look back over (the 30-day window).
USAGE_WINDOW = 30
#: A horizon so long that no outcome is computed (prediction needs none).
NO_OUTCOMES = 365 * 100
AS_OF, HEALTH_SCORE = "as_of", "health_score"
OUTCOMES = (health_service.CHURNED, health_service.CONTRACTED)


def snapshot_days(first: date, as_of: date) -> list[date]:
    """Month ends from ``first``'s month through the last month end on or before as_of."""
    days, day = [], periods.month_end(first)
    while day <= as_of:
        days.append(day)
        day = periods.month_end(day + timedelta(days=1))
    return days


def _subscriptions(workspace: Workspace) -> pd.DataFrame:
    frame: pd.DataFrame = contract_service.read_table(workspace, "subscriptions").to_pandas()
    frame["mrr"] = pd.to_numeric(frame["mrr"], errors="coerce").astype(float)
    return frame


def _rows(history: list[health_service.PointInTime], subscriptions: pd.DataFrame) -> pd.DataFrame:
    rows = []
    contracts = contract_history(subscriptions, {pit.as_of for pit in history})
    for pit in history:
        contract = contracts[pit.as_of]
        for health in pit.accounts:
            account = health.score.account_id
            row = {**health.values, **contract.get(account, {})}
            row.update(snapshot=pit.as_of, health_score=health.score.score)
            if pit.outcomes is not None:
                churned, contracted = pit.outcomes.get(account, (False, False))
                row[LABEL] = float(churned or contracted)
                row[CHURNED] = float(churned)
            rows.append(row)
    return pd.DataFrame(rows)


def _history_rows(history: pd.DataFrame, subscriptions: pd.DataFrame) -> pd.DataFrame:
    """:func:`_rows` from :func:`health_service.point_in_time_frame`: the same columns
    in the same order (the health values, the contract features, ``snapshot``,
    ``health_score``, the label), built column-wise."""
    contracts = contract_frame(subscriptions, sorted(set(history[AS_OF])))
    merged = history[[AS_OF, "account_id"]].merge(
        contracts, on=[AS_OF, "account_id"], how="left", validate="1:1"
    )
    values = [c for c in history.columns if c not in {AS_OF, HEALTH_SCORE, *OUTCOMES}]
    columns: dict[str, Any] = {c: history[c] for c in values}
    for name in CONTRACT_COLUMNS:  # a contract feature named like a value replaces it
        columns[name] = merged[name].to_numpy()
    columns["snapshot"] = history[AS_OF].to_numpy()
    columns[HEALTH_SCORE] = history[HEALTH_SCORE].to_numpy(float)
    if health_service.CHURNED in history:
        churned = history[health_service.CHURNED].to_numpy(float)
        contracted = history[health_service.CONTRACTED].to_numpy(float)
        columns[LABEL] = np.where(np.isnan(churned), np.nan, np.maximum(churned, contracted))
        columns[CHURNED] = churned
    return pd.DataFrame(columns).reset_index(drop=True)


def outcomes_known_until(workspace: Workspace, as_of: date) -> date:
    """The last day whose outcomes are known on ``as_of``: ``as_of``, or the last day the
    workspace holds data for when that is earlier (data imported up to the end of last
    month, say). Churn after it is not in the data, so a label whose horizon passes it
    would count an unseen churn as none."""
    last = health_service.last_data_day(workspace)
    return as_of if last is None else min(as_of, last)


def first_snapshot_day(workspace: Workspace, subscriptions: pd.DataFrame) -> date:
    """The default first snapshot: the day the first 30-day usage window is complete
    (the first event day + 29 days), or the first subscription start when that is later
    or there are no events. Earlier snapshots would describe every customer as
    inactive: subscriptions often go back years before product usage was tracked."""
    start: date = min(subscriptions["starts_on"])
    usage = health_service.first_usage_day(workspace)
    return start if usage is None else max(start, usage + timedelta(days=USAGE_WINDOW - 1))


def training_rows(
    workspace: Workspace,
    as_of: date,
    horizon_days: int,
    first: date | None = None,
    until: date | None = None,
) -> pd.DataFrame:
    """One row per (customer, month end up to ``as_of``) with every measure as of that
    day, contract features, and the label when ``day + horizon <= until`` (default:
    :func:`outcomes_known_until`)."""
    subscriptions = _subscriptions(workspace)
    if subscriptions.empty:
        raise InputError("the workspace has no subscriptions to learn from", hint="import data")
    days = snapshot_days(first or first_snapshot_day(workspace, subscriptions), as_of)
    known = until or outcomes_known_until(workspace, as_of)
    history = health_service.point_in_time_frame(workspace, days, horizon_days, until=known)
    return _history_rows(history, subscriptions)


def train_model(
    workspace: Workspace,
    as_of: date,
    horizon_days: int = 180,
    *,
    calibration: str = "sigmoid",
    first: date | None = None,
    target: str = CHURN_OR_CONTRACTION,
) -> dict[str, Any]:
    """Train the churn model on snapshots up to ``as_of`` (labels whose horizon ends by
    :func:`outcomes_known_until`), store it as the next version, and return its card.
    ``target``: logo churn or contraction > 20 % (default), or logo churn alone
    (``churn``)."""
    if horizon_days < 1:
        raise InputError(f"horizon must be at least 1 day, got {horizon_days}")
    if target not in TARGETS:
        raise InputError(f"target {target!r} is unknown", hint=" or ".join(TARGETS))
    known = outcomes_known_until(workspace, as_of)
    rows = training_rows(workspace, as_of, horizon_days, first, until=known)
    if target == CHURN and LABEL in rows:
        rows[LABEL] = rows[CHURNED]
    result = train_churn_model(build_features(rows), horizon_days, calibration=calibration)
    card = {
        "trained_as_of": as_of.isoformat(),
        "outcomes_known_until": known.isoformat(),
        **result.card,
    }
    if target == CHURN:
        card["target"] = f"logo churn within {horizon_days} days"
    version = store.save_model(workspace.root, result.model, card)
    return {"version": version, **card}


def evaluation(workspace: Workspace, version: int | None = None) -> dict[str, Any]:
    """The held-out metrics of model ``version`` (latest when None), from its card: the
    model and the health score alone on the same test rows."""
    card = store.load_card(workspace.root, version)
    return {
        "version": card["version"],
        "trained_as_of": card.get("trained_as_of"),
        "target": card["target"],
        "test_snapshots": card["split"]["test"],
        "rows": card["rows"],
        "metrics": card["metrics"],
    }


def has_model(workspace: Workspace) -> bool:
    """Whether a churn model has been trained in the workspace."""
    return bool(store.versions(workspace.root))


def model_card(workspace: Workspace, version: int | None = None) -> dict[str, Any]:
    """The full card of model ``version`` (latest when None)."""
    return store.load_card(workspace.root, version)


#: Metrics of the model card, in display order: key, label, how it reads (``score``: a
#: fraction to 3 decimals, ``share``: a percentage, ``count``: a whole number).
CARD_METRICS = (
    ("roc_auc", "ROC AUC", "score"), ("pr_auc", "PR AUC", "score"), ("brier", "Brier", "score"),
    ("ece", "ECE", "score"), ("top_decile_lift", "Top-decile lift", "score"),
    ("base_rate", "Base rate", "share"), ("rows", "Test rows", "count"),
)  # fmt: skip


def model_card_summary(workspace: Workspace) -> dict[str, Any] | None:
    """The latest churn model's card with ``metric_names``, ``metric_labels``,
    ``metric_kinds`` (see :data:`CARD_METRICS`) and a
    ``summary`` (algorithm, snapshots, top features) to show it; None when no model
    has been trained (or its card cannot be read)."""
    if not has_model(workspace):
        return None
    try:
        card: dict[str, Any] = dict(model_card(workspace))
    except (KeepwellError, OSError, ValueError):
        return None
    card["metric_names"] = [k for k, _, _ in CARD_METRICS]
    card["metric_labels"] = {k: name for k, name, _ in CARD_METRICS}
    card["metric_kinds"] = {k: kind for k, _, kind in CARD_METRICS}
    window = card.get("data_window") or {}
    card["summary"] = {
        "Algorithm": card.get("algorithm", "—"),
        "Snapshots": f"{window.get('first_snapshot', '?')} – {window.get('last_snapshot', '?')}",
        "Top features": ", ".join(str(_feature(f)) for f in (card.get("top_features") or [])[:8]),
    }
    return card


def _feature(feature: Any) -> Any:
    return feature.get("feature", feature) if isinstance(feature, dict) else feature


expected_renewals = forecast.expected_renewals


def predictions(
    workspace: Workspace,
    as_of: date,
    *,
    version: int | None = None,
    assessed: list[health_service.AccountHealth] | None = None,
) -> list[dict[str, Any]]:
    """Churn probability of every customer as of ``as_of`` with its top drivers in
    words, ARR and ARR at risk (p x ARR), riskiest first. Nothing is stored.
    ``assessed``: the portfolio's health as of ``as_of`` when the caller has it (a
    cycle that just scored), so it is not assessed twice."""
    model, _card = store.load_model(workspace.root, version)
    lag_day = shift_months(as_of, -LAG_MONTHS)
    days = [lag_day] if assessed is not None else [lag_day, as_of]
    history = health_service.point_in_time_history(workspace, days, NO_OUTCOMES, until=as_of)
    if assessed is not None:
        history.append(health_service.PointInTime(as_of, assessed, None))
    rows = _rows(history, _subscriptions(workspace))
    if rows.empty:
        return []  # no account yet on those days (before the data begins): nothing to predict
    features = build_features(rows)
    frame = features.frame[features.frame["snapshot"] == as_of].copy()
    for leaked in features.excluded:
        if leaked in frame:
            frame[leaked] = np.nan
    x = model.prepare(frame)
    p = model.predict_proba(x) if len(x) else np.array([])
    contrib = model.contributions(x) if len(x) else np.empty((0, len(model.features_)))
    arr = frame["arr"].to_numpy(float) if "arr" in frame else np.zeros(len(frame))
    values = x.astype(object).to_numpy()
    result = [
        {
            "account_id": str(account),
            "churn_probability": float(p[i]),
            "arr": float(arr[i]),
            "arr_at_risk": float(p[i] * arr[i]),
            "risk_drivers": top_drivers(model.features_, list(values[i]), list(contrib[i])),
        }
        for i, account in enumerate(frame["account_id"])
    ]
    return sorted(result, key=lambda r: (-r["churn_probability"], r["account_id"]))


def predict_risk(
    workspace: Workspace,
    as_of: date,
    *,
    version: int | None = None,
    assessed: list[health_service.AccountHealth] | None = None,
) -> dict[str, Any]:
    """:func:`predictions` as of ``as_of``, stored with the health snapshot of that day
    (scored first when missing). ARR at risk = Σ p x ARR (base currency per year)."""
    rows = predictions(workspace, as_of, version=version, assessed=assessed)
    if as_of not in health_service.list_snapshots(workspace):
        health_service.compute_scores(workspace, as_of)
    stored = health_service.record_risk(workspace, as_of, rows)
    return {
        "as_of": as_of,
        "model_version": version or store.versions(workspace.root)[-1],
        "accounts": len(rows),
        "stored": stored,
        "arr": sum(r["arr"] for r in rows),
        "arr_at_risk": sum(r["arr_at_risk"] for r in rows),
        "predictions": rows,
    }


def account_risk(
    workspace: Workspace, account_id: str, as_of: date | None = None
) -> dict[str, Any]:
    """The stored prediction of ``account_id``: the latest health snapshot on or before
    ``as_of`` (latest of all when None) with its churn probability, ARR at risk and
    drivers. :class:`NotFoundError` when that snapshot has no prediction."""
    snapshot = health_service.explain_account(workspace, account_id, as_of)
    if snapshot.get("risk") is None:
        raise NotFoundError(
            f"no churn prediction for account {account_id!r} in the snapshot of "
            f"{snapshot['as_of']}",
            hint="run `keepwell risk predict --as-of DAY`",
        )
    return {
        "account_id": account_id,
        "as_of": snapshot["as_of"],
        "health_score": snapshot["score"],
        "band": snapshot["band"],
        **snapshot["risk"],
    }


def _owned_by(workspace: Workspace, owner: str) -> set[str]:
    accounts = _accounts(workspace)
    if "owner" not in accounts:
        return set()
    return set(accounts.loc[accounts["owner"] == owner, "account_id"].astype(str))


def _probabilities(workspace: Workspace, day: date, version: int | None) -> dict[str, float]:
    return {
        r["account_id"]: r["churn_probability"]
        for r in predictions(workspace, day, version=version)
    }


def renewal_forecast(
    workspace: Workspace,
    as_of: date,
    within_days: int = 120,
    *,
    version: int | None = None,
    owner: str | None = None,
) -> dict[str, Any]:
    """Renewals in (as_of, as_of + within]: expected renewed ARR = Σ (1 − p) x ARR per
    bucket (see :mod:`keepwell.risk.forecast`); and the forecast made as of
    ``as_of − within`` for the renewals of (as_of − within, as_of] against what
    happened (actual renewed ARR = 12 x min(successor, expiring MRR)), with whether
    that check is out of sample (:func:`keepwell.risk.forecast.learned_outcomes_until`);
    and the customers without a renewal date (month to month) by bucket, with the ARR
    expected to stay over the model's horizon."""
    if within_days < 1:
        raise InputError(f"--within must be at least 1 day, got {within_days}")
    book = revenue_service.load_book(workspace)
    now = _probabilities(workspace, as_of, version)
    upcoming = forecast.forecast_lines(
        revenue_service.upcoming_renewals(workspace, as_of, within_days, book=book), now
    )
    arr = revenue_service.account_arr(workspace, as_of, book=book)
    then_day = as_of - timedelta(days=within_days)
    past = forecast.with_outcomes(
        revenue_service.past_renewals(workspace, then_day + timedelta(days=1), as_of, book=book),
        _probabilities(workspace, then_day, version),
    )
    card = store.load_card(workspace.root, version)
    learned = forecast.learned_outcomes_until(card)
    if owner is not None:
        mine = _owned_by(workspace, owner)
        upcoming = [ln for ln in upcoming if ln["account_id"] in mine]
        past = [ln for ln in past if ln["account_id"] in mine]
        arr = {a: row for a, row in arr.items() if a in mine}
    return {
        "as_of": as_of,
        "within_days": within_days,
        "thresholds": {
            "commit_below": forecast.COMMIT_BELOW,
            "at_risk_from": forecast.AT_RISK_FROM,
        },
        "upcoming": {"buckets": forecast.bucket_totals(upcoming), "lines": upcoming},
        "month_to_month": {
            "horizon_days": int(card["horizon_days"]),
            "buckets": forecast.month_to_month(arr, now),
        },
        "past": {
            "forecast_as_of": then_day,
            "model_learned_outcomes_until": learned,
            "out_of_sample": learned <= then_day,
            "buckets": forecast.bucket_totals(past),
            "lines": past,
        },
    }


def _accounts(workspace: Workspace) -> pd.DataFrame:
    frame: pd.DataFrame = contract_service.read_table(workspace, "accounts").to_pandas()
    if "is_prospect" not in frame:
        frame["is_prospect"] = False
    frame["is_prospect"] = frame["is_prospect"].fillna(False).astype(bool)
    return frame


def success_labels(workspace: Workspace, as_of: date) -> outcomes.Labels:
    """Which past customers succeeded, as of ``as_of`` (see :mod:`keepwell.risk.outcomes`):
    accounts with renewal dates by their renewals up to ``as_of``; month-to-month
    accounts by whether they still paid twelve months after their first month with MRR,
    when that month is known (:func:`outcomes_known_until`)."""
    book = revenue_service.load_book(workspace)
    known = outcomes_known_until(workspace, as_of)
    return outcomes.success_labels(
        _subscriptions(workspace),
        revenue_service.past_renewals(workspace, date(1900, 1, 1), as_of, book=book),
        revenue_service.customer_lifetimes(workspace, known, book=book),
        known,
    )


def score_prospects(workspace: Workspace, as_of: date) -> dict[str, Any]:
    """Fit score (0-100) of every prospect, learned from which past customers succeeded
    (:func:`success_labels`), with its explanation and the model's cross-validated ROC
    AUC (see :mod:`keepwell.risk.prospects`)."""
    accounts = _accounts(workspace)
    labels = success_labels(workspace, as_of)
    success = labels.success
    customers = accounts[~accounts["is_prospect"] & accounts["account_id"].isin(success.keys())]
    customers = customers.assign(success=[float(success[a]) for a in customers["account_id"]])
    prospects = accounts[accounts["is_prospect"]]
    kept = set(customers["account_id"])
    labelled_by = {
        basis: sum(1 for a, b in labels.basis.items() if b == basis and a in kept)
        for basis in (outcomes.RENEWALS, outcomes.RETAINED)
    }
    return {
        "as_of": as_of,
        "labelled_by": labelled_by,
        **prospect_fit.score_prospects(customers, prospects),
    }


def ideal_customer_profile(workspace: Workspace, as_of: date) -> dict[str, Any]:
    """Trailing-twelve-month NRR, GRR and logo churn per industry, size band, country
    and custom attribute, with 95 % intervals and small groups flagged (see
    :mod:`keepwell.risk.icp`). Accounts: those with MRR at the end of the month twelve
    months before ``as_of``'s last complete month."""
    book = revenue_service.load_book(workspace)
    end = revenue_service.month_end(revenue_service.last_complete_month(as_of))
    start = periods.month_end(shift_months(end, -12))
    mrr = {
        day: {
            r["group"]: float(r["ending_mrr"])
            for r in revenue_service.mrr_movements(workspace, day, day, by="account_id", book=book)
        }
        for day in (start, end)
    }
    accounts = _accounts(workspace)
    base = accounts[accounts["account_id"].map(lambda a: mrr[start].get(a, 0.0) > 0)].copy()
    base["mrr_start"] = base["account_id"].map(mrr[start])
    base["mrr_end"] = base["account_id"].map(lambda a: mrr[end].get(a, 0.0))
    return {
        "from_month": start.strftime("%Y-%m"),
        "to_month": end.strftime("%Y-%m"),
        "accounts": len(base),
        "small_group_below": icp.SMALL_GROUP,
        "groups": icp.profile(base),
    }
