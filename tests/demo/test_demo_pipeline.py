"""`keepwell demo` end to end (the pipeline behind it): import, scores, success cycles
replayed over the history with their CTAs closed as the data shows (so playbook
effectiveness has outcomes to count), one success cycle, and the churn model trained on
the company's history with its predictions stored for the last day, or a clear note
when the company is too young to learn from."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from tests.cli_runner import run_cli
from tests.conftest import make_workspace
from typer.testing import CliRunner

from keepwell.cli import app
from keepwell.core.settings import get_settings
from keepwell.core.workspace import Workspace
from keepwell.demo.pipeline import DemoRun, run_demo
from keepwell.health import service as health_service
from keepwell.risk import store
from keepwell.success import service as success_service

END_MONTH = date(2026, 10, 1)


@pytest.mark.slow
def test_the_demo_trains_the_churn_model_and_stores_its_predictions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
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
        _effectiveness_has_figures(ws, run, capsys, monkeypatch)
    finally:
        ws.close()


def _effectiveness_has_figures(
    ws: Workspace, run: DemoRun, capsys: pytest.CaptureFixture[str], mp: pytest.MonkeyPatch
) -> None:
    """Before: the demo closed no CTA, so no play could be judged."""
    assert run.history is not None
    assert len(run.history.days) == 6
    closed = sum(run.history.closed.values())
    assert closed >= 100, run.history
    assert {"churned", "saved", "renewed"} <= set(run.history.closed)
    assert run.as_of is not None
    result = success_service.playbook_effectiveness(ws, run.as_of)
    judged = [e for e in result["playbooks"] if e["difference_interval"] is not None]
    # 120 accounts: one play has enough compared openings (the default 300: seven)
    assert len(judged) >= 1, [(e["playbook"], e["verdict"]) for e in result["playbooks"]]
    for e in judged:
        low, high = e["difference_interval"]
        assert low <= e["difference"] <= high
        assert e["matched"] >= 10
    for e in result["playbooks"]:
        assert e["difference_interval"] is not None or e["verdict"].startswith("too little data")
    shown = run_cli(["rules", "effectiveness", "--as-of", str(run.as_of)], ws.root, capsys, mp)
    assert shown.code == 0, shown.err
    assert "95% interval" in shown.out
    as_json = run_cli(["rules", "effectiveness", "--as-of", str(run.as_of), "--format", "json"],
                      ws.root, capsys, mp)  # fmt: skip
    assert f'"playbook": "{judged[0]["playbook"]}"' in as_json.out


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
