"""The pages keep the account directory and some figures for minutes; a write through
the server must still show on the next page, not minutes later."""

from __future__ import annotations

from keepwell.core.workspace import Workspace
from keepwell.portfolio import cache
from tests.web.helpers import add_user, client, make_app
from tests.web.pages_helpers import add_person, csrf_of, page_book, sign_in, today


def test_the_accounts_list_shows_a_new_owner_and_imported_accounts_at_once(
    sqlite_workspace: Workspace,
) -> None:
    """Before: the list kept showing bob as B1's owner after the change, and no Gamma
    after the import, until the kept directory expired (5 minutes)."""
    ws = sqlite_workspace
    page_book(ws)
    add_person(ws, "boss@example.com", "admin")
    app = make_app(ws)
    boss = sign_in(app, "boss@example.com")
    assert "bob@example.com" in boss.get("/accounts").text  # the directory is now kept

    account = boss.get("/accounts/B1")
    form = {"csrf_token": csrf_of(account.text), "owner": "zed@example.com"}
    assert boss.post("/accounts/B1/owner", data=form, follow_redirects=False).status_code == 303
    listed = boss.get("/accounts").text
    assert "zed@example.com" in listed
    assert "bob@example.com" not in listed

    token = add_user(ws, "ops@example.com", "admin")
    csv = (
        b"account_id,name,owner,industry,country,employees\n"
        b"C9,Gamma,cat@example.com,Software,DE,10\n"
    )
    answer = client(app, token).post(
        "/api/v1/imports/accounts", files={"file": ("a.csv", csv, "text/csv")}
    )
    assert answer.status_code == 200, answer.text
    assert "Gamma" in boss.get("/accounts").text


def test_reads_and_refused_writes_keep_the_directory(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    page_book(ws)
    add_person(ws, "boss@example.com", "admin")
    app = make_app(ws)
    boss = sign_in(app, "boss@example.com")
    boss.get("/accounts")
    key = (ws.key, today())  # the list's default day
    assert cache.holds(key)
    boss.get("/accounts/B1")
    refused = boss.post(
        "/accounts/B1/owner", data={"csrf_token": "wrong", "owner": "x@example.com"}
    )
    assert refused.status_code >= 400
    assert cache.holds(key)
