"""Retention economics: Company A (95 % a year) against Company B (80 %)."""

from __future__ import annotations

import pytest

from keepwell.core.errors import InputError
from keepwell.revenue.simulator import Renewal, Scenario, compare, customer_value, simulate


def test_constant_monthly_survival_by_hand() -> None:
    s = Scenario(new_per_month=10, mrr=1000, cac=12000, retention=0.95, months=2)
    m = 0.95 ** (1 / 12)
    r = simulate(s)
    assert r.active == pytest.approx(10 * m**2 + 10 * m)
    assert r.lost == pytest.approx(20 - r.active)
    assert r.cumulative_revenue == pytest.approx(1000 * (10 + 10 * m + 10))
    assert r.mrr == pytest.approx(1000 * r.active)
    assert r.ltv == pytest.approx(1000 / (1 - m))
    assert r.cumulative_acquisition_spend == 240_000


def test_company_a_is_worth_far_more_after_five_years() -> None:
    result = compare(Scenario(retention=0.95), Scenario(retention=0.80))
    a, b = result["a"], result["b"]
    assert a["acquired"] == b["acquired"] == 600
    assert a["active"] > b["active"] * 1.2
    assert result["difference"]["valuation"] == pytest.approx(a["valuation"] - b["valuation"])
    assert a["ltv_to_cac"] > 3 * b["ltv_to_cac"]
    a_rows = [r for r in result["sensitivity"] if r["scenario"] == "a"]
    assert [r["points"] for r in a_rows] == [0, 1, 2]
    assert a_rows[0]["valuation"] < a_rows[1]["valuation"] < a_rows[2]["valuation"]
    assert a_rows[0]["valuation_dcf"] < a_rows[1]["valuation_dcf"] < a_rows[2]["valuation_dcf"]


def test_annual_renewal_applies_retention_on_anniversaries() -> None:
    r = simulate(Scenario(new_per_month=1, retention=0.5, months=12, renewal=Renewal.ANNUAL))
    # only the first cohort reached its anniversary: half of it left
    assert r.lost == pytest.approx(0.5)
    assert r.active == pytest.approx(11.5)


def test_ltv_undefined_when_nobody_leaves() -> None:
    assert simulate(Scenario(retention=1.0)).ltv is None


def test_bad_retention_is_rejected() -> None:
    with pytest.raises(InputError):
        simulate(Scenario(retention=1.5))


def test_dcf_of_one_customer_by_hand() -> None:
    s = Scenario(new_per_month=1, mrr=1000, retention=0.95, months=1, gross_margin=0.8)
    kept = 0.95 ** (1 / 12)  # survived the first month end
    v = 1.1 ** (-1 / 12)
    # from next month on: 1000 x 0.8 a month while staying (kept^(k-1)), discounted v^k
    expected = kept * 1000 * 0.8 * v / (1 - kept * v)
    assert simulate(s).valuation_dcf == pytest.approx(expected, rel=1e-12)


def test_annual_dcf_closed_form_equals_the_long_sum() -> None:
    s = Scenario(retention=0.9, expansion=0.05, renewal=Renewal.ANNUAL, discount_rate=0.12)
    g, v = 1.05 ** (1 / 12), 1.12 ** (-1 / 12)
    for age in (0, 4, 11, 12, 30):
        total, alive = 0.0, 1.0
        for k in range(1, 12 * 400):
            total += alive * g ** (k - 1) * v**k
            if (age + k + 1) % 12 == 0:
                alive *= 0.9
        assert customer_value(s, age) == pytest.approx(total, rel=1e-9)


def test_dcf_value_is_undefined_when_customers_outgrow_the_discount_rate() -> None:
    s = Scenario(retention=1.0, expansion=0.2, discount_rate=0.1)
    assert simulate(s).valuation_dcf is None


def test_two_retention_points_move_the_dcf_value_about_20_percent() -> None:
    """The seed's scenario (A 95 % vs B 80 %): A vs B stays as it was, and the DCF value
    answers +2 points of retention with about +20 % where ARR x 5 gives about +5 %."""
    result = compare(Scenario(retention=0.95), Scenario(retention=0.80))
    assert result["a"]["valuation"] == pytest.approx(31_686_377.1969, rel=1e-9)
    assert result["b"]["valuation"] == pytest.approx(21_492_157.3854, rel=1e-9)
    assert result["a"]["valuation_dcf"] > 3 * result["b"]["valuation_dcf"]
    rows = {(r["scenario"], r["points"]): r for r in result["sensitivity"]}
    assert rows["a", 2]["retention"] == 0.97
    assert rows["a", 2]["dcf_change"] == pytest.approx(0.2258, abs=1e-4)
    assert rows["a", 2]["multiple_change"] == pytest.approx(0.0525, abs=1e-4)
    assert rows["a", 0]["dcf_change"] == 0
