"""The same Ibis functions on DuckDB, PostgreSQL and Spark give the results of the
definitions: usage measures, custom measures, the MRR ledger and its movements, cohorts
and renewal survivors, each compared with an independent plain-Python computation of
the same definition (:mod:`tests.engines.reference`), never with another engine."""

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

from . import data, reference
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
def test_usage_measures_follow_their_definition_on_every_engine(
    engine: Engine, as_of: date
) -> None:
    expected = reference.usage_measures(reference.rows_of(data.rollup_rows()), as_of, CONFIG)
    assert {r["account_id"] for r in expected} == set(data.ACCOUNTS)
    assert any(r["events_trend_30d"] is None for r in expected)  # faded accounts
    assert any(r["users_removed_quarter"] for r in expected)
    same_rows(_usage(engine, as_of), expected, ["account_id"])


def test_custom_measures_follow_their_definition_on_every_engine(engine: Engine) -> None:
    rows = reference.rows_of(data.rollup_rows())
    for measure in CUSTOM:
        rollup = engine.put("kw_event_daily", data.rollup_rows())
        actual = engine.rows(custom_measure(rollup, data.AS_OF, measure))
        same_rows(actual, reference.custom_measure(rows, data.AS_OF, measure), ["account_id"])


def _movements(engine: Engine, by_product: bool = False) -> list[dict[str, object]]:
    subs = engine.put("kw_subscriptions", data.subscription_rows())
    fx = engine.put("kw_fx_rates", data.fx_rows())
    lines = converted_lines(subs, fx, "USD")
    key = ("account_id", "product") if by_product else ("account_id",)
    changes = mrr_changes(lines, key)
    group = changes.product if by_product else ibis.literal(ALL)
    amounts = engine.rows(movement_amounts(changes.mutate(group=group)))
    return monthly_movements(amounts, month_index(date(2023, 1, 1)), month_index(data.AS_OF))


def _reference_lines() -> list[dict[str, object]]:
    subs, fx = reference.rows_of(data.subscription_rows()), reference.rows_of(data.fx_rows())
    return reference.converted_lines(subs, fx, "USD")


FIRST, LAST = month_index(date(2023, 1, 1)), month_index(data.AS_OF)


@pytest.mark.parametrize("by_product", [False, True])
def test_mrr_movements_follow_their_definition_to_the_cent(
    engine: Engine, by_product: bool
) -> None:
    expected = reference.monthly_movements(_reference_lines(), FIRST, LAST, by_product=by_product)
    assert any(r["reactivation"] for r in expected)
    assert by_product or any(r["contraction"] for r in expected)
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


def test_cohorts_follow_their_definition_on_every_engine(engine: Engine) -> None:
    accounts = engine.put("kw_accounts", data.account_rows())
    groups = accounts.select("account_id", group=accounts.industry.fill_null("(none)"))
    actual = engine.rows(cohort_table(_lines(engine), FIRST, LAST, groups))
    industry = {r["account_id"]: r["industry"] or "(none)" for r in data.account_rows().to_pylist()}
    expected = reference.cohort_table(_reference_lines(), FIRST, LAST, industry)
    assert any(r["revenue_retention"] > 1 for r in expected)  # expansion shows
    assert any(r["logo_retention"] < 1 for r in expected)  # churn shows
    same_rows(actual, expected, ["group", "cohort", "age"])


@pytest.mark.parametrize("period", list(RenewalPeriod))
def test_renewal_survivors_follow_their_definition_on_every_engine(
    engine: Engine, period: RenewalPeriod
) -> None:
    actual = engine.rows(survivor_counts(_lines(engine), period, FIRST, LAST))
    expected = reference.survivor_counts(_reference_lines(), period.months, FIRST, LAST)
    assert any(r["active"] < max(e["active"] for e in expected) for r in expected)
    same_rows(actual, expected, ["cohort", "period"])
