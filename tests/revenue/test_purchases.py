"""Cross-sell and repurchase rates: customers at the start of the period buying another
product (cross-sell) or more / again of one they had (repurchase); renewals and new
logos are neither."""

from __future__ import annotations

from datetime import date

import pytest

from keepwell.revenue import service

from .factories import line, make_book


def _book():  # type: ignore[no-untyped-def]
    return make_book(
        [
            line("1", "a", "100", date(2025, 1, 1), date(2026, 1, 1)),
            line("2", "a", "100", date(2026, 1, 1), date(2027, 1, 1)),  # a renews: neither
            line("3", "b", "100", date(2025, 1, 1)),
            line("4", "b", "50", date(2025, 6, 1), product="addon"),  # cross-sell
            line("5", "c", "100", date(2025, 1, 1)),
            line("6", "c", "30", date(2025, 9, 1)),  # more of core: repurchase
            line("7", "d", "100", date(2025, 5, 1), product="addon"),  # a new logo
            line("8", "e", "100", date(2024, 6, 1)),  # buys nothing
            line("9", "f", "100", date(2024, 1, 1), date(2024, 6, 1)),  # not a customer
            line("10", "f", "100", date(2025, 3, 1)),  # ... then a reactivation: neither
        ]
    )


def test_rates_over_the_twelve_months_before_as_of() -> None:
    s = service.portfolio_summary(None, date(2026, 1, 31), book=_book())  # type: ignore[arg-type]
    assert s.renewal_period_start == date(2025, 2, 1)
    # customers paying on 2025-01-31: a, b, c, e
    assert s.cross_sell_rate == pytest.approx(1 / 4)
    assert s.repurchase_rate == pytest.approx(1 / 4)
    assert s.cross_sell_and_repurchase_rate == pytest.approx(2 / 4)


def test_no_customers_no_rate() -> None:
    book = make_book([line("1", "a", "100", date(2025, 6, 1))])
    s = service.portfolio_summary(None, date(2025, 6, 30), book=book)  # type: ignore[arg-type]
    assert s.cross_sell_rate is None
