"""Money at realistic extremes is exact on every engine: lines of 10,000,000 a month in
a second currency converted and summed past 10^12 minor units (DECIMAL(18) overflowed
on DuckDB from a 9,300 EUR line at 1.08)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import ibis
import pyarrow as pa

from keepwell.revenue.ledger import converted_lines, month_index, mrr_at, mrr_changes
from keepwell.revenue.movements import movement_amounts

from .conftest import Engine
from .data import FX_SCHEMA, SUBSCRIPTIONS_SCHEMA

BIG = 1100
# 10,000,000 x 1.08123457 = 10,812,345.7; 9,300.123457 x 1.08123457 =
# 10,055.61498697630849, rounded half up to 6 places: 10,055.614987
BIG_USD, SMALL_USD = Decimal("10812345.7"), Decimal("10055.614987")
TOTAL = BIG * BIG_USD + SMALL_USD


def _subscriptions() -> pa.Table:
    def row(line_id: str, mrr: str, end: date | None) -> dict[str, object]:
        return {
            "line_id": line_id,
            "account_id": line_id,
            "product": "core",
            "mrr": Decimal(mrr),
            "currency": "EUR",
            "quantity": 1,
            "starts_on": date(2025, 1, 1),
            "ends_on": end,
            "auto_renew": None,
        }

    rows = [row(f"b{i:04d}", "10000000", None) for i in range(BIG)]
    rows.append(row("small", "9300.123457", date(2025, 3, 1)))
    return pa.Table.from_pylist(rows, schema=SUBSCRIPTIONS_SCHEMA)


def test_big_money_is_exact_on_every_engine(engine: Engine) -> None:
    subs = engine.put("kw_subscriptions", _subscriptions())
    fx = pa.table(
        {"currency": ["EUR"], "month": [date(2025, 1, 1)], "rate": [Decimal("1.08123457")]},
        schema=FX_SCHEMA,
    )
    lines = converted_lines(subs, engine.put("kw_fx_rates", fx), "USD")
    converted = {r["line_id"]: r["mrr"] for r in engine.rows(lines)}
    assert converted["small"] == SMALL_USD
    assert {v for k, v in converted.items() if k != "small"} == {BIG_USD}
    total = lines.mutate(k=ibis.literal("all"))
    jan = engine.rows(mrr_at(total, month_index(date(2025, 1, 1)), ("k",)))
    assert jan == [{"k": "all", "mrr": TOTAL}]
    assert TOTAL * 100 > 10**12
    changes = mrr_changes(lines)
    amounts = engine.rows(movement_amounts(changes.mutate(group=ibis.literal("all"))))
    by_month = {r["m"]: r for r in amounts}
    assert by_month[month_index(date(2025, 1, 1))]["new"] == TOTAL
    assert by_month[month_index(date(2025, 3, 1))]["churn"] == -SMALL_USD
