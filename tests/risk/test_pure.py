"""Pure pieces of the risk slice: metrics, drivers in words, contract terms, forecast
buckets, the ideal customer profile and prospect fit."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from keepwell.risk import forecast, icp, metrics, outcomes
from keepwell.risk.drivers import phrase, top_drivers
from keepwell.risk.features import KNOWN_AT, build_features, shift_months
from keepwell.risk.prospects import score_prospects
from keepwell.risk.terms import (
    CONTRACT_COLUMNS,
    contract_features,
    contract_frame,
    contract_history,
    is_term_end,
    next_anniversary,
)


def test_metrics_of_a_perfect_and_a_useless_scorer() -> None:
    y = np.array([0, 0, 0, 0, 1] * 20, dtype=float)
    perfect = metrics.evaluate(y * 0.9 + 0.05, y)
    assert perfect["roc_auc"] == 1.0
    assert perfect["pr_auc"] == pytest.approx(1.0)
    assert perfect["top_decile_lift"] == pytest.approx(5.0)
    assert perfect["brier"] == pytest.approx(0.0025)
    flat = metrics.evaluate(np.full(100, 0.2), y)
    assert flat["roc_auc"] == 0.5
    assert flat["ece"] == pytest.approx(0.0)  # 0.2 is the base rate: calibrated
    assert sum(r["rows"] for r in flat["calibration"]) == 100


def test_expected_calibration_error_weights_the_gaps_by_rows() -> None:
    table = [
        {"rows": 30, "mean_predicted": 0.1, "observed_rate": 0.2},
        {"rows": 10, "mean_predicted": 0.5, "observed_rate": 0.5},
    ]
    assert metrics.expected_calibration_error(table) == pytest.approx(30 * 0.1 / 40)


def test_drivers_speak_like_a_csm() -> None:
    assert phrase("active_users_trend_30d", -0.4) == "active users fell 40% in 30 days"
    assert phrase("has_sponsor", 0.0) == "no sponsor"
    assert phrase("max_days_past_due", 45.0) == "an invoice 45 days past due"
    assert phrase("industry", "Retail") == "industry is Retail"
    assert phrase("nps_180d", float("nan")) == "no data for nps 180d"
    drivers = top_drivers(
        ["has_sponsor", "active_users_trend_30d", "tenure_days"],
        [0.0, -0.4, 800.0],
        [0.3, 0.9, -0.5],
    )
    assert [d["text"] for d in drivers] == ["active users fell 40% in 30 days", "no sponsor"]


def test_shift_months_keeps_month_ends_and_clamps() -> None:
    assert shift_months(date(2025, 5, 31), -3) == date(2025, 2, 28)
    assert shift_months(date(2025, 2, 28), 3) == date(2025, 5, 31)
    assert shift_months(date(2025, 5, 30), -3) == date(2025, 2, 28)
    assert shift_months(date(2025, 1, 15), -1) == date(2024, 12, 15)


def test_renewal_dates_are_only_known_when_they_close_a_term() -> None:
    assert is_term_end(date(2024, 3, 10), date(2025, 3, 10))
    assert is_term_end(date(2024, 3, 10), date(2027, 3, 10))
    assert not is_term_end(date(2021, 6, 13), date(2025, 8, 13))
    assert next_anniversary(date(2021, 6, 13), date(2025, 6, 30)) == date(2026, 6, 13)
    subs = pd.DataFrame(
        [
            # an auto-renewed line that stopped on 2025-08-13: not a term end
            ["A", "core", 100.0, date(2021, 6, 13), date(2025, 8, 13), True],
            # a one-year term, known at signing
            ["B", "core", 100.0, date(2025, 1, 1), date(2026, 1, 1), False],
            ["B", "addon", 300.0, date(2025, 1, 1), None, True],
        ],
        columns=["account_id", "product", "mrr", "starts_on", "ends_on", "auto_renew"],
    )
    day = date(2025, 3, 31)
    f = contract_features(subs, day)
    assert f["A"][KNOWN_AT + "days_to_renewal"] == date(2025, 8, 13)  # after the day
    assert f["A"]["days_to_known_renewal"] == (date(2025, 6, 13) - day).days
    assert f["B"][KNOWN_AT + "days_to_renewal"] == date(2025, 1, 1)
    assert f["B"]["days_to_known_renewal"] == (date(2026, 1, 1) - day).days
    assert f["B"]["auto_renew_share"] == pytest.approx(0.75)
    assert f["B"]["open_ended_share"] == pytest.approx(0.75)
    rows = pd.DataFrame(
        [{"account_id": a, "snapshot": day, "days_to_renewal": 10.0, **v} for a, v in f.items()]
    )
    assert "days_to_renewal" in build_features(rows).excluded


def test_forecast_buckets_and_expected_arr() -> None:
    assert forecast.bucket(0.05) == "commit"
    assert forecast.bucket(0.10) == "likely"
    assert forecast.bucket(0.30) == "at risk"
    assert forecast.bucket(None) == "unscored"
    lines = forecast.forecast_lines(
        [
            {"account_id": "A", "arr": 1000},
            {"account_id": "B", "arr": 2000},
            {"account_id": "C", "arr": 5},
        ],
        {"A": 0.05, "B": 0.5},
    )
    assert [ln["expected_arr"] for ln in lines] == [pytest.approx(950), pytest.approx(1000), 0.0]
    totals = {r["bucket"]: r for r in forecast.bucket_totals(lines)}
    assert totals["at risk"]["arr"] == 2000
    assert totals["unscored"]["lines"] == 1
    past = forecast.with_outcomes(
        [{"account_id": "A", "expiring_mrr": 100, "successor_mrr": 150, "outcome": "expanded"}],
        {"A": 0.2},
    )
    assert past[0]["actual_arr"] == 1200  # gross: capped at the expiring MRR
    assert past[0]["expected_arr"] == pytest.approx(960)


def test_wilson_interval_matches_the_textbook() -> None:
    low, high = icp.wilson(5, 20)
    assert low == pytest.approx(0.1119, abs=1e-3)
    assert high == pytest.approx(0.4687, abs=1e-3)
    assert icp.wilson(0, 0) == (None, None)


def test_icp_groups_with_nrr_grr_churn_and_small_flags() -> None:
    accounts = pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(40)],
            "industry": ["Software"] * 35 + ["Retail"] * 5,
            "employees": [20] * 20 + [500] * 20,
            "mrr_start": [100.0] * 40,
            "mrr_end": [150.0] * 30 + [50.0] * 5 + [0.0] * 5,
        }
    )
    rows = {(r["dimension"], r["group"]): r for r in icp.profile(accounts)}
    software, retail = rows[("industry", "Software")], rows[("industry", "Retail")]
    assert software["nrr"] == pytest.approx((30 * 150 + 5 * 50) / 3500)
    assert software["grr"] == pytest.approx((30 * 100 + 5 * 50) / 3500)
    assert software["nrr_low"] <= software["nrr"] <= software["nrr_high"]
    assert retail["logo_churn"] == 1.0
    assert retail["small"]
    assert not software["small"]
    assert rows[("size", "1-49")]["accounts"] == 20


def test_prospect_fit_learns_which_industry_succeeds() -> None:
    rng = np.random.default_rng(0)
    n = 200
    industry = rng.choice(["Software", "Retail"], size=n)
    customers = pd.DataFrame(
        {
            "account_id": [f"C{i}" for i in range(n)],
            "name": "x",
            "industry": industry,
            "employees": rng.integers(10, 1000, size=n),
            "plan_tier": "gold",  # filled for customers only: not a prospect attribute
            "success": np.where(industry == "Software", rng.random(n) < 0.9, rng.random(n) < 0.2),
        }
    ).astype({"success": float})
    prospects = pd.DataFrame(
        {
            "account_id": ["P1", "P2"],
            "name": ["Soft Co", "Shop Co"],
            "industry": ["Software", "Retail"],
            "employees": [100, 100],
            "plan_tier": [None, None],
        }
    )
    result = score_prospects(customers, prospects)
    assert "plan_tier" not in result["attributes"]
    assert result["cv_roc_auc"] > 0.75
    best, worst = result["prospects"]
    assert (best["account_id"], worst["account_id"]) == ("P1", "P2")
    assert best["fit_score"] > 60 > worst["fit_score"]
    assert best["explanation"][0]["attribute"] == "industry"
    assert "raises fit" in best["explanation"][0]["text"]


def test_a_month_to_month_line_is_open_ended_until_it_stops() -> None:
    """The end date a churner's month-to-month line carries in the data was not known
    before it stopped: on earlier days the line is as open-ended as a survivor's."""
    subs = pd.DataFrame(
        [
            ["STAY", "core", 100.0, date(2024, 1, 5), None, True],
            ["GONE", "core", 100.0, date(2024, 1, 5), date(2025, 5, 5), True],
            ["TERM", "core", 100.0, date(2025, 1, 1), date(2026, 1, 1), False],
        ],
        columns=["account_id", "product", "mrr", "starts_on", "ends_on", "auto_renew"],
    )
    f = contract_features(subs, date(2025, 3, 31))
    assert f["STAY"]["open_ended_share"] == f["GONE"]["open_ended_share"] == 1.0
    assert f["TERM"]["open_ended_share"] == 0.0  # a term end is known at signing
    assert {k: v for k, v in f["STAY"].items() if not k.startswith(KNOWN_AT)} == {
        k: v for k, v in f["GONE"].items() if not k.startswith(KNOWN_AT)
    }


