"""KEEPWELL_ANALYTICS_URL=postgresql://...: the workspace reads its rollup from
PostgreSQL (kept there from a warehouse event source) and scores exactly as on DuckDB;
appending events there is refused in one line."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from keepwell.contract.service import import_file
from keepwell.core.engine_store import EngineStore
from keepwell.core.engines import connect, put_table
from keepwell.core.errors import StoreError
from keepwell.core.event_sources import EventSource, SourceKind, refresh_rollup
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace, init_workspace
from keepwell.health import service as health_service
from tests.factories import write_rows

AS_OF = date(2025, 6, 30)
ACCOUNTS = [{"account_id": a, "name": a} for a in ("A", "B", "C")]
LINES = [
    {"line_id": f"{a}1", "account_id": a, "product": "core", "mrr": mrr, "quantity": "10",
     "starts_on": "2024-01-01"}
    for a, mrr in (("A", "1200"), ("B", "300.50"), ("C", "90"))
]  # fmt: skip


def _events() -> list[dict[str, str]]:
    rows = []
    for i, account in enumerate(("A", "B", "C")):
        for d in range(0, 90, 1 + i):
            day = AS_OF - timedelta(days=d)
            for u in range(3 - i):
                rows.append(
                    {"timestamp": f"{day}T12:00:00Z", "account_id": account,
                     "user_id": f"{account}-u{u}", "event": ("login", "report_created")[d % 2],
                     "message_id": f"{account}-{d}-{u}"}
                )  # fmt: skip
    return rows


def _workspace(root: Path, analytics_url: str | None = None) -> Workspace:
    ws = init_workspace(root, settings=Settings(home=root, analytics_url=analytics_url))
    for entity, rows in (("accounts", ACCOUNTS), ("subscriptions", LINES)):
        assert import_file(ws, entity, write_rows(root / f"{entity}.csv", rows)).rejected == 0
    return ws


@pytest.fixture
def pg_workspace(tmp_path: Path, postgres_url: str) -> Iterator[Workspace]:
    url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    events = _events()
    raw = pa.table(
        {"ts": [datetime.fromisoformat(e["timestamp"]).astimezone(UTC) for e in events],
         "org_id": [e["account_id"] for e in events], "uid": [e["user_id"] for e in events],
         "name": [e["event"] for e in events]}
    )  # fmt: skip
    backend = connect(url)
    put_table(backend, "raw_events", raw)
    ws = _workspace(tmp_path / "pg", url)
    mapping = {"timestamp": "ts", "account_id": "org_id", "user_id": "uid", "event": "name"}
    refresh_rollup(backend, EventSource(SourceKind.TABLE, "raw_events", mapping), "event_daily")
    backend.disconnect()
    yield ws
    ws.close()


@pytest.mark.postgres
def test_scores_on_postgresql_analytics_equal_duckdb(
    pg_workspace: Workspace, tmp_path: Path
) -> None:
    assert isinstance(pg_workspace.analytics(), EngineStore)
    duck = _workspace(tmp_path / "duck")
    report = import_file(duck, "events", write_rows(tmp_path / "events.csv", _events()))
    assert report.rejected == 0
    runs = [health_service.compute_scores(ws, AS_OF) for ws in (pg_workspace, duck)]
    assert runs[0].accounts == runs[1].accounts == 3
    rows = [health_service.snapshot_rows(ws, AS_OF) for ws in (pg_workspace, duck)]
    for pg, dk in zip(*rows, strict=True):
        assert (pg["account_id"], pg["band"]) == (dk["account_id"], dk["band"])
        assert pg["score"] == pytest.approx(dk["score"], rel=1e-9)
    duck.close()


@pytest.mark.postgres
def test_appending_events_to_postgresql_is_refused_in_one_line(
    pg_workspace: Workspace, tmp_path: Path
) -> None:
    with pytest.raises(StoreError) as info:
        import_file(pg_workspace, "events", write_rows(tmp_path / "e.csv", _events()[:3]))
    assert "appended to a DuckDB analytics store only, not to postgres" in str(info.value)
    assert "\n" not in str(info.value)
