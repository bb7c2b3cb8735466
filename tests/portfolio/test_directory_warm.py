"""`keepwell serve` builds the account directory at start, off the request path."""

from __future__ import annotations

from datetime import date

from keepwell.core.workspace import Workspace
from keepwell.portfolio import cache, service
from tests.web.pages_helpers import page_book


def test_warm_builds_the_directory_in_the_background(sqlite_workspace: Workspace) -> None:
    as_of = page_book(sqlite_workspace)
    service.forget(sqlite_workspace)
    errors: list[Exception] = []
    service.warm(sqlite_workspace, as_of, errors.append).join(timeout=60)
    assert errors == []
    assert cache.holds((sqlite_workspace.key, as_of))
    assert service.directory(sqlite_workspace, as_of).by_id


def test_a_failed_warm_up_is_reported_not_raised(sqlite_workspace: Workspace) -> None:
    sqlite_workspace.engine.dispose()
    broken = Workspace.at(sqlite_workspace.root / "missing")
    errors: list[Exception] = []
    service.warm(broken, date(2026, 1, 31), errors.append).join(timeout=60)
    assert len(errors) == 1