def test_success_is_a_renewal_outcome_with_terms_and_retention_without() -> None:
    """Accounts with renewal dates by their renewals; month-to-month accounts by whether
    they still pay twelve months after their first month end with MRR, once known."""
    subs = pd.DataFrame(
        [
            ["ANNUAL", date(2023, 2, 1), date(2024, 2, 1)],  # closes a year: on terms
            ["ANNUAL", date(2024, 2, 1), None],
            ["STAYED", date(2023, 3, 10), None],
            ["LEFT", date(2023, 3, 10), date(2023, 11, 10)],
            ["LATE", date(2023, 3, 10), date(2024, 6, 10)],  # left after the horizon
            ["YOUNG", date(2025, 2, 10), None],
            ["YOUNG_GONE", date(2025, 2, 10), date(2025, 4, 10)],
            ["BACK", date(2023, 3, 10), date(2023, 6, 10)],
            ["BACK", date(2023, 9, 10), None],  # came back: the churn still counts
        ],
        columns=["account_id", "starts_on", "ends_on"],
    )
    renewals = [
        {"account_id": "ANNUAL", "outcome": "renewed"},
        {"account_id": "LEFT", "outcome": "churned"},  # a stop, not a renewal: ignored
    ]
    e = date(2023, 3, 31)
    lifetimes = {
        "ANNUAL": (date(2023, 2, 28), None),
        "STAYED": (e, None),
        "LEFT": (e, date(2023, 11, 30)),
        "LATE": (e, date(2024, 6, 30)),
        "YOUNG": (date(2025, 2, 28), None),
        "YOUNG_GONE": (date(2025, 2, 28), date(2025, 4, 30)),
        "BACK": (e, date(2023, 6, 30)),
    }
    assert outcomes.accounts_on_terms(subs) == {"ANNUAL"}
    labels = outcomes.success_labels(subs, renewals, lifetimes, date(2025, 6, 30))
    assert labels.success == {
        "ANNUAL": True,
        "STAYED": True,
        "LEFT": False,
        "LATE": True,  # still paying at the horizon (2024-03-31)
        "BACK": False,
    }
    assert labels.basis["ANNUAL"] == outcomes.RENEWALS
    assert {labels.basis[a] for a in ("STAYED", "LEFT", "LATE", "BACK")} == {outcomes.RETAINED}
    # the horizon ends on the month end twelve months on, and must be known
    assert outcomes.retained_labels({"X": (e, None)}, date(2024, 3, 30)) == {}
    assert outcomes.retained_labels({"X": (e, date(2024, 3, 31))}, date(2024, 3, 31)) == {
        "X": False
    }


