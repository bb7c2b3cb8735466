"""Role rules of the team faces: a CSM who signs in sees their own book by default, a
manager their team's, an admin everything; a CSM limited to their accounts sees no
other book (403), on the REST API and on the pages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from keepwell.core.workspace import Workspace
from tests.conftest import make_workspace
from tests.team.ledger import load_ledger
from tests.web.helpers import add_user, client, make_app
from tests.web.pages_helpers import add_person, sign_in

AS_OF = "2025-03-31"


@pytest.fixture(scope="module")
def setup(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Workspace, FastAPI, dict[str, str]]]:
    ws = make_workspace(tmp_path_factory.mktemp("roles") / "ws")
    load_ledger(ws)
    tokens = {
        "csm": add_user(ws, "ann@example.com", "csm", "read"),
        "manager": add_user(ws, "mgr@example.com", "manager", "read"),
        "admin": add_user(ws, "root@example.com", "admin", "read"),
    }
    yield ws, make_app(ws, restrict_csm=True), tokens
    ws.close()


def test_each_role_sees_its_own_scope_by_default(
    setup: tuple[Workspace, FastAPI, dict[str, str]],
) -> None:
    _, app, tokens = setup
    seen = {}
    for role, token in tokens.items():
        answer = client(app, token).get(f"/api/v1/team/books?as_of={AS_OF}")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        seen[role] = (body["scope"], body["id"], body["total"]["accounts"])
    assert seen == {
        "csm": ("csm", "ann@example.com", 16),
        "manager": ("team", "ta", 16),
        "admin": ("company", "", 25),
    }


def test_a_limited_csm_sees_no_other_book(setup: tuple[Workspace, FastAPI, dict[str, str]]) -> None:
    _, app, tokens = setup
    csm = client(app, tokens["csm"])
    books = "/api/v1/team/books"
    for path in (f"{books}?scope=company", f"{books}?scope=csm&id=bob@example.com",
                 f"{books}?scope=team&id=ta", "/api/v1/team/coverage",
                 "/api/v1/metrics/explain?metric=nrr&month=2025-03-01",
                 "/api/v1/team/scorecard?period=2025-Q1"):  # fmt: skip
        assert csm.get(f"{path}&as_of={AS_OF}" if "?" in path else path).status_code == 403, path
    manager = client(app, tokens["manager"])
    other = manager.get(f"/api/v1/team/books?scope=csm&id=bob@example.com&as_of={AS_OF}")
    assert other.status_code == 200
    assert other.json()["total"]["accounts"] == 9
    attained = manager.get(f"/api/v1/targets/attainment?period=2025-Q1&as_of={AS_OF}")
    assert attained.status_code == 200
    assert attained.json()["scope"] == "team"


def test_pages_follow_the_same_rules(setup: tuple[Workspace, FastAPI, dict[str, str]]) -> None:
    ws, app, _ = setup
    add_person(ws, "ann2@example.com", "csm")
    add_person(ws, "lead@example.com", "admin")
    csm = sign_in(app, "ann2@example.com")
    own = csm.get(f"/team?as_of={AS_OF}")
    assert own.status_code == 200
    assert "csm ann2@example.com" in own.text
    assert csm.get(f"/team?scope=company&as_of={AS_OF}").status_code == 403
    admin = sign_in(app, "lead@example.com")
    page = admin.get(f"/team?as_of={AS_OF}")
    assert page.status_code == 200
    assert "Coverage per segment" in page.text
    assert "ann@example.com" in page.text
    assert "bob@example.com" in page.text
    explained = admin.get("/explain?metric=logo_churn&month=2025-03")
    assert explained.status_code == 200
    assert "By industry" in explained.text
    csv = admin.get(f"/team/scorecard.csv?period=2025-Q1&as_of={AS_OF}")
    assert csv.status_code == 200
    assert csv.text.splitlines()[0].startswith("scope,id,team")
