"""The one CSV writer: pure CSV, formula-like text quoted, numbers and decimals exact."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from keepwell.core.csvtext import csv_text


def test_formula_cells_are_quoted_and_numbers_are_not() -> None:
    rows = [
        {"a": '=HYPERLINK("http://evil","x")', "b": Decimal("-2.500000"), "c": "-2+3"},
        {"a": "+cmd", "b": -7, "c": "@SUM(A1)"},
        {"a": "\tx", "b": None, "c": date(2026, 11, 30)},
    ]
    parsed = list(csv.reader(io.StringIO(csv_text(["a", "b", "c"], rows))))
    assert parsed == [
        ["a", "b", "c"],
        ['\'=HYPERLINK("http://evil","x")', "-2.5", "'-2+3"],
        ["'+cmd", "-7", "'@SUM(A1)"],
        ["'\tx", "", "2026-11-30"],
    ]


def test_decimals_are_written_digit_for_digit() -> None:
    text = csv_text(["mrr"], [{"mrr": Decimal("12974824895.614987")}, {"mrr": Decimal("1E+3")}])
    assert text == "mrr\n12974824895.614987\n1000\n"
