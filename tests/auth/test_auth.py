"""Users, passwords, tokens, sessions with CSRF, roles and the audit log."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from keepwell.auth import cli as auth_cli
from keepwell.auth import service
from keepwell.auth.errors import AuthenticationError
from keepwell.auth.models import ApiToken, User
from keepwell.core.errors import InputError
from keepwell.core.settings import get_settings
from keepwell.core.workspace import Workspace
from tests.web.helpers import NOW, PASSWORD, add_user, client, make_app


def test_password_is_stored_as_an_argon2_hash(workspace: Workspace) -> None:
    service.add_user(workspace, "Ann@Example.com", "csm", password=PASSWORD, now=NOW, actor="t")
    with workspace.engine.connect() as conn:
        stored = conn.execute(sa.select(User.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")


def test_password_verifies_and_a_wrong_one_does_not(workspace: Workspace) -> None:
    service.add_user(workspace, "ann@example.com", "csm", password=PASSWORD, now=NOW, actor="t")
    assert service.verify_password(workspace, "ANN@example.com", PASSWORD).role == "csm"
    with pytest.raises(AuthenticationError, match="wrong email or password"):
        service.verify_password(workspace, "ann@example.com", PASSWORD + "x")


def test_unknown_role_is_refused(sqlite_workspace: Workspace) -> None:
    with pytest.raises(InputError, match="unknown role 'owner'"):
        service.add_user(sqlite_workspace, "a@b.c", "owner", password=None, now=NOW, actor="t")


def test_duplicate_user_is_refused(sqlite_workspace: Workspace) -> None:
    service.add_user(sqlite_workspace, "a@b.c", "viewer", password=None, now=NOW, actor="t")
    with pytest.raises(InputError, match="already exists"):
        service.add_user(sqlite_workspace, "A@B.C", "viewer", password=None, now=NOW, actor="t")


def test_only_the_token_hash_is_stored(workspace: Workspace) -> None:
    token = add_user(workspace, "ann@example.com", "csm")
    with workspace.engine.connect() as conn:
        stored = conn.execute(sa.select(ApiToken.token_hash, ApiToken.prefix)).one()
    assert token not in stored.token_hash
    assert stored.token_hash == service.hash_secret(token)


def test_bearer_token_authenticates_and_keeps_last_use(workspace: Workspace) -> None:
    token = add_user(workspace, "ann@example.com", "manager")
    response = client(make_app(workspace), token).get("/api/v1/me")
    assert response.json()["email"] == "ann@example.com"
    assert service.list_tokens(workspace, "ann@example.com")[0]["last_used_at"] is not None


def test_last_use_is_rewritten_at_most_once_a_minute(sqlite_workspace: Workspace) -> None:
    token = add_user(sqlite_workspace, "ann@example.com", "manager")
    service.authenticate_token(sqlite_workspace, token, now=NOW)
    service.authenticate_token(sqlite_workspace, token, now=NOW + timedelta(seconds=30))
    first = service.list_tokens(sqlite_workspace, "ann@example.com")[0]["last_used_at"]
    service.authenticate_token(sqlite_workspace, token, now=NOW + timedelta(minutes=2))
    later = service.list_tokens(sqlite_workspace, "ann@example.com")[0]["last_used_at"]
    assert (first, later) == (NOW, NOW + timedelta(minutes=2))


def test_revoked_token_stops_working_at_once(workspace: Workspace) -> None:
    token = add_user(workspace, "ann@example.com", "manager")
    http = client(make_app(workspace), token)
    assert http.get("/api/v1/accounts").status_code == 200
    token_id = service.list_tokens(workspace, "ann@example.com")[0]["token_id"]
    service.revoke_token(workspace, token_id, now=NOW, actor="test")
    response = http.get("/api/v1/accounts")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "unauthenticated")


def test_read_token_cannot_write(sqlite_workspace: Workspace) -> None:
    token = add_user(sqlite_workspace, "ann@example.com", "admin", scope="read")
    files = {"file": ("a.csv", b"account_id,name\nX,Y\n", "text/csv")}
    response = client(make_app(sqlite_workspace), token).post(
        "/api/v1/imports/accounts", files=files
    )
    assert response.status_code == 403


@pytest.mark.parametrize("role", ["viewer", "csm"])
def test_only_managers_import(sqlite_workspace: Workspace, role: str) -> None:
    token = add_user(sqlite_workspace, "ann@example.com", role)
    files = {"file": ("a.csv", b"account_id,name\nX,Y\n", "text/csv")}
    response = client(make_app(sqlite_workspace), token).post(
        "/api/v1/imports/accounts", files=files
    )
    assert response.status_code == 403


def _login(http: TestClient, email: str, password: str) -> httpx.Response:
    page = http.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    return http.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf.group(1)},
        follow_redirects=False,
    )


def test_login_sets_an_http_only_session_cookie(workspace: Workspace) -> None:
    add_user(workspace, "ann@example.com", "manager", password=PASSWORD)
    http = client(make_app(workspace, cookie_secure=True), https=True)
    response = _login(http, "ann@example.com", PASSWORD)
    cookie = response.headers["set-cookie"]
    assert "keepwell_session=" in cookie
    assert "HttpOnly" in cookie
    assert "Secure" in cookie


def test_session_cookie_authenticates_reads(sqlite_workspace: Workspace) -> None:
    add_user(sqlite_workspace, "ann@example.com", "manager", password=PASSWORD)
    http = client(make_app(sqlite_workspace))
    _login(http, "ann@example.com", PASSWORD)
    assert http.get("/api/v1/me").json()["role"] == "manager"


def test_wrong_password_is_refused(sqlite_workspace: Workspace) -> None:
    add_user(sqlite_workspace, "ann@example.com", "manager", password=PASSWORD)
    http = client(make_app(sqlite_workspace))
    assert _login(http, "ann@example.com", "nope").status_code == 401


def test_login_without_csrf_token_is_refused(sqlite_workspace: Workspace) -> None:
    add_user(sqlite_workspace, "ann@example.com", "manager", password=PASSWORD)
    http = client(make_app(sqlite_workspace))
    response = http.post(
        "/login", data={"email": "ann@example.com", "password": PASSWORD, "csrf_token": "x"}
    )
    assert response.status_code == 403


def test_cookie_write_needs_the_csrf_header(sqlite_workspace: Workspace) -> None:
    add_user(sqlite_workspace, "ann@example.com", "manager", password=PASSWORD)
    http = client(make_app(sqlite_workspace))
    _login(http, "ann@example.com", PASSWORD)
    files = {"file": ("a.csv", b"account_id,name\nX,Y\n", "text/csv")}
    refused = http.post("/api/v1/imports/accounts", files=files)
    csrf = http.get("/api/v1/me").json()["csrf_token"]
    accepted = http.post("/api/v1/imports/accounts", files=files, headers={"X-CSRF-Token": csrf})
    assert (refused.status_code, accepted.status_code) == (403, 200)


def test_forged_session_cookie_is_refused(sqlite_workspace: Workspace) -> None:
    http = client(make_app(sqlite_workspace))
    http.cookies.set("keepwell_session", "eyJ1aWQiOjF9.forged.sig")
    assert http.get("/api/v1/me").status_code == 401


def test_every_write_leaves_an_audit_row(workspace: Workspace) -> None:
    token = add_user(workspace, "boss@example.com", "admin")
    files = {"file": ("a.csv", b"account_id,name\nX,Y\n", "text/csv")}
    client(make_app(workspace), token).post("/api/v1/imports/accounts", files=files)
    rows = service.list_audit(workspace)
    assert [(r["actor"], r["action"]) for r in rows] == [
        ("boss@example.com", "import.accounts"),
        ("test", "token.create"),
        ("test", "user.add"),
    ]
    assert rows[0]["details"] == {"file": "a.csv", "read": 1, "new": 1, "updated": 0,
                                  "unchanged": 0, "rejected": 0}  # fmt: skip


def _cli() -> typer.Typer:
    app = typer.Typer()
    auth_cli.register(app)
    return app


def test_cli_adds_a_user_with_a_password_from_stdin(
    sqlite_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPWELL_HOME", str(sqlite_workspace.root))
    get_settings.cache_clear()
    result = CliRunner().invoke(
        _cli(), ["users", "add", "ann@example.com", "--role", "csm", "--password-stdin"],
        input=PASSWORD + "\n",
    )  # fmt: skip
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert service.verify_password(sqlite_workspace, "ann@example.com", PASSWORD).role == "csm"


def test_cli_prints_a_token_once_and_it_works(
    sqlite_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPWELL_HOME", str(sqlite_workspace.root))
    get_settings.cache_clear()
    runner = CliRunner()
    runner.invoke(_cli(), ["users", "add", "ann@example.com", "--role", "viewer"])
    result = runner.invoke(_cli(), ["tokens", "create", "ann@example.com", "--scope", "read"])
    listing = runner.invoke(_cli(), ["tokens", "list", "ann@example.com", "--format", "json"])
    get_settings.cache_clear()
    token = result.stdout.strip()
    assert service.authenticate_token(sqlite_workspace, token, now=NOW).scope == "read"
    assert token not in listing.stdout
