"""The same Ibis functions on DuckDB, PostgreSQL and Spark give the same results:
usage measures, custom measures, the MRR ledger and its movements, cohorts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import ibis
import ibis.expr.types as ir
import pytest

from keepwell.health.usage import (
    Aggregation,
    CustomMeasure,
    UsageConfig,
    custom_measure,
    usage_measures,
)
from keepwell.revenue.cohorts import cohort_table
from keepwell.revenue.ledger import converted_lines, month_index, mrr_at, mrr_changes
from keepwell.revenue.movements import ALL, MOVEMENTS, monthly_movements, movement_amounts
from keepwell.revenue.renewal_cohorts import RenewalPeriod, survivor_counts

from . import data
from .compare import same_rows
from .conftest import Engine

CONFIG = UsageConfig(key_features=("report_created", "dashboard_shared"), login_event="login")
CUSTOM = tuple(
    CustomMeasure(f"m_{a}", ("export", "report_created"), 45, a, per_active_user=a == "count")
    for a in Aggregation
)


def _usage(engine: Engine, as_of: date) -> list[dict[str, object]]:
    rollup = engine.put("kw_event_daily", data.rollup_rows())
    return engine.rows(usage_measures(rollup, as_of, CONFIG))


@pytest.mark.parametrize("as_of", [data.AS_OF, date(2024, 7, 19)])
def test_usage_measures_are_identical_on_every_engine(
    engine: Engine, reference: Engine, as_of: date
) -> None:
    expected = _usage(reference, as_of)
    assert {r["account_id"] for r in expected} == set(data.ACCOUNTS)
    same_rows(_usage(engine, as_of), expected, ["account_id"])


def test_custom_measures_are_identical_on_every_engine(engine: Engine, reference: Engine) -> None:
    for measure in CUSTOM:
        results = []
        for e in (engine, reference):
            rollup = e.put("kw_event_daily", data.rollup_rows())
            results.append(e.rows(custom_measure(rollup, data.AS_OF, measure)))
        same_rows(results[0], results[1], ["account_id"])


def _movements(engine: Engine, by_product: bool = False) -> list[dict[str, object]]:
    subs = engine.put("kw_subscriptions", data.subscription_rows())
    fx = engine.put("kw_fx_rates", data.fx_rows())
    lines = converted_lines(subs, fx, "USD")
    key = ("account_id", "product") if by_product else ("account_id",)
    changes = mrr_changes(lines, key)
    group = changes.product if by_product else ibis.literal(ALL)
    amounts = engine.rows(movement_amounts(changes.mutate(group=group)))
    return monthly_movements(amounts, month_index(date(2023, 1, 1)), month_index(data.AS_OF))


@pytest.mark.parametrize("by_product", [False, True])
def test_mrr_movements_are_identical_to_the_cent(
    engine: Engine, reference: Engine, by_product: bool
) -> None:
    expected = _movements(reference, by_product)
    assert any(r["reactivation"] for r in expected)
    assert all(r[m] is not None for r in expected for m in MOVEMENTS)
    same_rows(_movements(engine, by_product), expected, ["group", "m"])


def test_ending_mrr_is_the_mrr_of_the_active_lines(engine: Engine) -> None:
    """Not only equal to DuckDB: equal to the MRR of the lines active at the month end."""
    subs = engine.put("kw_subscriptions", data.subscription_rows())
    lines = converted_lines(subs, engine.put("kw_fx_rates", data.fx_rows()), "USD")
    last = month_index(data.AS_OF)
    at_end = sum((r["mrr"] for r in engine.rows(mrr_at(lines, last))), Decimal(0))
    movements = _movements(engine)
    assert movements[-1]["ending_mrr"] == at_end
    assert isinstance(at_end, Decimal)
    assert at_end.as_tuple().exponent == -6


def _lines(engine: Engine) -> ir.Table:
    subs = engine.put("kw_subscriptions", data.subscription_rows())
    return converted_lines(subs, engine.put("kw_fx_rates", data.fx_rows()), "USD")


def test_cohorts_are_identical_on_every_engine(engine: Engine, reference: Engine) -> None:
    first, last = month_index(date(2023, 1, 1)), month_index(data.AS_OF)
    results = []
    for e in (engine, reference):
        accounts = e.put("kw_accounts", data.account_rows())
        groups = accounts.select("account_id", group=accounts.industry.fill_null("(none)"))
        results.append(e.rows(cohort_table(_lines(e), first, last, groups)))
    assert any(r["revenue_retention"] > 1 for r in results[1])  # expansion shows
    same_rows(results[0], results[1], ["group", "cohort", "age"])


@pytest.mark.parametrize("period", list(RenewalPeriod))
def test_renewal_survivors_are_identical_on_every_engine(
    engine: Engine, reference: Engine, period: RenewalPeriod
) -> None:
    first, last = month_index(date(2023, 1, 1)), month_index(data.AS_OF)
    results = [e.rows(survivor_counts(_lines(e), period, first, last)) for e in (engine, reference)]
    same_rows(results[0], results[1], ["cohort", "period"])
