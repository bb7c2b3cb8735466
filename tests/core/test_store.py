"""The operational store: migrations build exactly the schema the models declare, on
SQLite and PostgreSQL; workspaces and their settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from keepwell.core.errors import ConfigurationError, StoreError, WorkspaceError
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace, init_workspace, open_workspace
from keepwell.migrations.models import metadata


def test_migrations_match_the_models(workspace: Workspace) -> None:
    with workspace.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_init_is_idempotent_and_keeps_settings(tmp_path: Path, database_url: str) -> None:
    settings = Settings(home=tmp_path / "ws", database_url=database_url)
    ws = init_workspace(
        tmp_path / "ws", settings=settings, base_currency="eur", timezone="Europe/Paris"
    )
    ws.close()
    again = init_workspace(tmp_path / "ws", settings=settings)

    assert again.settings() == {
        "base_currency": "EUR",
        "timezone": "Europe/Paris",
        "reference_window_days": "365",
    }
    again.close()


def test_settings_are_validated(sqlite_workspace: Workspace) -> None:
    with pytest.raises(ConfigurationError, match="ISO 4217"):
        sqlite_workspace.set_setting("base_currency", "euro")
    with pytest.raises(ConfigurationError, match="unknown setting"):
        sqlite_workspace.set_setting("colour", "blue")
    sqlite_workspace.set_setting("base_currency", "gbp")
    assert sqlite_workspace.setting("base_currency") == "GBP"


def test_opening_a_missing_workspace_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="no Keepwell workspace") as info:
        open_workspace(Settings(home=tmp_path / "nothing"))
    assert "keepwell init" in str(info.value.hint)


def test_unreachable_database_is_one_clear_error(tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    with pytest.raises(StoreError, match="cannot reach the database at postgresql"):
        init_workspace(tmp_path / "ws", settings=Settings(home=tmp_path / "ws", database_url=url))
    with pytest.raises(StoreError, match="not usable"):
        init_workspace(
            tmp_path / "w2", settings=Settings(home=tmp_path / "w2", database_url="nosuch://x")
        )
