"""The rule table: the accounts' rows as the Arrow table the rules are evaluated on."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pyarrow as pa

from keepwell.success.matching import rule_table


def test_rule_table_has_the_columns_and_types_of_the_rows() -> None:
    """Built column by column, it is the table ``pa.Table.from_pylist`` makes of the
    rows (the first row's columns; a key a row lacks is null; ints beside floats are
    floats), with decimals as floats and an all-null column typed by its kind."""
    rows: list[dict[str, Any]] = [
        {"account_id": "a1", "arr": Decimal("1200.50"), "score": 71.5, "band": "green",
         "owner": None, "churn_probability": None, "users": 3, "mixed": 2, "left": True},
        {"account_id": "a2", "arr": Decimal("0"), "band": None, "owner": None,
         "churn_probability": None, "users": None, "mixed": 0.5, "left": False, "extra": 1},
    ]  # fmt: skip
    table = rule_table(rows)
    assert table.column_names == [
        "account_id", "arr", "score", "band", "owner", "churn_probability", "users", "mixed",
        "left",
    ]  # fmt: skip
    assert table.schema.field("arr").type == pa.float64()
    assert table.schema.field("owner").type == pa.string()  # all null, a text column
    assert table.schema.field("churn_probability").type == pa.float64()  # all null, a number
    assert table.schema.field("users").type == pa.int64()
    assert table.schema.field("mixed").type == pa.float64()
    assert table.to_pylist() == [
        {"account_id": "a1", "arr": 1200.5, "score": 71.5, "band": "green", "owner": None,
         "churn_probability": None, "users": 3, "mixed": 2.0, "left": True},
        {"account_id": "a2", "arr": 0.0, "score": None, "band": None, "owner": None,
         "churn_probability": None, "users": None, "mixed": 0.5, "left": False},
    ]  # fmt: skip
