"""The account directory: filters, scope, search, sort, pages and CSV (no I/O)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from keepwell.portfolio.directory import Directory, Filters, page_of, search, to_csv

DAY = date(2026, 3, 1)


def _row(account_id: str, name: str, owner: str, arr: int, renewal: date | None) -> dict[str, Any]:
    return {
        "account_id": account_id, "name": name, "owner": owner, "industry": "Software",
        "country": "DE", "segment": "mid", "stage": "adoption", "band": "green", "score": 70.0,
        "arr": Decimal(arr), "next_renewal": renewal, "renewal_arr": None,
        "text": f"{name}\x00{account_id}".lower(), "is_prospect": False,
    }  # fmt: skip


BOOK = Directory(DAY, None, [
    _row("A1", "Acme", "ann@x", 300, date(2026, 3, 20)),
    _row("B1", "=Beta", "bob@x", 900, None),
    _row("C1", "Cedar", "ann@x", 100, date(2026, 9, 1)),
])  # fmt: skip


def _ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["account_id"] for r in rows]


def test_sort_descending_by_arr() -> None:
    assert _ids(search(BOOK, None, Filters(sort="arr", descending=True))) == ["B1", "A1", "C1"]


def test_scope_limits_to_the_owner_even_when_another_owner_is_asked() -> None:
    assert _ids(search(BOOK, "ann@x", Filters())) == ["A1", "C1"]
    assert _ids(search(BOOK, "ann@x", Filters(owner="bob@x"))) == []


def test_renewal_window_and_search() -> None:
    assert _ids(search(BOOK, None, Filters(renewal_days=30))) == ["A1"]
    assert _ids(search(BOOK, None, Filters(search="CED"))) == ["C1"]


def test_pages_are_clamped() -> None:
    shown, current, pages = page_of(search(BOOK, None, Filters(page=9)), Filters(page=9))
    assert (len(shown), current.page, pages) == (3, 1, 1)


def test_csv_neutralises_formulas() -> None:
    assert "'=Beta" in to_csv(search(BOOK, None, Filters(search="beta")))
