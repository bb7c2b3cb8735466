"""On the demo company every team command prints real figures: books, coverage with
moves, cost to serve, the scorecard, targets with attainment, and explanations of
every metric (the demo scores the month before too, so band moves can be explained)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keepwell.cli import app
from keepwell.core import periods
from keepwell.core.settings import get_settings
from keepwell.demo.pipeline import run_demo
from tests.conftest import make_workspace

END_MONTH = date(2026, 10, 1)
AS_OF = periods.month_end(END_MONTH).isoformat()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo-team")
    ws = make_workspace(root / "ws")
    run = run_demo(ws, root / "data", accounts=60, months=13, seed=5, end_month=END_MONTH,
                   churn_model=False)  # fmt: skip
    assert run.team["csms"] >= 2
    assert run.team["pooled"] >= 1
    assert run.team["targets"] > 0
    ws.close()
    return root / "ws"


def keepwell(home: Path, *args: str) -> str:
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, list(args), env={"KEEPWELL_HOME": str(home)})
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.slow
def test_every_team_command_prints_real_figures_on_the_demo(home: Path) -> None:
    books = json.loads(keepwell(home, "team", "books", "--as-of", AS_OF, "--format", "json"))
    assert books["total"]["accounts"] > 0
    assert float(books["total"]["arr"]) > 0
    assert len(books["csms"]) >= 3
    assert any(b["holder"].startswith("pool:") for b in books["csms"])
    coverage = json.loads(keepwell(home, "team", "coverage", "--as-of", AS_OF, "--format", "json"))
    assert coverage["segments"]
    assert coverage["moves"]
    costs = json.loads(keepwell(home, "team", "costs", "--as-of", AS_OF, "--format", "json"))
    assert {r["tier"] for r in costs["tiers"]} == {"high-touch", "tech-touch"}
    assert all(float(r["cost_to_serve"]) > 0 for r in costs["segments"])
    card = list(csv.DictReader(io.StringIO(keepwell(home, "team", "scorecard", "--period",
                                                    "2026-Q4", "--as-of", AS_OF))))  # fmt: skip
    assert card
    assert any(int(r["renewals_due"]) > 0 for r in card)
    assert any(r["nrr"] for r in card)
    assert any(int(r["referenceable"]) > 0 for r in card)
    assert "nrr" in keepwell(home, "targets", "list", "--period", "2026-Q4")
    attained = json.loads(keepwell(home, "targets", "attainment", "2026-Q4", "--as-of", AS_OF,
                                   "--format", "json"))  # fmt: skip
    assert {r["metric"] for r in attained["rows"]} >= {"nrr", "grr", "cmrr", "referenceable"}
    assert all(r["actual"] is not None for r in attained["rows"])
    for metric in ("nrr", "grr", "logo_churn", "mrr", "red_share"):
        explained = json.loads(keepwell(home, "metrics", "explain", metric, "--month", "2026-10",
                                        "--format", "json"))  # fmt: skip
        assert explained["dimensions"]["segment"], metric
        assert "went from" in explained["summary"]
