"""Retention economics: Company A (95 % a year) against Company B (80 %)."""

from __future__ import annotations

import pytest

from keepwell.core.errors import InputError
from keepwell.revenue.simulator import Renewal, Scenario, compare, simulate


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
    sens = result["sensitivity"][0]
    assert sens["valuation"] < sens["valuation_plus_1pt"] < sens["valuation_plus_2pt"]


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
