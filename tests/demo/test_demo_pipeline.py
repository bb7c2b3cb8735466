"""`keepwell demo` end to end (the pipeline behind it): import, scores, one success
cycle, and the churn model trained on the company's history with its predictions
stored for the last day, or a clear note when the company is too young to learn from."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from tests.conftest import make_workspace
from typer.testing import CliRunner

from keepwell.cli import app
from keepwell.core.settings import get_settings
from keepwell.demo.pipeline import run_demo
from keepwell.health import service as health_service
from keepwell.risk import store

END_MONTH = date(2026, 10, 1)


@pytest.mark.slow
def test_the_demo_trains_the_churn_model_and_stores_its_predictions(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    try:
        run = run_demo(ws, tmp_path / "data", accounts=120, months=24, seed=3, end_month=END_MONTH)
        assert run.risk is not None, run.risk_skipped
        assert run.risk.version == 1
        assert store.versions(ws.root) == [1]
        assert run.risk.roc_auc is not None
        assert run.risk.health_roc_auc is not None
        assert 0.5 < run.risk.roc_auc <= 1
        assert run.scores is not None
        assert run.risk.accounts == run.scores.accounts
        assert run.risk.arr_at_risk > 0
        # stored with the snapshot of the last day, after the cycle scored it
        assert run.as_of is not None
        snapshot = health_service.snapshot_rows(ws, run.as_of)
        assert all(r["churn_probability"] is not None for r in snapshot)
        stored = sum(float(r["arr_at_risk"]) for r in snapshot)
        assert stored == pytest.approx(run.risk.arr_at_risk, rel=1e-6)
    finally:
        ws.close()


def test_a_company_too_young_to_learn_from_gets_a_note_not_a_crash(tmp_path: Path) -> None:
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app,
            ["demo", "--accounts", "20", "--months", "4", "--end", "2026-10", "--no-serve"],
            env={"KEEPWELL_HOME": str(tmp_path / "home")},
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "churn model" in result.output
    assert "not trained:" in result.output
    assert not store.versions(tmp_path / "home")
