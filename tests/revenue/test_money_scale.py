"""Money is exact and never overflows at realistic sizes: a line of 10,000,000 a month
in a second currency, and a book summing past 10^12 minor units (before the fix, a
9,300 EUR line at 1.08 overflowed DECIMAL(18) in every revenue command)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from keepwell.contract.models import Account, Subscription
from keepwell.core.database import transaction
from keepwell.core.models import FxRate
from keepwell.core.settings import get_settings
from keepwell.core.workspace import Workspace, init_workspace
from keepwell.revenue import cli as revenue_cli
from keepwell.revenue import service

from .factories import line, make_book

runner = CliRunner()
RATE = "1.08123457"
BIG = 1200  # accounts with a 10,000,000 EUR line each
# hand-computed: 10,000,000 x 1.08123457 = 10,812,345.7 exactly;
# 9,300.123457 x 1.08123457 = 10,055.61498697630849 -> rounded to 6 places (half up)
BIG_USD = Decimal("10812345.7")
SMALL_USD = Decimal("10055.614987")
TOTAL = BIG * BIG_USD + SMALL_USD  # 12,974,824,895.614987 USD = 1.297e12 cents


def test_the_issue_line_converts() -> None:
    book = make_book(
        [line("1", "a", "9300", date(2025, 1, 1), currency="EUR")],
        fx=[("EUR", date(2025, 1, 1), "1.08")],
    )
    assert book.rows(book.lines)[0]["mrr"] == Decimal("10044")


def _lines() -> list[dict[str, Any]]:
    big = [
        line(f"b{i}", f"big-{i:04d}", "10000000", date(2025, 1, 1), currency="EUR")
        for i in range(BIG)
    ]
    small = line("s", "small", "9300.123457", date(2025, 1, 1), date(2026, 1, 1), currency="EUR")
    return [*big, small]


def test_a_book_past_10_to_the_12_minor_units_is_exact() -> None:
    book = make_book(_lines(), fx=[("EUR", date(2025, 1, 1), RATE)])
    summary = service.portfolio_summary(None, date(2025, 12, 31), book=book)  # type: ignore[arg-type]
    assert TOTAL * 100 > 10**12
    assert summary.mrr == TOTAL
    assert summary.arr == TOTAL * 12 == Decimal("155697898747.379844")
    assert summary.cmrr == TOTAL - SMALL_USD  # the small line ends on 2026-01-01
    months = service.mrr_movements(None, date(2025, 1, 1), date(2026, 1, 31), book=book)  # type: ignore[arg-type]
    assert months[0]["new"] == TOTAL
    assert months[-1]["churn"] == -SMALL_USD
    assert months[-1]["ending_mrr"] == BIG * BIG_USD


@pytest.fixture
def app() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None: ...

    revenue_cli.register(root)
    return root


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    workspace = init_workspace(tmp_path / "ws")
    rows = _lines()
    with transaction(workspace.engine) as session:
        session.add_all([Account(account_id=r["account_id"], name=r["account_id"]) for r in rows])
        session.flush()
        session.add_all(
            [
                Subscription(
                    line_id=r["line_id"],
                    account_id=r["account_id"],
                    product="core",
                    mrr=r["mrr"],
                    currency="EUR",
                    starts_on=r["starts_on"],
                    ends_on=r["ends_on"],
                )
                for r in rows
            ]
        )
        session.add(FxRate(currency="EUR", month=date(2025, 1, 1), rate=Decimal(RATE)))
    monkeypatch.setenv("KEEPWELL_HOME", str(workspace.root))
    get_settings.cache_clear()
    yield workspace
    get_settings.cache_clear()
    workspace.close()


def _json(app: typer.Typer, *args: str) -> Any:
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout, parse_float=Decimal)


def test_every_revenue_command_gives_the_exact_figures(app: typer.Typer, ws: Workspace) -> None:
    summary = _json(app, "metrics", "summary", "--as-of", "2025-12-31")
    assert (summary["mrr"], summary["arr"]) == (TOTAL, TOTAL * 12)
    assert summary["arpa"] == (TOTAL / (BIG + 1)).quantize(Decimal("0.000001"))
    assert summary["cmrr"] == TOTAL - SMALL_USD
    mrr = _json(app, "metrics", "mrr", "--from", "2025-01", "--to", "2026-01")
    assert (mrr[0]["new"], mrr[0]["ending_mrr"]) == (TOTAL, TOTAL)
    assert (mrr[-1]["churn"], mrr[-1]["ending_mrr"]) == (-SMALL_USD, BIG * BIG_USD)
    cohorts = _json(app, "metrics", "cohorts", "--as-of", "2026-01-31")
    first = next(r for r in cohorts if r["cohort"] == "2025-01" and r["age"] == 0)
    assert first["mrr"] == TOTAL
    upcoming = _json(app, "renewals", "--within", "30", "--as-of", "2025-12-15")
    assert [(r["line_id"], r["arr"]) for r in upcoming] == [("s", SMALL_USD * 12)]
    past = _json(app, "renewals", "--past", "30", "--as-of", "2026-01-10")
    assert [(r["line_id"], r["outcome"]) for r in past] == [("s", "churned")]
    curves = _json(app, "metrics", "survival", "--as-of", "2026-01-31")
    assert curves["all"][-1]["at_risk"] == BIG + 1
    csv_out = runner.invoke(app, ["metrics", "summary", "--as-of", "2025-12-31", "--format", "csv"])
    assert f"mrr,{TOTAL}" in csv_out.stdout.splitlines()