def test_a_mid_term_change_keeps_the_contract_end_it_was_co_termed_with() -> None:
    """An annual contract changed mid-term: the new line ends with the contract, which
    was known when the change started, so it is neither open-ended nor unknown."""
    subs = pd.DataFrame(
        [
            ["A", "core", 100.0, date(2025, 1, 10), date(2025, 5, 20), False],
            ["A", "core", 150.0, date(2025, 5, 20), date(2026, 1, 10), False],
        ],
        columns=["account_id", "product", "mrr", "starts_on", "ends_on", "auto_renew"],
    )
    day = date(2025, 6, 30)
    f = contract_features(subs, day)["A"]
    assert f["open_ended_share"] == 0.0
    assert f["days_to_known_renewal"] == (date(2026, 1, 10) - day).days
    assert f[KNOWN_AT + "days_to_renewal"] == date(2025, 5, 20)  # known since the change


def test_contract_features_column_wise_equal_the_per_account_ones() -> None:
    """The training history computes contract features for a million account-days as
    columns: each must equal :func:`contract_history`'s, exactly (sums of 8 lines or
    more, ties on the earliest end, a 29 February start, no product, no MRR)."""
    lines = [
        ["A", "core", 100.1, date(2020, 2, 29), None, True],
        ["A", "addon", 33.3, date(2024, 1, 5), date(2025, 1, 5), False],  # a term
        ["A", None, 12.7, date(2024, 2, 1), date(2025, 1, 5), True],  # ties, not a term
        ["B", "core", 0.0, date(2024, 6, 30), None, False],  # no MRR at all
        ["C", "core", 100.0, date(2024, 1, 5), date(2024, 9, 5), True],  # stopped
        ["C", "core", 80.0, date(2024, 9, 5), None, False],
    ]
    # 11 lines: summed as numpy sums 8 or more values, not one after the other
    lines += [
        ["D", f"p{i % 3}", round(62.16 / (i + 3) + i / 10, 2), date(2024, 1, 1 + i), None, i % 2]
        for i in range(11)
    ]  # fmt: skip
    subs = pd.DataFrame(
        lines, columns=["account_id", "product", "mrr", "starts_on", "ends_on", "auto_renew"]
    )
    days = [date(2023, 12, 31), date(2024, 1, 31), date(2024, 2, 29), date(2024, 8, 31),
            date(2024, 9, 30), date(2025, 1, 4), date(2025, 2, 28)]  # fmt: skip
    expected = contract_history(subs, days)
    frame = contract_frame(subs, days)
    got = {
        (row["as_of"], row["account_id"]): {c: row[c] for c in CONTRACT_COLUMNS}
        for row in frame.to_dict("records")
    }
    assert set(got) == {(d, a) for d, per in expected.items() for a in per}
    for (day, account), values in got.items():
        want = expected[day][account]
        assert list(want) == list(CONTRACT_COLUMNS)
        for column, value in want.items():
            same = value == values[column] or (pd.isna(value) and pd.isna(values[column]))
            assert same, (day, account, column, value, values[column])
