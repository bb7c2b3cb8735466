"""MRR movements on hand-computed ledgers (metrics.md, month-end method)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from keepwell.core.errors import InputError
from keepwell.revenue.service import mrr_movements
from tests.revenue.factories import line, make_book

D = Decimal
KEYS = ("new", "cross_sell", "reactivation", "expansion", "contraction", "churn")


def by_month(book, start=date(2025, 1, 1), end=date(2025, 12, 31), by=None):
    rows = mrr_movements(None, start, end, by, book=book)  # type: ignore[arg-type]
    return {(r["group"], r["month"]): r for r in rows}


def moves(row):
    return {k: row[k] for k in KEYS if row[k] != 0}


def test_every_movement_type_on_one_account() -> None:
    book = make_book(
        [
            line("l1", "a", 100, date(2025, 1, 10), date(2025, 6, 1), product="core"),
            line("l2", "a", 50, date(2025, 3, 1), date(2025, 5, 1), product="addon"),
            line("l3", "a", 80, date(2025, 8, 1), None, product="core"),
        ]
    )
    months = by_month(book)
    assert moves(months["all", "2025-01"]) == {"new": D(100)}
    assert moves(months["all", "2025-02"]) == {}
    assert moves(months["all", "2025-03"]) == {"expansion": D(50)}
    # the add-on stops while core stays: contraction, not churn
    assert moves(months["all", "2025-05"]) == {"contraction": D(-50)}
    assert moves(months["all", "2025-06"]) == {"churn": D(-100)}
    assert months["all", "2025-06"]["churn_accounts"] == 1
    assert months["all", "2025-07"]["ending_mrr"] == 0
    # back after a gap: reactivation, not new
    assert moves(months["all", "2025-08"]) == {"reactivation": D(80)}
    assert months["all", "2025-08"]["reactivation_accounts"] == 1
    assert months["all", "2025-12"]["ending_mrr"] == D(80)


def test_month_end_boundaries() -> None:
    book = make_book(
        [
            # a year from Jan 1st: counts in December 2025, not in January 2026
            line("year", "a", 1000, date(2025, 1, 1), date(2026, 1, 1)),
            # starts on the last day of March: counts in March
            line("lastday", "b", 10, date(2025, 3, 31), None),
            # ends on the last day of April (exclusive): not in April
            line("endlast", "c", 20, date(2025, 2, 1), date(2025, 4, 30)),
            # starts and stops within May: never shows
            line("blip", "d", 30, date(2025, 5, 2), date(2025, 5, 20)),
        ]
    )
    months = by_month(book, end=date(2026, 1, 31))
    assert months["all", "2025-12"]["ending_mrr"] == D(1010)
    assert moves(months["all", "2026-01"]) == {"churn": D(-1000)}
    assert moves(months["all", "2025-03"]) == {"new": D(10)}
    assert moves(months["all", "2025-04"]) == {"churn": D(-20)}
    assert moves(months["all", "2025-05"]) == {}
    assert months["all", "2025-05"]["new_accounts"] == 0


def test_starting_mrr_carries_history_before_the_range() -> None:
    book = make_book([line("l1", "a", 100, date(2024, 6, 1)), line("l2", "b", 7, date(2024, 7, 1))])
    months = by_month(book, start=date(2025, 1, 1), end=date(2025, 2, 28))
    jan = months["all", "2025-01"]
    assert (jan["starting_mrr"], jan["ending_mrr"]) == (D(107), D(107))
    assert (jan["starting_accounts"], jan["ending_accounts"]) == (2, 2)


def test_currency_converts_at_the_start_month_and_rate_changes_are_no_movement() -> None:
    book = make_book(
        [
            line("eur", "a", 100, date(2025, 2, 15), None, currency="EUR"),
            # March has no GBP rate: the latest earlier one (January) applies
            line("gbp", "b", 10, date(2025, 3, 5), None, currency="gbp"),
        ],
        fx=[
            ("EUR", date(2025, 1, 1), "1.05"),
            ("EUR", date(2025, 2, 1), "1.10"),
            ("EUR", date(2025, 3, 1), "1.30"),
            ("GBP", date(2025, 1, 1), "1.25"),
        ],
    )
    months = by_month(book)
    assert moves(months["all", "2025-02"]) == {"new": D("110")}
    assert moves(months["all", "2025-03"]) == {"new": D("12.5")}
    assert all(moves(months["all", f"2025-{m:02d}"]) == {} for m in range(4, 13))
    assert months["all", "2025-12"]["ending_mrr"] == D("122.5")


def test_missing_fx_rate_is_a_clear_error() -> None:
    with pytest.raises(InputError, match=r"no fx rate for EUR in 2025-02"):
        make_book(
            [line("eur", "a", 100, date(2025, 2, 15), None, currency="EUR")],
            fx=[("EUR", date(2025, 3, 1), "1.1")],
        )


def test_grouping_by_product_and_by_attribute() -> None:
    book = make_book(
        [
            line("l1", "a", 100, date(2025, 1, 1), date(2025, 3, 1), product="core"),
            line("l2", "a", 50, date(2025, 2, 1), None, product="addon"),
            line("l3", "b", 30, date(2025, 1, 1), None, product="core"),
        ],
        accounts=[{"account_id": "a", "industry": "retail"}, {"account_id": "b"}],
    )
    products = by_month(book, by="product")
    # per account and product: the core line of "a" churns in March
    assert moves(products["core", "2025-03"]) == {"churn": D(-100)}
    # the addon sold to "a", a customer since January, is a cross-sell, not a new logo
    assert moves(products["addon", "2025-02"]) == {"cross_sell": D(50)}
    assert products["addon", "2025-02"]["new_accounts"] == 0
    assert moves(products["core", "2025-01"]) == {"new": D(130)}
    industries = by_month(book, by="industry")
    assert moves(industries["retail", "2025-03"]) == {"contraction": D(-100)}
    assert industries["(none)", "2025-03"]["ending_mrr"] == D(30)
    with pytest.raises(InputError, match="no column segment"):
        by_month(book, by="segment")


def test_identity_holds_every_month() -> None:
    book = make_book(
        [
            line("l1", "a", "33.333333", date(2025, 1, 3), date(2025, 4, 9)),
            line("l2", "a", "0.01", date(2025, 2, 1), None, product="x"),
            line("l3", "b", "99.99", date(2025, 2, 28), date(2025, 3, 1)),
        ]
    )
    for row in mrr_movements(None, date(2025, 1, 1), date(2025, 12, 1), book=book):  # type: ignore[arg-type]
        total = row["starting_mrr"] + sum(row[k] for k in KEYS)
        assert total == row["ending_mrr"]
