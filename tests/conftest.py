"""Fixtures shared by every test: workspaces on SQLite and on PostgreSQL.

PostgreSQL tests run against 127.0.0.1:5432, database ``test`` (override with
``KEEPWELL_TEST_POSTGRES_URL``). Each test gets a schema of its own. When the server
cannot be reached they are skipped on a developer machine and fail under ``CI=true``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace, init_workspace

POSTGRES_URL = os.environ.get(
    "KEEPWELL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_pg_state: dict[str, str | None] = {}


def pytest_collection_modifyitems(config: Any, items: list[pytest.Item]) -> None:
    """Files with a test marked ``slow`` first, each file's tests kept together and in
    their order. ``make test`` hands whole files to two workers (``--dist loadfile``)
    in this order: started first, the long files share the workers, and the many
    short ones fill the gaps after them instead of one worker finishing a long file
    alone at the end."""
    slow = {item.nodeid.split("::")[0] for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in slow)


def _postgres_problem() -> str | None:
    """None when PostgreSQL answers, else why not (checked once per process)."""
    if "problem" not in _pg_state:
        try:
            engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            engine.dispose()
            _pg_state["problem"] = None
        except Exception as exc:
            _pg_state["problem"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return _pg_state["problem"]


def require_postgres() -> None:
    problem = _postgres_problem()
    if problem is None:
        return
    message = f"PostgreSQL is not reachable at {POSTGRES_URL}: {problem}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose connections work in a fresh schema, dropped after the test."""
    require_postgres()
    schema = f"kw_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.engine.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'keepwell.db'}"


def make_workspace(root: Path, database_url: str | None = None) -> Workspace:
    settings = Settings(home=root, database_url=database_url)
    return init_workspace(root, settings=settings)


@pytest.fixture
def workspace(tmp_path: Path, database_url: str) -> Iterator[Workspace]:
    """A fresh workspace on each store backend (SQLite file, PostgreSQL schema)."""
    ws = make_workspace(tmp_path / "ws", database_url)
    yield ws
    ws.close()


@pytest.fixture
def sqlite_workspace(tmp_path: Path) -> Iterator[Workspace]:
    """A fresh workspace on the embedded default only."""
    ws = make_workspace(tmp_path / "ws")
    yield ws
    ws.close()
