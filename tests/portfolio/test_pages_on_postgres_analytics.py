"""The overview and Account 360 on a PostgreSQL analytics engine (the rollup kept from a
warehouse event source): they render, and Account 360 shows the same usage as on DuckDB."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi import FastAPI

from keepwell.contract.service import import_file
from keepwell.core.engine_store import EngineStore
from keepwell.core.engines import connect, put_table
from keepwell.core.event_sources import EventSource, SourceKind, refresh_rollup
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace, init_workspace
from keepwell.health import service as health_service
from keepwell.portfolio import service
from tests.factories import write_rows
from tests.web.helpers import make_app
from tests.web.pages_helpers import add_person, sign_in

DAY = datetime.now(UTC).date() - timedelta(days=1)


def _events() -> list[dict[str, str]]:
    return [
        {"timestamp": f"{DAY - timedelta(days=d)}T12:00:00Z", "account_id": account,
         "user_id": f"{account}-u{u}", "event": ("login", "report_created")[d % 2],
         "message_id": f"{account}-{d}-{u}"}
        for account, users in (("A1", 3), ("B1", 1))
        for d in range(0, 120, 7)
        for u in range(users)
    ]  # fmt: skip


def _workspace(root: Path, analytics_url: str | None = None) -> Workspace:
    ws = init_workspace(root, settings=Settings(home=root, analytics_url=analytics_url))
    rows: dict[str, list[dict[str, Any]]] = {
        "accounts": [{"account_id": a, "name": f"Company {a}", "owner": "ann@example.com",
                      "industry": "Software"} for a in ("A1", "B1")],
        "subscriptions": [{"line_id": f"l-{a}", "account_id": a, "product": "core", "mrr": mrr,
                           "starts_on": "2025-01-01", "ends_on": str(DAY + timedelta(days=40))}
                          for a, mrr in (("A1", "1000"), ("B1", "300"))],
    }  # fmt: skip
    for entity, entity_rows in rows.items():
        report = import_file(ws, entity, write_rows(root / f"{entity}.csv", entity_rows))
        assert report.rejected == 0
    return ws


@pytest.fixture
def workspaces(tmp_path: Path, postgres_url: str) -> Iterator[tuple[Workspace, Workspace]]:
    """The same book with its events on PostgreSQL and on DuckDB, both scored."""
    url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    events = _events()
    backend = connect(url)
    put_table(backend, "raw_events", pa.table({
        "ts": [datetime.fromisoformat(e["timestamp"]).astimezone(UTC) for e in events],
        "org_id": [e["account_id"] for e in events], "uid": [e["user_id"] for e in events],
        "name": [e["event"] for e in events],
    }))  # fmt: skip
    pg = _workspace(tmp_path / "pg", url)
    mapping = {"timestamp": "ts", "account_id": "org_id", "user_id": "uid", "event": "name"}
    refresh_rollup(backend, EventSource(SourceKind.TABLE, "raw_events", mapping), "event_daily")
    backend.disconnect()
    duck = _workspace(tmp_path / "duck")
    assert import_file(duck, "events", write_rows(tmp_path / "events.csv", events)).rejected == 0
    for ws in (pg, duck):
        health_service.compute_scores(ws, DAY)
    yield pg, duck
    pg.close()
    duck.close()


@pytest.mark.postgres
def test_account_360_shows_the_same_usage_on_postgresql_as_on_duckdb(
    workspaces: tuple[Workspace, Workspace],
) -> None:
    pg, duck = workspaces
    assert isinstance(pg.analytics(), EngineStore)
    views = [service.account_view(ws, "A1", DAY, None) for ws in (pg, duck)]
    assert views[0]["usage"]["months"]
    for key in ("usage", "adoption", "arr", "row"):
        assert views[0][key] == views[1][key], key
    peers = [service.peer_usage(ws, ["A1", "B1"], DAY) for ws in (pg, duck)]
    assert peers[0] == peers[1]
    assert peers[0]["A1"]["active_users"] == 3


@pytest.mark.postgres
def test_overview_and_account_pages_render_on_postgresql_analytics(
    workspaces: tuple[Workspace, Workspace],
) -> None:
    pg, _ = workspaces
    app: FastAPI = make_app(pg, restrict_csm=False)
    add_person(pg, "boss@example.com", "admin")
    http = sign_in(app, "boss@example.com")
    overview = http.get("/")
    assert overview.status_code == 200, overview.text
    assert "1,300" in overview.text or "15,600" in overview.text  # MRR or ARR of the book
    page = http.get("/accounts/A1")
    assert page.status_code == 200, page.text
    assert "report_created" in page.text
    assert "Company A1" in page.text
    assert http.get("/accounts").status_code == 200
