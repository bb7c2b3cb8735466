"""Users' life cycle: sign-out revokes the session on the server, deactivation stops
sessions and tokens at once, role changes and password resets; from the service, the
CLI and the API."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from keepwell.auth import service
from keepwell.auth.errors import AuthenticationError
from keepwell.core.errors import InputError
from keepwell.core.workspace import Workspace
from tests.cli_runner import run_cli
from tests.web.helpers import PASSWORD, add_user, client, make_app

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _login(http: TestClient, email: str, password: str = PASSWORD) -> httpx.Response:
    page = http.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    return http.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf.group(1)},
        follow_redirects=False,
    )


def _signed_in(workspace: Workspace, email: str, role: str = "manager") -> tuple[TestClient, str]:
    """A client signed in as a new user ``email``, and an API token of theirs."""
    token = add_user(workspace, email, role, password=PASSWORD)
    http = client(make_app(workspace))
    assert _login(http, email).status_code == 303
    return http, token


def test_a_session_cookie_stops_working_after_sign_out(workspace: Workspace) -> None:
    """Before: the cookie was only signed, so a copy kept working after sign-out."""
    http, _ = _signed_in(workspace, "ann@example.com")
    cookie = http.cookies["keepwell_session"]
    csrf = http.get("/api/v1/me").json()["csrf_token"]
    assert (
        http.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    )
    copied = client(make_app(workspace))
    copied.cookies.set("keepwell_session", cookie)
    assert copied.get("/api/v1/me").status_code == 401
    page = copied.get("/", follow_redirects=False)
    assert (page.status_code, page.headers["location"].split("?")[0]) == (303, "/login")
    assert copied.get("/login", follow_redirects=False).status_code == 200  # no redirect loop
    assert [r["action"] for r in service.list_audit(workspace, kind="session")] == [
        "session.logout"
    ]


def test_a_deactivated_users_session_and_tokens_get_401_on_the_next_request(
    workspace: Workspace,
) -> None:
    http, token = _signed_in(workspace, "ann@example.com")
    bearer = client(make_app(workspace), token)
    assert (http.get("/api/v1/me").status_code, bearer.get("/api/v1/me").status_code) == (200, 200)
    service.deactivate_user(workspace, "ann@example.com", now=NOW)
    assert http.get("/api/v1/me").status_code == 401
    assert bearer.get("/api/v1/me").status_code == 401
    assert _login(client(make_app(workspace)), "ann@example.com").status_code == 401
    service.activate_user(workspace, "ann@example.com", now=NOW)
    assert bearer.get("/api/v1/me").status_code == 200  # the token was not revoked
    assert http.get("/api/v1/me").status_code == 401  # the session ended for good
    assert service.inactive_owners(workspace) == set()


def test_a_role_change_applies_to_the_next_request(sqlite_workspace: Workspace) -> None:
    http, token = _signed_in(sqlite_workspace, "ann@example.com", "manager")
    bearer = client(make_app(sqlite_workspace), token)
    service.set_role(sqlite_workspace, "ann@example.com", "viewer", now=NOW)
    assert http.get("/api/v1/me").json()["role"] == "viewer"
    assert bearer.post("/api/v1/tokens", json={}).status_code == 403
    [row] = service.list_audit(sqlite_workspace, kind="user", actor=service.cli_actor())
    assert (row["action"], row["details"]) == (
        "user.role",
        {"before": {"role": "manager"}, "after": {"role": "viewer"}},
    )


def test_a_password_reset_ends_the_sessions_and_the_old_password(
    sqlite_workspace: Workspace,
) -> None:
    http, _ = _signed_in(sqlite_workspace, "ann@example.com")
    service.reset_password(sqlite_workspace, "ann@example.com", "a brand new passphrase", now=NOW)
    assert http.get("/api/v1/me").status_code == 401
    fresh = client(make_app(sqlite_workspace))
    assert _login(fresh, "ann@example.com").status_code == 401
    assert _login(fresh, "ann@example.com", "a brand new passphrase").status_code == 303
    with pytest.raises(InputError, match="at least 12"):
        service.reset_password(sqlite_workspace, "ann@example.com", "short", now=NOW)


def test_the_last_active_admin_cannot_be_deactivated_or_demoted(
    sqlite_workspace: Workspace,
) -> None:
    add_user(sqlite_workspace, "boss@example.com", "admin")
    with pytest.raises(InputError, match="last active admin"):
        service.deactivate_user(sqlite_workspace, "boss@example.com", now=NOW)
    with pytest.raises(InputError, match="last active admin"):
        service.set_role(sqlite_workspace, "boss@example.com", "csm", now=NOW)
    add_user(sqlite_workspace, "second@example.com", "admin")
    assert service.deactivate_user(sqlite_workspace, "boss@example.com", now=NOW)["active"] is False


def test_users_life_cycle_from_the_cli(
    sqlite_workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home: Path = sqlite_workspace.root
    token = add_user(sqlite_workspace, "ann@example.com", "csm", password=PASSWORD)
    bearer = client(make_app(sqlite_workspace), token)
    assert (
        run_cli(["users", "role", "ann@example.com", "manager"], home, capsys, monkeypatch).code
        == 0
    )
    assert run_cli(["users", "deactivate", "ann@example.com"], home, capsys, monkeypatch).code == 0
    assert bearer.get("/api/v1/me").status_code == 401
    listed = run_cli(["users", "list", "--format", "json"], home, capsys, monkeypatch)
    assert [(u["email"], u["role"], u["active"]) for u in json.loads(listed.out)] == [
        ("ann@example.com", "manager", False)
    ]
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("another good passphrase\n"))
    reset = run_cli(
        ["users", "password", "ann@example.com", "--password-stdin"], home, capsys, monkeypatch
    )
    assert reset.code == 0, reset.err
    bad = run_cli(["users", "role", "ann@example.com", "boss"], home, capsys, monkeypatch)
    assert (bad.code, "unknown role 'boss'" in bad.err) == (2, True)
    audit = run_cli(["audit", "--kind", "user", "--format", "json"], home, capsys, monkeypatch)
    assert [r["action"] for r in json.loads(audit.out)] == [
        "user.password",
        "user.deactivate",
        "user.role",
        "user.add",
    ]


def test_users_life_cycle_over_the_api_is_for_admins(workspace: Workspace) -> None:
    app = make_app(workspace)
    boss = client(app, add_user(workspace, "boss@example.com", "admin"))
    manager = client(app, add_user(workspace, "max@example.com", "manager"))
    ann_token = add_user(workspace, "ann@example.com", "csm", password=PASSWORD)
    ann = client(app, ann_token)
    assert manager.get("/api/v1/users").status_code == 403
    assert manager.patch("/api/v1/users/ann@example.com", json={"active": False}).status_code == 403
    listed = boss.get("/api/v1/users").json()
    assert {u["email"]: u["active"] for u in listed} == dict.fromkeys(
        ["ann@example.com", "boss@example.com", "max@example.com"], True
    )
    changed = boss.patch("/api/v1/users/ann@example.com", json={"role": "viewer"})
    assert changed.json() == {
        "email": "ann@example.com",
        "role": "viewer",
        "active": True,
        "password": True,
    }
    assert ann.get("/api/v1/me").json()["role"] == "viewer"
    off = boss.patch("/api/v1/users/ann@example.com", json={"active": False})
    assert (off.status_code, off.json()["active"]) == (200, False)
    assert ann.get("/api/v1/me").status_code == 401
    short = boss.post("/api/v1/users/ann@example.com/password", json={"password": "short"})
    assert short.status_code == 422
    assert boss.patch("/api/v1/users/nobody@example.com", json={"active": False}).status_code == 404
    assert boss.patch("/api/v1/users/boss@example.com", json={"role": "csm"}).status_code == 400
    audit = boss.get("/api/v1/audit", params={"kind": "user", "user": "boss@example.com"}).json()
    assert [r["action"] for r in audit] == ["user.deactivate", "user.role"]
    assert audit[1]["details"] == {"before": {"role": "csm"}, "after": {"role": "viewer"}}
    assert manager.get("/api/v1/audit").status_code == 200
    assert (
        client(app, add_user(workspace, "v@example.com", "viewer")).get("/api/v1/audit").status_code
        == 403
    )


def test_the_admin_pages_change_users_and_show_and_export_the_audit(
    sqlite_workspace: Workspace,
) -> None:
    from tests.web.pages_helpers import csrf_of, sign_in

    add_user(sqlite_workspace, "boss@example.com", "admin", password=PASSWORD)
    token = add_user(sqlite_workspace, "ann@example.com", "csm", password=PASSWORD)
    app = make_app(sqlite_workspace)
    boss = sign_in(app, "boss@example.com")
    page = boss.get("/admin/users")
    assert page.status_code == 200
    assert 'data-action="deactivate"' in page.text
    form = {"csrf_token": csrf_of(page.text), "email": "ann@example.com", "active": "false"}
    answer = boss.post("/admin/users/active", data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert client(app, token).get("/api/v1/me").status_code == 401
    assert "deactivated" in boss.get(answer.headers["location"]).text
    audit = boss.get("/admin/audit", params={"kind": "user"}).text
    assert "user.deactivate" in audit
    assert "active: True → False" in audit
    exported = boss.get("/admin/audit.csv", params={"user": "boss@example.com"})
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text.splitlines()[0] == "at,actor,kind,action,account_id,target,details"
    assert "user.deactivate" in exported.text
    ann = sign_in(app, "boss@example.com")  # still an admin: the page works
    assert ann.get("/admin/users").status_code == 200
    add_user(sqlite_workspace, "vera@example.com", "viewer", password=PASSWORD)
    assert sign_in(app, "vera@example.com").get("/admin/users").status_code == 403


def test_expired_session_records_are_deleted_when_a_new_one_opens(
    sqlite_workspace: Workspace,
) -> None:
    from datetime import timedelta

    import sqlalchemy as sa

    from keepwell.auth.models import UserSession

    add_user(sqlite_workspace, "ann@example.com", "csm")
    with sqlite_workspace.engine.connect() as conn:
        user_id = conn.execute(sa.text("SELECT user_id FROM users")).scalar_one()
    old = service.open_session(sqlite_workspace, user_id, now=NOW - timedelta(days=30))
    new = service.open_session(sqlite_workspace, user_id, now=NOW, max_age=timedelta(days=14))
    with sqlite_workspace.engine.connect() as conn:
        left = conn.execute(sa.select(sa.func.count()).select_from(UserSession)).scalar_one()
    assert left == 1
    assert service.principal_for(sqlite_workspace, user_id, new).email == "ann@example.com"
    with pytest.raises(AuthenticationError):
        service.principal_for(sqlite_workspace, user_id, old)


def test_a_deactivated_owners_accounts_show_as_unassigned(sqlite_workspace: Workspace) -> None:
    from keepwell.portfolio import service as portfolio_service
    from tests.web.helpers import two_csm_book

    two_csm_book(sqlite_workspace)
    add_user(sqlite_workspace, "ann@example.com", "csm")
    service.deactivate_user(sqlite_workspace, "ann@example.com", now=NOW)
    rows = portfolio_service.build_directory(sqlite_workspace, date(2025, 6, 30)).rows
    assert {r["account_id"]: r["owner"] for r in rows} == {
        "A1": None,
        "A2": None,
        "B1": "bob@example.com",
    }
    assert service.accounts_of_inactive_owners(sqlite_workspace) == {"ann@example.com": 2}


def test_account_360_shows_a_deactivated_owners_account_unassigned(
    sqlite_workspace: Workspace,
) -> None:
    from keepwell.portfolio import service as portfolio_service
    from tests.web.helpers import two_csm_book

    two_csm_book(sqlite_workspace)
    add_user(sqlite_workspace, "ann@example.com", "csm")
    http, _ = _signed_in(sqlite_workspace, "lead@example.com")
    before = http.get("/accounts/A1")
    assert 'id="owner">ann@example.com<' in before.text
    service.deactivate_user(sqlite_workspace, "ann@example.com", now=NOW)
    page = http.get("/accounts/A1")
    assert page.status_code == 200
    assert 'id="owner">unassigned<' in page.text
    assert "ann@example.com is deactivated" in page.text
    assert portfolio_service.account_detail(sqlite_workspace, "A1", None)["owner"] is None
    api = http.get("/api/v1/accounts/A1")
    assert api.json()["owner"] is None
    assert 'id="owner">bob@example.com<' in http.get("/accounts/B1").text
