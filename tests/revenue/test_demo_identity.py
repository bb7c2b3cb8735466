"""The movement identity on the demo company, imported through the data contract."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from keepwell.contract.service import import_file
from keepwell.core.workspace import init_workspace
from keepwell.demo.generator import ENTITIES
from keepwell.demo.service import generate_demo
from keepwell.revenue.service import load_book, mrr_movements

KEYS = ("new", "cross_sell", "reactivation", "expansion", "contraction", "churn")


@pytest.mark.slow
def test_identity_holds_on_the_demo_company(tmp_path: Path) -> None:
    demo = generate_demo(
        tmp_path / "demo", accounts=80, months=24, seed=3, end_month=date(2026, 10, 1)
    )
    ws = init_workspace(tmp_path / "ws")
    try:
        for entity in ("accounts", "subscriptions", "fx_rates"):
            if entity in ENTITIES:
                report = import_file(ws, entity, demo.files[entity])
                assert report.rejected == 0, report.examples[:3]
        book = load_book(ws)
        rows = mrr_movements(ws, date(2024, 1, 1), date(2026, 10, 31), book=book)
        assert rows
        assert any(r["churn"] < 0 for r in rows)
        previous = rows[0]["starting_mrr"]
        for row in rows:
            assert row["starting_mrr"] == previous
            assert row["starting_mrr"] + sum(row[k] for k in KEYS) == row["ending_mrr"]
            previous = row["ending_mrr"]
        assert rows[-1]["ending_mrr"] > 0
    finally:
        ws.close()
