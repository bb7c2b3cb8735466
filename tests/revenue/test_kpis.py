"""Summary figures, CMRR and renewals on hand-computed books."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from keepwell.revenue.service import past_renewals, portfolio_summary, upcoming_renewals
from tests.revenue.factories import line, make_book

D = Decimal


@pytest.fixture(scope="module")
def book():
    return make_book(
        [
            line("a1", "a", 100, date(2024, 1, 1)),
            line("b1", "b", 200, date(2024, 1, 1), date(2025, 6, 1)),
            line("c1", "c", 50, date(2024, 6, 1)),
            line("c2", "c", 25, date(2025, 6, 1), product="addon"),
            line("d1", "d", 40, date(2025, 6, 10)),
        ],
        accounts=[
            {"account_id": "a", "category_budget": D(2400)},
            {"account_id": "b"},
            {"account_id": "c", "category_budget": D(1800)},
            {"account_id": "d"},
        ],
    )


def test_monthly_and_ttm_figures(book) -> None:
    s = portfolio_summary(None, date(2025, 6, 30), cac=D(400), book=book)  # type: ignore[arg-type]
    assert s.month == "2025-06"
    assert (s.mrr, s.arr, s.paying_accounts) == (D(215), D(2580), 3)
    assert s.arpa == D("71.666667")
    assert s.logo_churn_rate == pytest.approx(1 / 3)
    assert s.gross_mrr_churn_rate == pytest.approx(200 / 350)
    assert s.nrr_monthly == pytest.approx(175 / 350)
    assert s.grr_monthly == pytest.approx(150 / 350)
    # accounts with MRR at the end of June 2024: a 100, b 200, c 50; new d left out
    assert s.nrr_ttm == pytest.approx((100 + 0 + 75) / 350)
    assert s.grr_ttm == pytest.approx((100 + 0 + 50) / 350)
    assert s.quick_ratio == pytest.approx((40 + 25) / 200)
    assert s.cac_payback_months == pytest.approx(10.0)
    # no churn in the six months before June: LTV undefined
    assert s.ltv is None
    # share of wallet over paying accounts with a budget: (100 + 75) * 12 / (2400 + 1800)
    assert s.share_of_wallet == pytest.approx(2100 / 4200)


def test_quick_ratio_undefined_when_nothing_is_lost(book) -> None:
    s = portfolio_summary(None, date(2025, 5, 31), book=book)  # type: ignore[arg-type]
    assert s.quick_ratio is None
    assert s.gross_mrr_churn_rate == 0.0


def test_ltv_uses_the_six_months_before_the_current_one(book) -> None:
    s = portfolio_summary(None, date(2025, 7, 15), gross_margin=0.8, book=book)  # type: ignore[arg-type]
    assert s.month == "2025-06"  # last complete month
    mean_churn = (1 / 3) / 6  # January..June 2025, churn only in June
    assert s.ltv == (D("71.666667") * D("0.8") / D(str(mean_churn))).quantize(D("0.01"))


def test_cmrr() -> None:
    book = make_book(
        [
            line("x1", "x", 100, date(2024, 1, 1), date(2025, 2, 1), auto_renew=False),
            line("y1", "y", 200, date(2024, 2, 1), date(2025, 3, 1), auto_renew=True),
            line("z1", "z", 300, date(2024, 3, 1), date(2025, 3, 1), auto_renew=False),
            line("z2", "z", 300, date(2025, 3, 20)),
            line("w1", "w", 50, date(2024, 1, 1), date(2025, 4, 1), auto_renew=False),
            line("w2", "w", 50, date(2025, 4, 25)),
            line("n1", "n", 70, date(2025, 2, 1)),
            line("q1", "q", 10, date(2025, 5, 1)),
        ]
    )
    s = portfolio_summary(None, date(2025, 1, 15), book=book)  # type: ignore[arg-type]
    # 650 active + 370 starting (z2, n1) - 400 lapsing (x1) or replaced (z1)
    assert s.mrr == D(650)
    assert s.cmrr == D(620)


@pytest.fixture(scope="module")
def renewal_book():
    end = date(2025, 3, 1)
    return make_book(
        [
            line("r1", "r", 100, date(2024, 3, 1), end),
            line("r2", "r", 120, date(2025, 3, 26)),  # 25 days late: inside the grace
            line("s1", "s", 100, date(2024, 3, 1), end),
            line("s2", "s", 100, date(2025, 4, 5)),  # 35 days late: outside
            line("t1", "t", 100, date(2024, 3, 1), end),
            line("t2", "t", 80, date(2025, 2, 9)),  # 20 days early, smaller
            line("u1", "u", 100, date(2024, 3, 1), end),
            line("u2", "u", 100, end, product="addon"),  # another product
            line("v1", "v", 100, date(2024, 3, 1), end, auto_renew=True),
            line("v2", "v", 100, end),
        ]
    )


def test_past_renewal_outcomes(renewal_book) -> None:
    rows = past_renewals(None, date(2025, 3, 1), date(2025, 3, 1), book=renewal_book)  # type: ignore[arg-type]
    outcomes = {r["account_id"]: r["outcome"] for r in rows}
    assert outcomes == {
        "r": "expanded",
        "s": "churned",
        "t": "contracted",
        "u": "churned",
        "v": "renewed",
    }


def test_renewal_rates(renewal_book) -> None:
    s = portfolio_summary(None, date(2025, 3, 31), renewal_days=31, book=renewal_book)  # type: ignore[arg-type]
    assert s.logo_renewal_rate == pytest.approx(3 / 5)
    assert s.gross_dollar_renewal_rate == pytest.approx((100 + 80 + 100) / 500)
    assert s.net_dollar_renewal_rate == pytest.approx((120 + 80 + 100) / 500)


def test_upcoming_renewals(renewal_book) -> None:
    rows = upcoming_renewals(None, date(2025, 2, 1), 30, book=renewal_book)  # type: ignore[arg-type]
    assert {r["account_id"]: r["has_successor"] for r in rows} == {
        "r": True,
        "s": False,
        "t": True,
        "u": False,
        "v": True,
    }
    assert rows[0]["arr"] == D(1200)
    assert upcoming_renewals(None, date(2025, 2, 1), 27, book=renewal_book) == []  # type: ignore[arg-type]
