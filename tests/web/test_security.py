"""Security: anonymous requests, CSM restriction on every account route, hostile strings."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI

from keepwell.core.workspace import Workspace
from tests.web.helpers import add_user, client, make_app, two_csm_book

# The unsubscribe link is opened from an email: the signed token in its path is its
# credential (a forged or altered token gets 400; tests/notify prove it). /readyz is the
# readiness probe of a load balancer, which has no credentials.
PUBLIC = {"/healthz", "/readyz", "/login", "/logout", "/unsubscribe/{token}"}


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) of the OpenAPI schema but the public ones."""
    return [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path not in PUBLIC
        for method in operations
    ]


def test_every_non_public_route_refuses_anonymous_requests(sqlite_workspace: Workspace) -> None:
    app = make_app(sqlite_workspace)
    http = client(app)
    answers = {
        (method, path): http.request(method, re.sub(r"\{[^}]+\}", "A1", path)).status_code
        for method, path in _routes(app)
    }
    assert len(answers) > 15
    assert {k: v for k, v in answers.items() if v != 401} == {}


def _account_routes(app: FastAPI) -> list[str]:
    return [path for method, path in _routes(app) if "{account_id}" in path and method == "GET"]


def test_restricted_csm_gets_404_for_another_csms_account(workspace: Workspace) -> None:
    two_csm_book(workspace)
    app = make_app(workspace, restrict_csm=True)
    http = client(app, add_user(workspace, "ann@example.com", "csm"))
    paths = _account_routes(app)
    answers = {p: http.get(p.replace("{account_id}", "B1")) for p in paths}
    assert len(paths) >= 4
    assert {
        p: (r.status_code, r.json()["error"]["message"]) for p, r in answers.items()
    } == dict.fromkeys(paths, (404, "no account 'B1'"))


def test_restricted_csm_sees_their_own_account(workspace: Workspace) -> None:
    two_csm_book(workspace)
    http = client(make_app(workspace), add_user(workspace, "ann@example.com", "csm"))
    assert http.get("/api/v1/accounts/A1").json()["name"] == "Acme"


def test_restricted_csm_lists_and_measures_only_their_book(workspace: Workspace) -> None:
    two_csm_book(workspace)
    http = client(make_app(workspace), add_user(workspace, "ann@example.com", "csm"))
    page = http.get("/api/v1/accounts?owner=bob@example.com").json()
    own = http.get("/api/v1/accounts").json()
    summary = http.get("/api/v1/metrics/summary?as_of=2025-06-30").json()
    assert (page["total"], own["total"], summary["mrr"]) == (0, 2, "200.000000")


def test_unrestricted_csm_sees_every_account(sqlite_workspace: Workspace) -> None:
    two_csm_book(sqlite_workspace)
    app = make_app(sqlite_workspace, restrict_csm=False)
    http = client(app, add_user(sqlite_workspace, "ann@example.com", "csm"))
    assert http.get("/api/v1/accounts/B1").status_code == 200


@pytest.mark.parametrize("role", ["manager", "viewer"])
def test_restriction_applies_to_csms_only(sqlite_workspace: Workspace, role: str) -> None:
    two_csm_book(sqlite_workspace)
    http = client(make_app(sqlite_workspace), add_user(sqlite_workspace, "ann@example.com", role))
    assert http.get("/api/v1/accounts").json()["total"] == 3


HOSTILE = [
    "<script>alert('x')</script>",
    "Robert'); DROP TABLE accounts;--",
    "%_\\' OR '1'='1",
    "\u202eevil\u0000".replace("\u0000", ""),
    "名前 \U0001f600 ñ",
    "x" * 10_000,
]


def test_hostile_strings_round_trip_intact_as_json(workspace: Workspace) -> None:
    http = client(make_app(workspace), add_user(workspace, "boss@example.com", "admin"))
    rows = "".join(f'"H{i}","{v.replace(chr(34), chr(34) * 2)}"\n' for i, v in enumerate(HOSTILE))
    report = http.post(
        "/api/v1/imports/accounts",
        files={"file": ("h.csv", ("account_id,name\n" + rows).encode(), "text/csv")},
    ).json()
    details = [http.get(f"/api/v1/accounts/H{i}") for i in range(len(HOSTILE))]
    assert report["new"] == len(HOSTILE)
    assert [d.json()["name"] for d in details] == HOSTILE
    assert {d.headers["content-type"] for d in details} == {"application/json"}


def test_hostile_path_ids_are_not_found_not_errors(sqlite_workspace: Workspace) -> None:
    http = client(make_app(sqlite_workspace), add_user(sqlite_workspace, "b@example.com", "admin"))
    response = http.get("/api/v1/accounts/%27%20OR%201%3D1%20--")
    assert (response.status_code, response.json()["error"]["message"]) == (
        404,
        'no account "\' OR 1=1 --"',
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/metrics/summary?as_of=0",
        "/api/v1/metrics/mrr?start=0",
        "/api/v1/metrics/mrr?start=2025-01-01&end=86400",
        "/api/v1/ctas?as_of=0",
    ],
)
def test_a_number_is_not_a_day(sqlite_workspace: Workspace, path: str) -> None:
    """Before: pydantic read 0 as a Unix timestamp, 1970-01-01, and answered for it."""
    two_csm_book(sqlite_workspace)
    http = client(
        make_app(sqlite_workspace), add_user(sqlite_workspace, "boss@example.com", "admin")
    )
    answer = http.get(path)
    assert answer.status_code == 400, answer.text
    assert "is not a day" in answer.json()["error"]["message"]
    assert http.get("/api/v1/metrics/summary?as_of=2025-06-30").status_code == 200


def test_a_nul_character_anywhere_in_a_request_is_a_400(workspace: Workspace) -> None:
    """Before, on PostgreSQL: a 500 from the driver ('text fields cannot contain NUL')."""
    two_csm_book(workspace)
    http = client(make_app(workspace), add_user(workspace, "boss@example.com", "admin"))
    answers = [
        http.get("/api/v1/accounts", params={"owner": "a\x00b"}),
        http.get("/api/v1/accounts/A%001"),
        http.post("/api/v1/sources", json={"name": "\u0000"}),
        http.post(
            "/login", data={"email": "a\x00@example.com", "password": "x", "csrf_token": "x"}
        ),
        http.post("/v1/track", json={"event": "e", "userId": "u", "properties": {"k": "\u0000"}}),
    ]
    assert [a.status_code for a in answers] == [400] * 5
    assert all("NUL" in a.json()["error"]["message"] for a in answers)
    assert http.post("/api/v1/sources", json={"name": "a\\\\u0000"}).status_code < 500
