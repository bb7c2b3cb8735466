"""Every health measure and the back-test are the same on PostgreSQL and Spark as on
DuckDB. (The usage measures among them are checked against their definition on every
engine in test_parity.py; the other measures against hand-computed values on DuckDB in
tests/health.)"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from keepwell.health.backtest import month_ends, run_backtest
from keepwell.health.config import default_config_text, parse_config
from keepwell.health.measures import MeasureConfig, MeasureInputs, compute_measures

from . import data
from .compare import same_rows, same_values
from .conftest import Engine

CONFIG = parse_config(default_config_text())


def _inputs(engine: Engine) -> MeasureInputs:
    tables = {name: engine.put(f"kw_{name}", t) for name, t in data.entity_rows().items()}
    return MeasureInputs(
        rollup=engine.put("kw_event_daily", data.rollup_rows()),
        accounts=engine.put("kw_accounts", data.account_rows()),
        subscriptions=engine.put("kw_subscriptions", data.subscription_rows()),
        **tables,
    )


def test_every_measure_is_identical_on_every_engine(other_engine: Engine, duckdb: Engine) -> None:
    config = MeasureConfig()
    results = [
        e.rows(compute_measures(_inputs(e), data.AS_OF, config)) for e in (other_engine, duckdb)
    ]
    assert len(results[1]) > 10
    same_rows(results[0], results[1], ["account_id"])


def _report(engine: Engine) -> dict[str, Any]:
    months = month_ends(date(2024, 3, 1), date(2024, 4, 30))  # two months: Spark plans slowly
    report = run_backtest(_inputs(engine), CONFIG, months, 30, data.AS_OF)
    return dataclasses.asdict(report)


def test_the_backtest_is_identical_on_every_engine(other_engine: Engine, duckdb: Engine) -> None:
    expected = _report(duckdb)
    assert expected["observations"] > 30
    same_values(_report(other_engine), expected, "report")
