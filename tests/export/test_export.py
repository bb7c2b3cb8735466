"""keepwell export: scores, risk and movements to files and tables, idempotent per date."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from keepwell.contract.service import import_file
from keepwell.core.errors import InputError
from keepwell.core.workspace import Workspace
from keepwell.export.service import ExportKind, export
from keepwell.export.targets import TargetKind, parse_target
from keepwell.health import service as health_service
from keepwell.revenue import service as revenue_service
from tests.cli_runner import run_cli
from tests.factories import write_rows

FIRST, SECOND = date(2025, 6, 30), date(2025, 7, 31)


def _load(ws: Workspace, tmp_path: Path) -> None:
    events = [
        {"timestamp": f"{date(2025, 5, 1) + timedelta(days=d)}T10:00:00Z", "account_id": a,
         "user_id": f"{a}-u{d % 3}", "event": "login", "message_id": f"{a}-{d}"}
        for a in ("A", "B") for d in range(90)
    ]  # fmt: skip
    files = {
        "accounts": [{"account_id": "A", "name": "Acme"}, {"account_id": "B", "name": "Beta"}],
        "subscriptions": [
            {
                "line_id": "a1",
                "account_id": "A",
                "product": "core",
                "mrr": "1000.25",
                "quantity": "10",
                "starts_on": "2024-01-01",
                "ends_on": "2026-01-01",
            },
            {
                "line_id": "b1",
                "account_id": "B",
                "product": "core",
                "mrr": "500.10",
                "quantity": "5",
                "starts_on": "2024-06-01",
                "ends_on": "2025-07-15",
            },
        ],
        "events": events,
    }
    for entity, rows in files.items():
        assert import_file(ws, entity, write_rows(tmp_path / f"{entity}.csv", rows)).rejected == 0
    health_service.compute_scores(ws, FIRST)
    health_service.compute_scores(ws, SECOND)


@pytest.fixture
def scored(sqlite_workspace: Workspace, tmp_path: Path) -> Workspace:
    _load(sqlite_workspace, tmp_path)
    return sqlite_workspace


def test_targets() -> None:
    assert parse_target("out/s.parquet").kind is TargetKind.PARQUET
    assert parse_target("s.CSV").kind is TargetKind.CSV
    assert parse_target("kw_scores").kind is TargetKind.ANALYTICS
    assert str(parse_target("db:kw_scores")) == "db:kw_scores"
    with pytest.raises(InputError, match=r"neither a \.csv/\.parquet file nor a table"):
        parse_target("db:drop table x")


def test_scores_to_parquet_replace_their_date_and_keep_the_others(
    scored: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "bi" / "scores.parquet"
    first = export(scored, ExportKind.SCORES, str(path), FIRST)
    assert first.rows == 2
    export(scored, ExportKind.SCORES, str(path), SECOND)
    export(scored, ExportKind.SCORES, str(path), SECOND)  # again: replaces, no duplicates
    table = pq.read_table(path).to_pylist()
    assert sorted((r["snapshot_date"], r["account_id"]) for r in table) == [
        (FIRST, "A"), (FIRST, "B"), (SECOND, "A"),  # B churned on 2025-07-15
    ]  # fmt: skip
    stored = {r["account_id"]: r for r in health_service.snapshot_rows(scored, SECOND)}
    for row in table:
        if row["snapshot_date"] == SECOND:
            assert row["score"] == stored[row["account_id"]]["score"]
            assert row["band"] == stored[row["account_id"]]["band"]


def test_movements_to_csv_to_the_cent(scored: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "movements.csv"
    export(scored, ExportKind.MOVEMENTS, str(path), SECOND, months=3)
    export(scored, ExportKind.MOVEMENTS, str(path), SECOND, months=3)
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert [r["month"] for r in rows] == ["2025-05", "2025-06", "2025-07"]
    july = rows[-1]
    assert Decimal(july["churn"]) == Decimal("-500.10")  # B ended on 2025-07-15
    assert Decimal(july["ending_mrr"]) == Decimal("1000.25")
    expected = revenue_service.mrr_movements(scored, date(2025, 7, 1), SECOND)[0]
    assert Decimal(july["starting_mrr"]) == expected["starting_mrr"]


def test_scores_to_a_table_on_the_analytics_engine(scored: Workspace) -> None:
    for day in (FIRST, SECOND, FIRST):
        export(scored, ExportKind.SCORES, "analytics:kw_scores", day)
    raw = scored.analytics().con.con
    counts = raw.execute(
        "SELECT snapshot_date, count(*) FROM kw_scores GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert counts == [(FIRST, 2), (SECOND, 1)]


def test_scores_to_a_table_of_the_operational_database(
    workspace: Workspace, tmp_path: Path
) -> None:
    _load(workspace, tmp_path)
    for day in (FIRST, SECOND, SECOND):
        export(workspace, ExportKind.SCORES, "db:kw_scores", day)
    with workspace.engine.connect() as conn:
        counts = conn.execute(
            sa.text("SELECT snapshot_date, count(*) FROM kw_scores GROUP BY 1 ORDER BY 1")
        ).all()
    assert [(str(d), n) for d, n in counts] == [(str(FIRST), 2), (str(SECOND), 1)]


def test_risk_needs_predictions_then_exports_them(scored: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "risk.parquet"
    with pytest.raises(InputError, match=f"no churn predictions stored on {SECOND}"):
        export(scored, ExportKind.RISK, str(path), SECOND)
    rows = [
        {"account_id": "A", "churn_probability": 0.25, "arr_at_risk": Decimal("3000.75"),
         "risk_drivers": [{"feature": "usage", "effect": 0.1}]},
    ]  # fmt: skip
    health_service.record_risk(scored, SECOND, rows)
    export(scored, ExportKind.RISK, str(path), SECOND)
    (row,) = pq.read_table(path).to_pylist()
    assert row["arr_at_risk"] == Decimal("3000.750000")
    assert row["churn_probability"] == 0.25
    assert '"usage"' in row["risk_drivers"]


def test_cli_exports_and_reports_a_wrong_target_in_one_line(
    scored: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scored.close()
    path = tmp_path / "s.csv"
    ok = run_cli(
        ["export", "scores", "--to", str(path), "--as-of", str(SECOND)],
        scored.root, capsys, monkeypatch,
    )  # fmt: skip
    assert ok.code == 0, ok.err
    assert "exported 1 scores rows of 2025-07-31" in ok.out
    bad = run_cli(["export", "scores", "--to", "x y", "--as-of", str(SECOND)], scored.root,
                  capsys, monkeypatch)  # fmt: skip
    assert bad.code != 0
    assert "neither a .csv/.parquet file nor a table" in bad.err
    assert "Traceback" not in bad.err
    missing = run_cli(["export", "scores", "--to", str(path), "--as-of", "2020-01-31"],
                      scored.root, capsys, monkeypatch)  # fmt: skip
    assert "no health snapshot on 2020-01-31" in missing.err
