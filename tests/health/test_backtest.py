"""The back-test: AUC, outcomes, weight suggestions, and a run on hand-made data."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest

from keepwell.health.backtest import (
    month_ends,
    outcomes,
    run_backtest,
    usage_measures,
    usage_only_score,
)
from keepwell.health.backtest_stats import LogisticWeights, roc_auc
from keepwell.health.config import default_config_text, parse_config
from keepwell.health.measures import MeasureInputs
from keepwell.health.scorecard import score_portfolio

from .factories import empty, rollup, table


def test_roc_auc() -> None:
    assert roc_auc([0.9, 0.8, 0.1, 0.2], [True, True, False, False]) == 1.0
    assert roc_auc([0.1, 0.2, 0.9, 0.8], [True, True, False, False]) == 0.0
    assert roc_auc([0.5, 0.5, 0.5], [True, False, False]) == 0.5
    assert roc_auc([0.3, 0.7, 0.5], [False, True, False]) == 1.0
    assert roc_auc([0.1, 0.2], [False, False]) is None


def test_logistic_weights_favour_the_protective_measure() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 100, size=(2000, 3))
    x[rng.uniform(size=2000) < 0.1, 2] = np.nan  # missing values are imputed
    risk = 1 / (1 + np.exp(-(2 - 0.06 * x[:, 0])))
    y = rng.uniform(size=2000) < risk
    model = LogisticWeights(penalty=0.01).fit(x, y, ["usage", "noise", "gappy"])
    summary = model.summary()
    assert summary[0]["measure"] == "usage"
    assert summary[0]["suggested_weight"] > 80
    assert sum(r["suggested_weight"] for r in summary) == pytest.approx(100)
    assert roc_auc(model.predict_risk(x), y) > 0.75


def test_month_ends() -> None:
    assert month_ends(date(2024, 11, 1), date(2025, 2, 1)) == [
        date(2024, 11, 30), date(2024, 12, 31), date(2025, 1, 31), date(2025, 2, 28),
    ]  # fmt: skip


def _line(account: str, mrr: float, starts: date, ends: date | None = None) -> dict[str, Any]:
    return {"line_id": f"{account}-{starts}", "account_id": account, "product": "p",
            "mrr": mrr, "quantity": 10, "starts_on": starts, "ends_on": ends}  # fmt: skip


def test_outcomes_churn_and_contraction() -> None:
    start = date(2024, 1, 1)
    subs = table(
        "subscriptions",
        [
            _line("churns", 100, start, date(2025, 3, 1)),
            _line("shrinks", 100, start, date(2025, 2, 1)),
            _line("shrinks", 50, date(2025, 2, 1)),
            _line("steady", 100, start),
            _line("gap", 100, start, date(2025, 2, 10)),  # a gap inside a month: not seen
            _line("gap", 100, date(2025, 2, 20)),
        ],
    )
    result = outcomes(subs, date(2024, 12, 31), 90)
    assert result == {
        "churns": (True, False),
        "shrinks": (False, True),
        "steady": (False, False),
        "gap": (False, False),
    }


KEY_FEATURES = ("integration_synced", "report_created", "workflow_automated")
OTHER_ENTITIES = ("contacts", "invoices", "tickets", "surveys", "activities")


def _inputs() -> MeasureInputs:
    """Ten customers: five busy and staying, five barely used and churning in April."""
    start = date(2024, 1, 1)
    accounts, subs, events = [], [], []
    for i in range(10):
        account, healthy = f"A{i}", i < 5
        accounts.append({"account_id": account, "name": account, "is_prospect": False})
        subs.append(_line(account, 1000, start, None if healthy else date(2025, 4, 15)))
        day = date(2024, 9, 1)
        while day < date(2025, 4, 15):
            users = 9 if healthy else 1
            events += [(day, account, f"{account}-u{u}", "login", 3) for u in range(users)]
            if healthy:  # busy accounts use the key features too
                events += [(day, account, f"{account}-u0", e, 1) for e in KEY_FEATURES]
            day += timedelta(days=1 if healthy else 6)
    return MeasureInputs(
        rollup=rollup(events),
        accounts=table("accounts", accounts),
        subscriptions=table("subscriptions", subs),
        **{name: empty(name) for name in OTHER_ENTITIES},
    )


def test_run_backtest_on_a_clear_cut_portfolio() -> None:
    config = parse_config(default_config_text())
    months = month_ends(date(2024, 12, 1), date(2025, 3, 1))
    report = run_backtest(_inputs(), config, months, 120, until := date(2025, 7, 15))
    assert report.months == [date(2024, 12, 31), date(2025, 1, 31), date(2025, 2, 28)]
    assert report.skipped_months == [date(2025, 3, 31)]  # 120 days later is past `until`
    assert until == date(2025, 7, 15)
    assert report.observations == 30
    assert report.auc_churn == 1.0
    assert report.usage_only_auc_churn == 1.0
    assert report.churn_rate == pytest.approx(0.5)
    rates = {b["band"]: b["churn_rate"] for b in report.bands}
    assert rates["green"] == 0.0
    assert max(r for r in rates.values() if r is not None) == 1.0  # the churners' band
    assert report.holdout["auc_current_weights"] == 1.0
    assert {m["measure"] for m in report.measures} >= {"license_utilization"}
    top = next(m for m in report.measures if m["measure"] == "license_utilization")
    assert top["direction"] == "lower, more churn"


MIXED = """\
segments: [{name: all, rule: "true"}]
measures:
  custom:
    - {name: reports_30d, events: [report_created], window_days: 30}
