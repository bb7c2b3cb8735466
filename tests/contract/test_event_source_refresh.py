"""`keepwell events refresh`: the rollup of a warehouse event source declared in
keepwell.yaml, read in place (a Parquet file here) and refreshed by day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from keepwell.contract.service import refresh_event_rollup
from keepwell.core.errors import InputError
from keepwell.core.workspace import Workspace
from tests.cli_runner import run_cli
from tests.factories import make_account, make_row, write_rows

Capture = pytest.CaptureFixture[str]
Patch = pytest.MonkeyPatch


def _source(path: Path, days: list[int]) -> None:
    rows = [
        {"ts": datetime(2026, 3, d, 12, tzinfo=UTC), "org": "A1", "uid": f"u{i}", "name": "login"}
        for d in days
        for i in range(2)
    ]
    pq.write_table(pa.Table.from_pylist(rows), path)


def _declare(ws: Workspace, parquet: Path) -> None:
    config = ws.root / "keepwell.yaml"
    config.write_text(
        config.read_text()
        + f"\nevents:\n  source: parquet:{parquet}\n"
        + "  columns: {timestamp: ts, account_id: org, user_id: uid, event: name}\n"
    )


def _rollup(ws: Workspace) -> list[tuple[date, int]]:
    table = ws.analytics().rollup().group_by("day").aggregate(n=lambda t: t["count"].sum())
    return sorted((r["day"], r["n"]) for r in table.to_pyarrow().to_pylist())


def test_no_declared_source_refreshes_nothing(sqlite_workspace: Workspace) -> None:
    assert refresh_event_rollup(sqlite_workspace) is None


def test_refresh_reads_the_source_in_place_and_again_changes_nothing(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    ws = sqlite_workspace
    parquet = tmp_path / "events.parquet"
    _source(parquet, [1, 2])
    _declare(ws, parquet)
    first = refresh_event_rollup(ws)
    assert first is not None
    assert first.since is None
    assert _rollup(ws) == [(date(2026, 3, 1), 2), (date(2026, 3, 2), 2)]
    again = refresh_event_rollup(ws)
    assert again is not None
    assert again.since == date(2026, 3, 2)
    assert _rollup(ws) == [(date(2026, 3, 1), 2), (date(2026, 3, 2), 2)]
    _source(parquet, [1, 2, 3])  # a new day arrives in the lake
    refresh_event_rollup(ws)
    assert _rollup(ws)[-1] == (date(2026, 3, 3), 2)


def test_a_store_holding_imported_events_is_refused(
    sqlite_workspace: Workspace, tmp_path: Path, capsys: Capture, monkeypatch: Patch
) -> None:
    ws = sqlite_workspace
    accounts = write_rows(tmp_path / "accounts.csv", [make_account(account_id="A1")])
    assert run_cli(["import", "accounts", str(accounts)], ws.root, capsys, monkeypatch).code == 0
    events = write_rows(tmp_path / "events.csv", [make_row("events", account_id="A1")])
    assert run_cli(["import", "events", str(events)], ws.root, capsys, monkeypatch).code == 0
    parquet = tmp_path / "events.parquet"
    _source(parquet, [1])
    _declare(ws, parquet)
    with pytest.raises(InputError, match="already holds 1 imported or tracked events"):
        refresh_event_rollup(ws)


def test_cli_refresh(
    sqlite_workspace: Workspace, tmp_path: Path, capsys: Capture, monkeypatch: Patch
) -> None:
    ws = sqlite_workspace
    result = run_cli(["events", "refresh"], ws.root, capsys, monkeypatch)
    assert result.code == 0
    assert "nothing to refresh" in result.out
    parquet = tmp_path / "events.parquet"
    _source(parquet, [1, 2])
    _declare(ws, parquet)
    result = run_cli(["events", "refresh", "--since", "2026-03-02"], ws.root, capsys, monkeypatch)
    assert result.code == 0, result.err
    assert "from 2026-03-02: 2 rows" in result.out
    bad = run_cli(["events", "refresh", "--since", "March"], ws.root, capsys, monkeypatch)
    assert bad.code == 2
    assert "--since 'March' is not a date" in bad.err
