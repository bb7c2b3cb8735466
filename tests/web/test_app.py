"""The app shell: health check, docs, JSON errors and the secret-key rule."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from keepwell.core.errors import ConfigurationError
from keepwell.core.settings import Mode, Settings
from keepwell.core.workspace import Workspace
from keepwell.server.app import create_app
from tests.web.helpers import add_user, client, make_app


def test_healthz_answers_without_credentials(sqlite_workspace: Workspace) -> None:
    response = client(make_app(sqlite_workspace)).get("/healthz")
    assert response.json()["status"] == "ok"


def test_openapi_docs_are_served(sqlite_workspace: Workspace) -> None:
    http = client(make_app(sqlite_workspace))
    assert http.get("/docs").status_code == 200
    assert "/api/v1/accounts" in http.get("/openapi.json").json()["paths"]


def test_unknown_route_is_a_json_404(sqlite_workspace: Workspace) -> None:
    response = client(make_app(sqlite_workspace)).get("/nope")
    assert response.json()["error"]["code"] == "not_found"


def test_missing_account_is_a_json_404_with_its_id(workspace: Workspace) -> None:
    token = add_user(workspace, "admin@example.com", "admin")
    response = client(make_app(workspace), token).get("/api/v1/accounts/ZZ9")
    assert (response.status_code, response.json()["error"]["message"]) == (
        404,
        "no account 'ZZ9'",
    )


def test_invalid_query_is_a_422_naming_the_parameter(sqlite_workspace: Workspace) -> None:
    token = add_user(sqlite_workspace, "admin@example.com", "admin")
    response = client(make_app(sqlite_workspace), token).get("/api/v1/accounts?limit=0")
    assert "query.limit" in response.json()["error"]["message"]


def test_a_bug_is_a_500_without_stack_trace(sqlite_workspace: Workspace) -> None:
    app = make_app(sqlite_workspace)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals at /srv/x.py line 3")

    response = client(app).get("/boom")
    assert response.status_code == 500
    assert "secret internals" not in response.text
    assert response.json()["error"]["code"] == "internal_error"


@pytest.mark.parametrize("mode", [Mode.PRODUCTION, Mode.TEST])
def test_default_secret_is_refused_outside_development(
    sqlite_workspace: Workspace, mode: Mode
) -> None:
    with pytest.raises(ConfigurationError, match="KEEPWELL_SECRET_KEY"):
        create_app(sqlite_workspace, Settings(mode=mode))


def test_short_secret_is_refused_in_production(sqlite_workspace: Workspace) -> None:
    settings = Settings(mode=Mode.PRODUCTION, secret_key=SecretStr("short"))
    with pytest.raises(ConfigurationError):
        create_app(sqlite_workspace, settings)


def test_default_secret_is_accepted_in_development(sqlite_workspace: Workspace) -> None:
    app = create_app(sqlite_workspace, Settings(mode=Mode.DEVELOPMENT))
    assert client(app).get("/healthz").status_code == 200
