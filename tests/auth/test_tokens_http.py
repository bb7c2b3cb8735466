"""API token management over HTTP: create (secret shown once), list (no secrets), revoke;
admins for anyone, other users for themselves; a revoked token stops working at once."""

from __future__ import annotations

from keepwell.auth import service
from keepwell.core.workspace import Workspace
from tests.web.helpers import add_user, client, make_app


def test_a_user_creates_lists_and_revokes_their_own_token(workspace: Workspace) -> None:
    token = add_user(workspace, "ann@example.com", "csm")
    app = make_app(workspace)
    http = client(app, token)
    created = http.post("/api/v1/tokens", json={"scope": "read"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["email"], body["scope"], body["token"][:10]) == (
        "ann@example.com", "read", body["prefix"],
    )  # fmt: skip
    fresh = client(app, body["token"])
    assert fresh.get("/api/v1/me").json()["scope"] == "read"
    listed = http.get("/api/v1/tokens")
    assert [t["token_id"] for t in listed.json()] == [1, body["token_id"]]
    assert body["token"] not in listed.text
    assert "token_hash" not in listed.text
    assert http.delete(f"/api/v1/tokens/{body['token_id']}").status_code == 204
    gone = fresh.get("/api/v1/me")
    assert (gone.status_code, gone.json()["error"]["code"]) == (401, "unauthenticated")
    assert http.get("/api/v1/tokens").json()[1]["revoked_at"] is not None


def test_a_token_revoked_with_itself_stops_at_once(sqlite_workspace: Workspace) -> None:
    token = add_user(sqlite_workspace, "ann@example.com", "manager")
    http = client(make_app(sqlite_workspace), token)
    token_id = http.get("/api/v1/tokens").json()[0]["token_id"]
    assert http.delete(f"/api/v1/tokens/{token_id}").status_code == 204
    assert http.get("/api/v1/tokens").status_code == 401


def test_only_admins_manage_other_users_tokens(workspace: Workspace) -> None:
    ann = add_user(workspace, "ann@example.com", "manager")
    bob = add_user(workspace, "bob@example.com", "csm")
    boss = add_user(workspace, "boss@example.com", "admin")
    app = make_app(workspace)
    bob_id = service.list_tokens(workspace, "bob@example.com")[0]["token_id"]
    as_ann = client(app, ann)
    assert as_ann.get("/api/v1/tokens", params={"email": "bob@example.com"}).status_code == 403
    other = as_ann.post("/api/v1/tokens", json={"email": "bob@example.com", "scope": "read"})
    assert other.status_code == 403
    # another user's token is not even shown to exist
    assert as_ann.delete(f"/api/v1/tokens/{bob_id}").status_code == 404
    assert client(app, bob).get("/api/v1/me").status_code == 200
    as_boss = client(app, boss)
    made = as_boss.post("/api/v1/tokens", json={"email": "bob@example.com", "scope": "write"})
    assert (made.status_code, made.json()["email"]) == (201, "bob@example.com")
    assert len(as_boss.get("/api/v1/tokens", params={"email": "bob@example.com"}).json()) == 2
    assert as_boss.delete(f"/api/v1/tokens/{bob_id}").status_code == 204
    assert client(app, bob).get("/api/v1/me").status_code == 401


def test_read_tokens_and_anonymous_callers_cannot_make_tokens(sqlite_workspace: Workspace) -> None:
    reader = add_user(sqlite_workspace, "boss@example.com", "admin", scope="read")
    app = make_app(sqlite_workspace)
    assert client(app, reader).post("/api/v1/tokens", json={"scope": "read"}).status_code == 403
    assert client(app).post("/api/v1/tokens", json={"scope": "read"}).status_code == 401
    assert client(app).get("/api/v1/tokens").status_code == 401
    assert client(app).delete("/api/v1/tokens/1").status_code == 401


def test_an_unknown_scope_or_token_is_refused(sqlite_workspace: Workspace) -> None:
    token = add_user(sqlite_workspace, "boss@example.com", "admin")
    http = client(make_app(sqlite_workspace), token)
    assert http.post("/api/v1/tokens", json={"scope": "root"}).status_code == 422
    assert http.delete("/api/v1/tokens/999").status_code == 404
    missing = http.post("/api/v1/tokens", json={"email": "nobody@example.com"})
    assert missing.status_code == 404