scorecards:
  default:
    groups:
      - name: product
        weight: 3
        measures:
          - {measure: active_users_30d, weight: 1, red: 2, green: 10}
          - {measure: nps_180d, weight: 1, red: -30, green: 30}
      - name: other
        weight: 1
        measures:
          - {measure: reports_30d, weight: 1, red: 1, green: 5}
          - {measure: late_share_180d, weight: 1, red: 0.3, green: 0.0}
"""


def test_usage_only_score_keeps_the_usage_measures_wherever_they_are_grouped() -> None:
    config = parse_config(MIXED)
    assert {"active_users_30d", "reports_30d"} <= usage_measures(config)
    assert not {"nps_180d", "late_share_180d"} & usage_measures(config)
    row = {
        "account_id": "A",
        "segment": "all",
        "active_users_30d": 10,  # 75 points, effective weight 3/4 · 1/2
        "nps_180d": -90,  # 25 points: not usage
        "reports_30d": 1,  # 50 points, effective weight 1/4 · 1/2
        "late_share_180d": 0.9,  # 0 points: not usage
    }
    (score,) = score_portfolio([row], config)
    assert score.score == pytest.approx((3 * (75 + 25) / 2 + 1 * (50 + 0) / 2) / 4)
    assert usage_only_score(score, usage_measures(config)) == pytest.approx(
        (0.375 * 75 + 0.125 * 50) / 0.5
    )
    (nothing,) = score_portfolio([{"account_id": "B", "segment": "all", "nps_180d": 0}], config)
    assert usage_only_score(nothing, usage_measures(config)) is None


def test_usage_only_comparison_is_on_the_same_account_months() -> None:
    config = parse_config(default_config_text())
    months = month_ends(date(2024, 12, 1), date(2025, 2, 1))
    report = run_backtest(_inputs(), config, months, 120, date(2025, 7, 15))
    assert report.observations == 30
    assert report.usage_only_auc_churn == 1.0
    assert report.usage_only_auc_churn_or_contraction == 1.0
    # only usage data: the usage-only score is the full score, account-month by account-month
    assert report.usage_only_red_lift == report.red_lift
    assert report.usage_only_auc_churn == report.auc_churn
