"""Product feedback: feature requests grouped by normalised request, with the number of
requesting accounts and their ARR; ``keepwell feedback add`` and ``keepwell feedback top``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from keepwell.contract.service import load_rows
from keepwell.core.workspace import Workspace
from keepwell.success.feedback import add_feedback, normalize_request, request_text, top_requests
from tests.cli_runner import run_cli

AS_OF = date(2026, 3, 31)


def _load(ws: Workspace) -> None:
    accounts = [{"account_id": a, "name": a} for a in ("A", "B", "C", "D")]
    lines = [
        {"line_id": "a1", "account_id": "A", "product": "core", "mrr": "1000",
         "starts_on": "2025-01-01"},
        {"line_id": "a2", "account_id": "A", "product": "addon", "mrr": "250.50",
         "starts_on": "2026-01-01", "ends_on": "2027-01-01"},
        {"line_id": "b1", "account_id": "B", "product": "core", "mrr": "500",
         "starts_on": "2025-06-01"},
        {"line_id": "d1", "account_id": "D", "product": "core", "mrr": "900",
         "starts_on": "2024-01-01", "ends_on": "2026-01-01"},  # churned before AS_OF
    ]  # fmt: skip
    activities = [
        {"activity_id": "f1", "account_id": "A", "occurred_at": "2026-02-01T10:00:00Z",
         "kind": "call", "subject": "Export to CSV", "tags": "feature_request"},
        {"activity_id": "f2", "account_id": "A", "occurred_at": "2026-02-10T10:00:00Z",
         "kind": "email", "subject": "  export   to csv!", "tags": "Feature_Request;urgent"},
        {"activity_id": "f3", "account_id": "B", "occurred_at": "2026-03-01T10:00:00Z",
         "kind": "meeting", "body": "\nExport to CSV\nthey need it for finance",
         "tags": "feature_request"},
        {"activity_id": "f4", "account_id": "D", "occurred_at": "2026-03-05T10:00:00Z",
         "kind": "note", "subject": "SSO", "tags": "feature_request"},
        {"activity_id": "f5", "account_id": "C", "occurred_at": "2026-03-06T10:00:00Z",
         "kind": "note", "subject": "sso.", "tags": "feature_request"},
        {"activity_id": "n1", "account_id": "C", "occurred_at": "2026-03-06T10:00:00Z",
         "kind": "note", "subject": "Export to CSV", "tags": "risk"},  # not a request
        {"activity_id": "late", "account_id": "C", "occurred_at": "2026-04-01T00:00:00Z",
         "kind": "note", "subject": "Export to CSV", "tags": "feature_request"},  # after AS_OF
    ]  # fmt: skip
    for entity, rows in (("accounts", accounts), ("subscriptions", lines),
                         ("activities", activities)):  # fmt: skip
        report = load_rows(ws, entity, rows)
        assert report.rejected == 0, report.examples


def test_normalize_request() -> None:
    assert normalize_request("  Export to  CSV!") == "export to csv"
    assert normalize_request('"SSO".') == "sso"
    assert normalize_request("Straße\tExport") == "strasse export"
    assert request_text({"subject": "", "body": "\n\n first line \nsecond"}) == "first line"
    assert request_text({"subject": None, "body": None}) == ""


def test_top_requests_counts_accounts_and_their_arr(workspace: Workspace) -> None:
    _load(workspace)
    top = top_requests(workspace, AS_OF)
    assert [(r["request"], r["accounts"], r["mentions"]) for r in top] == [
        ("Export to CSV", 2, 3),  # A twice (one account), B from the body's first line
        ("SSO", 2, 2),  # D has churned: ARR 0; C never paid
    ]
    assert top[0]["arr"] == Decimal("1250.50") * 12 + Decimal(500) * 12
    assert top[0]["account_ids"] == ["A", "B"]
    assert top[1]["arr"] == 0
    assert top[0]["first_at"] == datetime(2026, 2, 1, 10, tzinfo=UTC)
    assert top[0]["last_at"] == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert len(top_requests(workspace, AS_OF, limit=1)) == 1
    earlier = top_requests(workspace, date(2025, 12, 31))
    assert earlier == []


def test_feedback_added_directly_joins_its_group(workspace: Workspace) -> None:
    _load(workspace)
    entry = add_feedback(workspace, "C", "SSO", author="csm@x.example",
                         occurred_at=datetime(2026, 3, 7, tzinfo=UTC), body="Okta")  # fmt: skip
    assert entry["tags"] == ["feature_request"]
    sso = next(r for r in top_requests(workspace, AS_OF) if r["request"] == "SSO")
    assert (sso["accounts"], sso["mentions"]) == (2, 3)


def test_cli_feedback_add_and_top(
    sqlite_workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _load(sqlite_workspace)
    home = sqlite_workspace.root
    for account in ("B", "C"):
        added = run_cli(["feedback", "add", account, "--request", "Dark mode",
                         "--at", "2026-03-10T08:00:00Z"], home, capsys, monkeypatch)  # fmt: skip
        assert added.code == 0, added.err
        assert "recorded request 'Dark mode'" in added.out
    shown = run_cli(["feedback", "top", "--as-of", "2026-03-31", "--format", "json"],
                    home, capsys, monkeypatch)  # fmt: skip
    assert shown.code == 0, shown.err
    rows = json.loads(shown.out)
    assert [(r["request"], r["accounts"]) for r in rows] == [
        ("Export to CSV", 2),
        ("Dark mode", 2),
        ("SSO", 2),
    ]
    assert rows[1]["arr"] == 6000
    table = run_cli(["feedback", "top", "--limit", "1", "--as-of", "2026-03-31"], home, capsys,
                    monkeypatch)  # fmt: skip
    assert "Export to CSV" in table.out
    assert "Dark mode" not in table.out
    bad = run_cli(["feedback", "top", "--as-of", "March"], home, capsys, monkeypatch)
    assert bad.code == 2
    assert "not a date" in bad.err
