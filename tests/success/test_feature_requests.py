"""Feature requests as their own records (issue 23, item 5): asks joined by similar
title or merged by a person, a status, the asking customers told once when it ships
(a real SMTP server), the request sent to a real HTTP receiver in an issue tracker's
shape, and an audit row for every change."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from keepwell.contract.service import load_rows
from keepwell.core.audit import AuditEntry
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.workspace import Workspace
from keepwell.notify import service as notify_service
from keepwell.success import service
from keepwell.success.request_titles import best_match, similar
from keepwell.success.tracker_issue import tracker_issue
from tests.cli_runner import run_cli
from tests.notify.conftest import settings_for
from tests.notify.receivers import HttpSink, SmtpSink, http_server, smtp_server

AS_OF = date(2026, 3, 31)
AT = datetime(2026, 3, 10, 9, tzinfo=UTC)


def test_similar_titles() -> None:
    assert similar("Export to CSV", "  export   to csv!")
    assert similar("CSV export", "Export to CSV")  # same words, another order
    assert similar("Single sign-on", "single sign on")
    assert similar("Salesforce integration", "Salesforce integrations")
    assert similar("Exprot reports to Excel", "Export reports to Excel")  # a typo
    assert not similar("Dark mode", "Mobile app")
    assert not similar("SSO", "SSO with Okta")  # a person merges those
    assert not similar("", "")
    assert best_match("csv export", [(1, "Dark mode"), (2, "Export to CSV")]) == 2
    assert best_match("Dark mode", [(2, "Export to CSV")]) is None


def test_tracker_issue_shape() -> None:
    issue = tracker_issue(
        {"request_id": 7, "title": "Dark mode", "status": "shipped", "merged_into": None},
        [{"account_id": "A", "account": "Acme", "contact_id": "c1", "quote": "Night shifts",
          "arr": Decimal("12000.5"), "asked_at": AT}],
    )  # fmt: skip
    assert issue["external_id"] == "keepwell-feature-7"
    assert issue["labels"] == ["feature-request", "status:shipped"]
    assert issue["state"] == "closed"
    assert issue["arr"] == "12000.50"
    assert "Acme (ARR 12000.50): Night shifts" in issue["body"]


def _load(ws: Workspace) -> None:
    accounts = [{"account_id": a, "name": n} for a, n in (("A", "Acme"), ("B", "Beta"))]
    lines = [
        {"line_id": "a1", "account_id": "A", "product": "core", "mrr": "1000.25",
         "starts_on": "2025-01-01"},
        {"line_id": "b1", "account_id": "B", "product": "core", "mrr": "500",
         "starts_on": "2025-06-01"},
    ]  # fmt: skip
    contacts = [
        {"contact_id": "a-ann", "account_id": "A", "email": "ann@acme.example", "name": "Ann"},
        {"contact_id": "a-bob", "account_id": "A", "email": "bob@acme.example", "name": "Bob"},
        {"contact_id": "b-cy", "account_id": "B", "email": "cy@beta.example", "name": "Cy"},
        {"contact_id": "b-old", "account_id": "B", "email": "old@beta.example",
         "is_active": "false"},
    ]  # fmt: skip
    activities = [  # imported: a meeting where Beta asked for SSO
        {"activity_id": "m1", "account_id": "B", "occurred_at": "2026-03-01T10:00:00Z",
         "kind": "meeting", "subject": "single sign on", "body": "Okta, please",
         "tags": "feature_request"},
        {"activity_id": "m2", "account_id": "B", "occurred_at": "2026-03-02T10:00:00Z",
         "kind": "meeting", "subject": "Check-in call", "tags": "risk"},  # no request
    ]  # fmt: skip
    for entity, rows in (("accounts", accounts), ("subscriptions", lines),
                         ("contacts", contacts), ("activities", activities)):  # fmt: skip
        report = load_rows(ws, entity, rows)
        assert report.rejected == 0, report.examples


def test_requests_merge_ship_notify_once_and_audit(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace
    _load(ws)
    with smtp_server() as smtp, http_server() as receiver:
        monkeypatch.setenv("KEEPWELL_WEBHOOK_URL", f"{receiver.url}/hook")
        _scenario(ws, smtp, receiver)


def _scenario(ws: Workspace, smtp: SmtpSink, receiver: HttpSink) -> None:
    sso = service.record_ask(ws, "A", "Single sign-on", as_of=AS_OF, asked_at=AT,
                             contact_id="a-ann", quote="Our IT team insists")  # fmt: skip
    assert sso["asks"][0]["arr"] == Decimal("12003.00")  # 12 x 1000.25 on AS_OF
    okta = service.record_ask(ws, "A", "SSO with Okta", as_of=AS_OF, asked_at=AT)
    assert okta["request_id"] != sso["request_id"]  # not similar: two requests
    with pytest.raises(InputError, match="not a contact of account 'A'"):
        service.record_ask(ws, "A", "Dark mode", as_of=AS_OF, asked_at=AT, contact_id="b-cy")

    listed = service.list_requests(ws, AS_OF)  # takes Beta's imported meeting first
    top = listed[0]
    assert (top["request_id"], top["request"], top["accounts"], top["mentions"]) == (
        sso["request_id"], "Single sign-on", 2, 2,
    )  # fmt: skip
    assert top["arr"] == Decimal("12003.00") + Decimal(6000)
    assert [r["request"] for r in listed] == ["Single sign-on", "SSO with Okta"]
    assert service.sync_requests(ws, AS_OF) == 0  # each activity is taken once

    merged = service.merge_requests(ws, okta["request_id"], sso["request_id"], at=AT)
    assert merged["merged"] == [okta["request_id"]]
    assert len(merged["asks"]) == 3
    assert [r["request"] for r in service.list_requests(ws, AS_OF)] == ["Single sign-on"]
    again = service.record_ask(
        ws, "B", "Okta", as_of=AS_OF, asked_at=AT, request_id=okta["request_id"]
    )  # followed to the merged one
    assert again["request_id"] == sso["request_id"]

    shipped = service.set_status(ws, sso["request_id"], "shipped", at=AT)
    assert shipped["status"] == "shipped"
    assert shipped["shipped_at"] is not None
    service.set_status(ws, sso["request_id"], "planned", at=AT)
    service.set_status(ws, sso["request_id"], "SHIPPED", at=AT)  # told once, not twice
    with pytest.raises(InputError, match="unknown status 'done'"):
        service.set_status(ws, sso["request_id"], "done", at=AT)
    with pytest.raises(NotFoundError):
        service.set_status(ws, 999, "open", at=AT)

    report = notify_service.deliver_pending(
        ws,
        now=datetime(2026, 3, 10, 10, tzinfo=UTC),
        settings=settings_for(smtp.port, receiver.url),
    )
    assert report.failed == 0
    assert not report.errors
    # Ann asked herself; Acme's second ask had no contact: its active contacts; Beta's
    # asks had none: Cy (the inactive contact is not written to)
    told = sorted(str(m["To"]) for m in smtp.messages)
    assert told == ["ann@acme.example", "bob@acme.example", "cy@beta.example"]
    assert all(m["Subject"] == "Shipped: Single sign-on" for m in smtp.messages)
    assert "Our IT team insists" in next(
        m.get_content() for m in smtp.messages if m["To"] == "ann@acme.example"
    )

    issues = [json.loads(r.body)["payload"]["issue"] for r in receiver.requests]
    assert {r.path for r in receiver.requests} == {"/hook"}
    latest = [i for i in issues if i["external_id"] == f"keepwell-feature-{sso['request_id']}"][-1]
    assert latest["title"] == "Single sign-on"
    assert latest["labels"] == ["feature-request", "status:shipped"]
    assert latest["state"] == "closed"
    assert latest["accounts"] == 2
    okta_issue = [i for i in issues if i["external_id"] == f"keepwell-feature-{okta['request_id']}"]
    assert okta_issue[-1]["merged_into"] == f"keepwell-feature-{sso['request_id']}"

    with ws.engine.connect() as conn:
        actions = [a for (a,) in conn.execute(
            AuditEntry.__table__.select().with_only_columns(AuditEntry.action)
            .where(AuditEntry.kind == "feedback").order_by(AuditEntry.entry_id)
        )]  # fmt: skip
    assert actions == [
        "feedback.ask", "feedback.ask", "feedback.sync", "feedback.merge",
        "feedback.ask", "feedback.status", "feedback.status", "feedback.status",
    ]  # fmt: skip


def test_cli_feedback_commands(
    sqlite_workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _load(sqlite_workspace)
    home = sqlite_workspace.root

    def cli(*args: str) -> tuple[int, str, str]:
        result = run_cli(list(args), home, capsys, monkeypatch)
        return result.code, result.out, result.err

    code, out, err = cli("feedback", "add", "A", "--request", "Dark mode", "--contact", "a-bob",
                         "--quote", "Night shifts", "--at", "2026-03-10T08:00:00Z")  # fmt: skip
    assert code == 0, err
    assert "feature request 1 'Dark mode'" in out
    code, out, err = cli("feedback", "list", "--as-of", "2026-03-31", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["request"] for r in rows] == ["Dark mode", "single sign on"]
    code, out, err = cli("feedback", "status", "1", "planned")
    assert code == 0, err
    assert "is planned" in out
    code, out, err = cli("feedback", "merge", "2", "1")
    assert code == 0, err
    assert "merged 2 into 1" in out
    code, out, err = cli("feedback", "show", "1", "--format", "json")
    shown = json.loads(out)
    assert shown["status"] == "planned"
    assert len(shown["asks"]) == 2
    code, out, err = cli("feedback", "status", "1", "done")
    assert code != 0
    assert "unknown status 'done'" in err
    code, out, err = cli("feedback", "top", "--as-of", "2026-03-31", "--format", "csv")
    assert out.splitlines()[0].startswith("request_id,request,status")


def test_api_and_page(sqlite_workspace: Workspace) -> None:
    from tests.web.helpers import add_user, client, make_app
    from tests.web.pages_helpers import add_person, csrf_of, sign_in

    ws = sqlite_workspace
    _load(ws)
    app = make_app(ws, restrict_csm=False)
    csm = client(app, add_user(ws, "csm@x.example", "csm"))
    created = csm.post("/api/v1/feedback/requests", json={
        "account_id": "A", "title": "Dark mode", "contact_id": "a-ann", "quote": "Night shifts",
        "asked_at": "2026-03-10T09:00:00Z"})  # fmt: skip
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["title"] == "Dark mode"
    assert body["asks"][0]["quote"] == "Night shifts"
    listed = csm.get("/api/v1/feedback/requests", params={"as_of": "2026-03-31"})
    assert [r["request"] for r in listed.json()] == ["Dark mode", "single sign on"]
    refused = csm.patch(
        f"/api/v1/feedback/requests/{body['request_id']}", json={"status": "shipped"}
    )
    assert refused.status_code == 403  # a product decision: managers and admins
    manager = client(app, add_user(ws, "pm@x.example", "manager"))
    changed = manager.patch(
        f"/api/v1/feedback/requests/{body['request_id']}", json={"status": "planned"}
    )
    assert changed.status_code == 200
    assert changed.json()["status"] == "planned"
    bad = manager.patch(f"/api/v1/feedback/requests/{body['request_id']}", json={"status": "x"})
    assert bad.status_code in (400, 422)
    assert manager.get("/api/v1/feedback/requests/999").status_code == 404

    add_person(ws, "lead@x.example", "manager")
    http = sign_in(app, "lead@x.example")
    board = http.get("/feedback")
    assert board.status_code == 200
    assert "Dark mode" in board.text
    assert "planned" in board.text
    detail = http.get(f"/feedback/{body['request_id']}")
    assert "Night shifts" in detail.text
    posted = http.post(f"/feedback/{body['request_id']}/status",
                       data={"csrf_token": csrf_of(detail.text), "status": "declined"},
                       follow_redirects=False)  # fmt: skip
    assert posted.status_code == 303, posted.text
    assert 'id="status">declined' in http.get(f"/feedback/{body['request_id']}").text
