"""SQL templates: compiled once, run with other values, equal to compiling each time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir
import pytest

from keepwell.core.compiled import compile_template, sql_literal
from keepwell.revenue import book as book_module
from keepwell.revenue.service import portfolio_summary
from tests.revenue.factories import line, make_book


def test_literals_are_standard_sql() -> None:
    assert sql_literal(date(2025, 1, 31)) == "CAST('2025-01-31' AS DATE)"
    assert sql_literal(-12) == "-12"
    assert sql_literal("O'Brien") == "'O''Brien'"
    with pytest.raises(TypeError):
        sql_literal(True)


def test_a_template_runs_with_other_values_like_a_fresh_compile() -> None:
    book = make_book(
        [
            line("a1", "a", 100, date(2024, 1, 1), date(2024, 6, 1)),
            line("b1", "b", 200, date(2024, 3, 15)),
            line("c1", "c", 50, date(2024, 5, 31), date(2024, 7, 1), product="x'y"),
        ]
    )

    def build(v: Mapping[str, Any]) -> ir.Table:
        lines = book.lines
        active = (lines.starts_on <= v["day"]) & (
            lines.ends_on.isnull() | (lines.ends_on > v["day"] + timedelta(days=1))
        )
        picked = lines.filter(
            active & (lines.start_m >= v["month"] - 1) & (lines.product != v["p"])
        )
        return picked.aggregate(n=picked.count(), mrr=picked.mrr.sum())

    template = compile_template(build, {"day": date(2000, 1, 1), "month": 0, "p": "z"}, "duckdb")
    for day in (date(2024, 3, 31), date(2024, 5, 31), date(2024, 6, 30)):
        for product in ("core", "x'y"):
            values = {"day": day, "month": 2024 * 12 + 1, "p": product}
            got = book.con.con.sql(template.render(values)).fetchall()
            expected = book.rows(build(values))[0]
            assert got == [(expected["n"], expected["mrr"])], (day, product)


def test_a_value_derived_in_python_is_refused() -> None:
    book = make_book([line("a1", "a", 100, date(2024, 1, 1))])

    def build(v: Mapping[str, Any]) -> ir.Table:
        # the day is shifted in Python: the template could not carry another day
        day = v["day"] if isinstance(v["day"], date) else date(1111, 11, 11)
        return book.lines.filter(book.lines.starts_on <= day + timedelta(days=30))

    with pytest.raises(ValueError, match="placeholder"):
        compile_template(build, {"day": date(2024, 1, 1)}, "duckdb")


def test_an_in_memory_table_is_refused() -> None:
    def build(v: Mapping[str, Any]) -> ir.Table:
        return ibis.memtable({"x": [1, 2]}).filter(lambda t: t.x > v["n"])

    with pytest.raises(ValueError, match="in-memory"):
        compile_template(build, {"n": 1}, "duckdb")


def test_the_summary_template_serves_other_books_and_days() -> None:
    lines = [
        line("a1", "a", 100, date(2024, 1, 1)),
        line("b1", "b", 200, date(2024, 1, 1), date(2025, 6, 1), auto_renew=False),
    ]
    first = make_book(lines)
    portfolio_summary(None, date(2025, 5, 31), book=first)  # type: ignore[arg-type]
    compiled = len(book_module._TEMPLATES)
    second = make_book([*lines, line("c1", "c", 40, date(2025, 6, 10))])
    s = portfolio_summary(None, date(2025, 6, 30), book=second)  # type: ignore[arg-type]
    assert len(book_module._TEMPLATES) == compiled  # no new compile
    assert (s.mrr, s.paying_accounts, s.cmrr) == (Decimal(140), 2, Decimal(140))
    before = portfolio_summary(None, date(2025, 5, 31), book=second)  # type: ignore[arg-type]
    # b ends on 2025-06-01 within the 90-day horizon, no auto-renew: CMRR drops it
    assert (before.mrr, before.cmrr) == (Decimal(300), Decimal(140))
