"""A workspace made by an earlier Keepwell is refused in one line that names the fix
(`keepwell init` upgrades it), instead of every command failing on a missing table."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from keepwell.core.database import schema_head
from keepwell.core.errors import WorkspaceError
from keepwell.core.settings import Settings
from keepwell.core.workspace import init_workspace, open_workspace


def test_an_older_schema_is_refused_naming_init_which_upgrades_it(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "ws")
    init_workspace(settings.home, settings=settings).close()
    engine = sa.create_engine(f"sqlite:///{settings.home / 'keepwell.db'}")
    with engine.begin() as conn:  # as an earlier release left it
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0009'"))
    engine.dispose()
    with pytest.raises(WorkspaceError) as refused:
        open_workspace(settings)
    assert "schema 0009" in refused.value.message
    assert f"needs {schema_head()}" in refused.value.message
    assert "keepwell init" in (refused.value.hint or "")


def test_a_schema_newer_than_this_keepwell_says_so(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "ws")
    init_workspace(settings.home, settings=settings).close()
    engine = sa.create_engine(f"sqlite:///{settings.home / 'keepwell.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(WorkspaceError, match="newer Keepwell"):
        open_workspace(settings)


def test_the_current_schema_opens(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "ws")
    init_workspace(settings.home, settings=settings).close()
    open_workspace(settings).close()
