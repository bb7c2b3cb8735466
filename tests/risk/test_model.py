"""The churn model on synthetic rows with a known signal: it finds the signal, the
time-based split keeps the future out, and a planted future-only feature is excluded."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from keepwell.core.errors import InputError
from keepwell.risk.features import KNOWN_AT, build_features
from keepwell.risk.model import ChurnModel, time_split
from keepwell.risk.training import train_churn_model
from tests.risk.synthetic import month_ends, signal_rows


def test_model_finds_the_known_signal_and_beats_the_noisy_health_score() -> None:
    rows = signal_rows(accounts=600, months=24)
    result = train_churn_model(build_features(rows), horizon_days=90)
    model, health = result.card["metrics"]["model"], result.card["metrics"]["health_score"]
    assert model["roc_auc"] > 0.8
    assert model["roc_auc"] > health["roc_auc"] + 0.03
    assert model["ece"] < 0.05
    assert result.card["top_features"][0]["feature"] == "usage_drop"
    drivers = result.model.importance()
    gains = {d["feature"]: d["gain"] for d in drivers}
    assert gains["usage_drop"] > 5 * max(gains["noise_1"], gains["noise_2"])


def test_a_future_only_feature_is_excluded_by_the_leakage_guard() -> None:
    rows = signal_rows(accounts=300, months=24, seed=1)
    # the label itself, known 60 days after each snapshot: a perfect, leaky predictor
    rows["cancellation_notice"] = rows["label"]
    rows[KNOWN_AT + "cancellation_notice"] = [d + timedelta(days=60) for d in rows["snapshot"]]
    features = build_features(rows)
    assert "cancellation_notice" not in features.features
    assert "known only after the snapshot day" in features.excluded["cancellation_notice"]
    result = train_churn_model(features, horizon_days=90)
    assert "cancellation_notice" in result.card["excluded_features"]
    assert result.card["metrics"]["model"]["roc_auc"] < 0.95

    # the same column declared as known on the snapshot day would be used, and leak
    rows[KNOWN_AT + "cancellation_notice"] = rows["snapshot"]
    leaky = train_churn_model(build_features(rows), horizon_days=90)
    assert leaky.card["metrics"]["model"]["roc_auc"] > 0.99


def test_a_date_attribute_after_the_snapshot_is_excluded() -> None:
    rows = signal_rows(accounts=50, months=6)
    rows["cancelled_on"] = np.where(rows["label"] > 0, "2030-01-01", None)
    features = build_features(rows)
    assert "days_since_cancelled_on" in features.excluded
    assert not any("cancelled" in f for f in features.features)


def test_time_split_is_ordered_and_purges_the_horizon_before_the_test() -> None:
    days = month_ends(24)
    row_days = [d for d in days for _ in range(10)]
    split = time_split(row_days, horizon_days=90)
    assert max(split.train) < min(split.calibration)
    assert max(split.calibration) < min(split.test)
    for day in split.train + split.calibration:
        assert day + timedelta(days=90) < min(split.test)
    assert split.purged
    assert all(min(split.test) - d <= timedelta(days=90) for d in split.purged)
    assert len(split.test) == 6  # a quarter of the rows


def test_time_split_refuses_too_little_history() -> None:
    with pytest.raises(InputError, match="too few"):
        time_split(month_ends(4), horizon_days=180)


def test_training_needs_known_outcomes() -> None:
    rows = signal_rows(accounts=20, months=6)
    rows["label"] = None
    with pytest.raises(InputError, match="no snapshot has a known outcome"):
        train_churn_model(build_features(rows.astype({"label": "object"})), 90)
    # no snapshot's horizon has passed at all: the rows carry no label column
    with pytest.raises(InputError, match="no snapshot has a known outcome"):
        train_churn_model(build_features(rows.drop(columns=["label", "churned"])), 90)


def test_predictions_use_the_training_categories() -> None:
    rows = signal_rows(accounts=300, months=18, seed=2)
    result = train_churn_model(build_features(rows), horizon_days=60)
    new = pd.DataFrame({"usage_drop": [3.0, -3.0], "industry": ["Unknown", "Retail"]})
    x = result.model.prepare(new)
    assert list(x.columns) == result.model.features_
    p = result.model.predict_proba(x)
    assert p[0] > p[1]
    assert result.model.contributions(x).shape == (2, len(result.model.features_))


def test_isotonic_calibration_is_an_option_and_unknown_ones_are_refused() -> None:
    rows = signal_rows(accounts=300, months=18, seed=3)
    result = train_churn_model(build_features(rows), horizon_days=60, calibration="isotonic")
    p = result.model.predict_proba(result.model.prepare(rows.head(50)))
    assert ((p >= 0) & (p <= 1)).all()
    assert "isotonic" in result.card["algorithm"]
    with pytest.raises(InputError, match="calibration 'platt' is unknown"):
        train_churn_model(build_features(rows), horizon_days=60, calibration="platt")


def test_trees_are_refit_on_train_and_calibration_and_learn_what_only_recent_rows_show() -> None:
    rows = signal_rows(accounts=600, months=24, seed=4)
    split = time_split(rows.loc[rows["label"].notna(), "snapshot"].tolist(), horizon_days=90)
    recent = rows["snapshot"] >= min(split.calibration)
    # a second signal measured only from the calibration period on (a new product
    # feature's usage, say): the training slice has no value of it at all
    rng = np.random.default_rng(5)
    new_signal = rng.normal(size=len(rows))
    rows["new_feature_usage"] = np.where(recent, new_signal, np.nan)
    p = 1 / (1 + np.exp(-(-3 + 2.5 * rows["usage_drop"] + 2.5 * new_signal)))
    rows.loc[recent, "label"] = (rng.random(len(rows)) < p)[recent].astype(float)
    features = build_features(rows)

    refit = train_churn_model(features, horizon_days=90)
    first = train_churn_model(features, horizon_days=90, model=ChurnModel(refit=False))

    model = refit.model
    assert model.n_trees_ == model.best_iteration_ == refit.card["params"]["trees"]
    assert model.booster_.booster_.num_trees() == model.n_trees_
    assert refit.card["params"]["refit_on_train_and_calibration"] is True
    assert first.model.n_trees_ == first.model.best_iteration_
    # only the refit trees saw the new signal: they rank the later test rows far better
    metrics = {n: r.card["metrics"]["model"] for n, r in (("refit", refit), ("first", first))}
    auc = {n: m["roc_auc"] for n, m in metrics.items()}
    assert auc["refit"] > auc["first"] + 0.05, auc
    gains = {d["feature"]: d["gain"] for d in refit.model.importance()}
    assert gains["new_feature_usage"] > 5 * max(gains["noise_1"], gains["noise_2"])
    assert "new_feature_usage" not in {d["feature"] for d in first.model.importance() if d["gain"]}


def test_a_model_stored_before_the_refit_existed_still_predicts() -> None:
    rows = signal_rows(accounts=300, months=18, seed=6)
    model = train_churn_model(build_features(rows), horizon_days=60).model
    x = model.prepare(rows.head(20))
    expected = model.booster_.predict(x, raw_score=True, num_iteration=model.n_trees_)
    del model.n_trees_  # what a version stored by an earlier release lacks
    model.best_iteration_ = model.booster_.booster_.num_trees()
    np.testing.assert_allclose(model.raw_score(x), expected)
    assert model.contributions(x).shape == (20, len(model.features_))
