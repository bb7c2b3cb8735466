"""``keepwell sources add`` and ``keepwell serve`` through Typer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from keepwell.core.settings import get_settings
from keepwell.core.workspace import Workspace
from keepwell.ingest import cli as ingest_cli
from keepwell.ingest import service
from keepwell.server import cli as web_cli


@pytest.fixture
def app(sqlite_workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[typer.Typer]:
    monkeypatch.setenv("KEEPWELL_HOME", str(sqlite_workspace.root))
    get_settings.cache_clear()
    root = typer.Typer()
    ingest_cli.register(root)
    web_cli.register(root)
    yield root
    get_settings.cache_clear()


def test_sources_add_prints_a_working_write_key(
    app: typer.Typer, sqlite_workspace: Workspace
) -> None:
    result = CliRunner().invoke(app, ["sources", "add", "website"])
    key = result.stdout.strip()
    assert service.source_for_key(sqlite_workspace, key) == "website"


def test_a_source_name_is_unique(app: typer.Typer) -> None:
    CliRunner().invoke(app, ["sources", "add", "website"])
    again = CliRunner().invoke(app, ["sources", "add", "website"])
    assert again.exit_code != 0


def test_serve_starts_uvicorn_on_the_given_address(
    app: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: calls.append(kw))
    settled: list[bool] = []  # the start's objects frozen out of the collector's walks
    monkeypatch.setattr("keepwell.core.heap.enable", lambda: None)  # not this test process
    monkeypatch.setattr("keepwell.core.heap.settle", lambda: settled.append(not calls))
    result = CliRunner().invoke(app, ["serve", "--host", "127.0.0.1", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert (calls[0]["host"], calls[0]["port"]) == ("127.0.0.1", 8123)
    assert settled[0] is True  # before serving (the directory built later settles again)


def test_serve_refuses_the_default_secret_in_production(
    app: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPWELL_MODE", "production")
    monkeypatch.delenv("KEEPWELL_SECRET_KEY", raising=False)
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: None)
    result = CliRunner().invoke(app, ["serve"])
    assert "KEEPWELL_SECRET_KEY" in str(result.exception)
