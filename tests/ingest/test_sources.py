"""Source management: list, remove and rotate write keys, from the CLI and over HTTP for
admins; a removed or rotated key stops being accepted."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from keepwell.auth.errors import AuthenticationError
from keepwell.core.errors import NotFoundError
from keepwell.core.settings import get_settings
from keepwell.core.workspace import Workspace
from keepwell.ingest import cli as ingest_cli
from keepwell.ingest import service
from keepwell.ingest.api import Tracking
from keepwell.ingest.keys import WriteKeyCache
from tests.cli_runner import run_cli
from tests.web.helpers import NOW, add_user, client, make_app

TRACK = {"type": "track", "userId": "u1", "event": "login", "context": {"groupId": "A1"}}


@pytest.fixture
def cli(sqlite_workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[typer.Typer]:
    monkeypatch.setenv("KEEPWELL_HOME", str(sqlite_workspace.root))
    get_settings.cache_clear()
    root = typer.Typer()
    ingest_cli.register(root)
    yield root
    get_settings.cache_clear()


def test_cli_lists_rotates_and_removes(cli: typer.Typer, sqlite_workspace: Workspace) -> None:
    runner = CliRunner()
    old = runner.invoke(cli, ["sources", "add", "website"]).stdout.strip()
    runner.invoke(cli, ["sources", "add", "mobile"])
    listed = runner.invoke(cli, ["sources", "list", "--format", "csv"])
    assert [line.split(",")[0] for line in listed.stdout.split()[1:]] == ["mobile", "website"]
    assert old not in listed.stdout
    rotated = runner.invoke(cli, ["sources", "rotate", "website"])
    new = rotated.stdout.strip()
    assert (rotated.exit_code, new.startswith("kwk_"), new != old) == (0, True, True)
    assert service.source_for_key(sqlite_workspace, new) == "website"
    with pytest.raises(AuthenticationError):
        service.source_for_key(sqlite_workspace, old)
    assert runner.invoke(cli, ["sources", "remove", "website"]).exit_code == 0
    with pytest.raises(AuthenticationError):
        service.source_for_key(sqlite_workspace, new)


def test_the_real_cli_reports_an_unknown_source(
    sqlite_workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = run_cli(["sources", "rotate", "website"], sqlite_workspace.root, capsys, monkeypatch)
    assert result.code == 2
    assert "no source named 'website'" in result.err
    assert "Traceback" not in result.err + result.out


def test_rotating_or_removing_an_unknown_source_is_not_found(workspace: Workspace) -> None:
    with pytest.raises(NotFoundError):
        service.rotate_source(workspace, "nope", now=NOW, actor="t")
    with pytest.raises(NotFoundError):
        service.remove_source(workspace, "nope", now=NOW, actor="t")


def _track(app: FastAPI, key: str) -> int:
    http = TestClient(app, raise_server_exceptions=False)
    basic = base64.b64encode(f"{key}:".encode()).decode()
    return http.post(
        "/v1/track", json=TRACK, headers={"Authorization": f"Basic {basic}"}
    ).status_code


def test_admins_manage_sources_over_http(workspace: Workspace) -> None:
    app = make_app(workspace)
    admin = client(app, add_user(workspace, "boss@example.com", "admin"))
    created = admin.post("/api/v1/sources", json={"name": "website"})
    assert created.status_code == 201, created.text
    old = created.json()["write_key"]
    assert _track(app, old) == 200  # accepted, and now in the server's key cache
    listed = admin.get("/api/v1/sources").json()
    assert [s["name"] for s in listed] == ["website"]
    assert old not in str(listed)
    rotated = admin.post("/api/v1/sources/website/rotate")
    new = rotated.json()["write_key"]
    assert (rotated.status_code, _track(app, old), _track(app, new)) == (200, 401, 200)
    assert admin.delete("/api/v1/sources/website").status_code == 204
    assert _track(app, new) == 401
    assert admin.delete("/api/v1/sources/website").status_code == 404
    assert admin.post("/api/v1/sources", json={"name": ""}).status_code == 422


def test_sources_are_for_admins_only(sqlite_workspace: Workspace) -> None:
    service.add_source(sqlite_workspace, "website", now=NOW, actor="t")
    app = make_app(sqlite_workspace)
    manager = client(app, add_user(sqlite_workspace, "ann@example.com", "manager"))
    anonymous = client(app)
    for http, status in ((manager, 403), (anonymous, 401)):
        assert http.get("/api/v1/sources").status_code == status
        assert http.post("/api/v1/sources", json={"name": "x"}).status_code == status
        assert http.post("/api/v1/sources/website/rotate").status_code == status
        assert http.delete("/api/v1/sources/website").status_code == status
    assert [s["name"] for s in service.list_sources(sqlite_workspace)] == ["website"]


def test_a_key_rotated_by_another_process_stops_within_the_cache_time(
    sqlite_workspace: Workspace,
) -> None:
    clock = [0.0]
    app = make_app(sqlite_workspace)
    app.state.keepwell.part(Tracking).sources = WriteKeyCache(ttl=2.0, clock=lambda: clock[0])
    old = service.add_source(sqlite_workspace, "website", now=NOW, actor="t")
    assert _track(app, old) == 200
    service.rotate_source(sqlite_workspace, "website", now=NOW, actor="cli")  # elsewhere
    clock[0] = 1.9
    assert _track(app, old) == 200  # still trusted from the cache
    clock[0] = 2.0
    assert _track(app, old) == 401
