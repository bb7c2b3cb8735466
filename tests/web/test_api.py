"""The REST API: accounts, detail, metrics, health and imports, as a manager sees them."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from tests.web.helpers import add_user, client, make_app, two_csm_book


def _admin(workspace: Workspace) -> TestClient:
    two_csm_book(workspace)
    return client(make_app(workspace), add_user(workspace, "boss@example.com", "admin"))


def test_accounts_filter_sort_and_paginate(workspace: Workspace) -> None:
    http = _admin(workspace)
    page = http.get(
        "/api/v1/accounts", params={"industry": "Software", "sort": "-employees", "limit": 1}
    ).json()
    assert ([a["account_id"] for a in page["items"]], page["total"]) == (["B1"], 2)


def test_accounts_second_page(workspace: Workspace) -> None:
    http = _admin(workspace)
    page = http.get("/api/v1/accounts", params={"sort": "name", "limit": 2, "offset": 2}).json()
    assert [a["name"] for a in page["items"]] == ["Beta"]


def test_accounts_search_matches_name_case_insensitively(workspace: Workspace) -> None:
    http = _admin(workspace)
    page = http.get("/api/v1/accounts", params={"search": "APE"}).json()
    assert [a["account_id"] for a in page["items"]] == ["A2"]


def test_search_with_sql_wildcards_matches_literally(sqlite_workspace: Workspace) -> None:
    http = _admin(sqlite_workspace)
    page = http.get("/api/v1/accounts", params={"search": "%' OR 1=1 --"}).json()
    assert page["total"] == 0


def test_account_detail_has_its_related_rows(workspace: Workspace) -> None:
    detail = _admin(workspace).get("/api/v1/accounts/B1").json()
    assert (
        [s["line_id"] for s in detail["subscriptions"]],
        [c["contact_id"] for c in detail["contacts"]],
        [i["invoice_id"] for i in detail["invoices"]],
        detail["health"],
    ) == (["l-B1"], ["c-B1"], ["i-B1"], None)


def test_account_detail_and_history_carry_health_after_scoring(workspace: Workspace) -> None:
    http = _admin(workspace)
    health_service.compute_scores(workspace, date(2025, 6, 30))
    detail = http.get("/api/v1/accounts/A1").json()
    history = http.get("/api/v1/accounts/A1/health/history").json()
    snapshots = http.get("/api/v1/health/snapshots").json()
    assert (detail["health"]["as_of"], len(history), snapshots) == (
        "2025-06-30",
        1,
        ["2025-06-30"],
    )


def test_metrics_summary_counts_the_whole_book(workspace: Workspace) -> None:
    summary = _admin(workspace).get("/api/v1/metrics/summary?as_of=2025-06-30").json()
    assert (summary["mrr"], summary["paying_accounts"]) == ("300.000000", 3)  # exact decimals


def test_mrr_movements_and_cohorts_answer(sqlite_workspace: Workspace) -> None:
    http = _admin(sqlite_workspace)
    movements = http.get("/api/v1/metrics/mrr", params={"start": "2025-01-01", "end": "2025-02-28"})
    cohorts = http.get("/api/v1/metrics/cohorts", params={"as_of": "2025-06-30"})
    assert [m["month"] for m in movements.json()] == ["2025-01", "2025-02"]
    assert cohorts.json()[0]["cohort"] == "2025-01"


def test_unknown_group_column_is_a_400(sqlite_workspace: Workspace) -> None:
    response = _admin(sqlite_workspace).get("/api/v1/metrics/cohorts?by=nope")
    assert response.json()["error"]["code"] == "invalid_input"


def test_import_upload_reports_like_the_cli(workspace: Workspace) -> None:
    http = _admin(workspace)
    body = b"account_id,name,employees\nN1,New,5\nN2,Bad,-3\n"
    report = http.post(
        "/api/v1/imports/accounts", files={"file": ("acc.csv", body, "text/csv")}
    ).json()
    assert (report["new"], report["rejected"], report["exit_code"]) == (1, 1, 1)
    assert report["rejects"][0]["line"] == 3


def test_import_dry_run_writes_nothing(sqlite_workspace: Workspace) -> None:
    http = _admin(sqlite_workspace)
    http.post(
        "/api/v1/imports/accounts?dry_run=true",
        files={"file": ("acc.csv", b"account_id,name\nN1,New\n", "text/csv")},
    )
    assert http.get("/api/v1/accounts/N1").status_code == 404


def test_unusable_upload_is_a_400(sqlite_workspace: Workspace) -> None:
    http = _admin(sqlite_workspace)
    response = http.post(
        "/api/v1/imports/accounts", files={"file": ("acc.csv", b"name\nX\n", "text/csv")}
    )
    assert (response.status_code, "missing required column" in response.text) == (400, True)


def test_upload_without_known_extension_is_a_400(sqlite_workspace: Workspace) -> None:
    http = _admin(sqlite_workspace)
    response = http.post(
        "/api/v1/imports/accounts", files={"file": ("../../etc/passwd", b"x", "text/plain")}
    )
    assert response.status_code == 400
