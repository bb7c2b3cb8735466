"""A small book for the page tests: hostile names and notes, two CSMs, a sponsor who
left, usage, tickets and NPS around today, health scored; and a signed-in client."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient

from keepwell.auth import service as auth_service
from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from tests.web.helpers import PASSWORD, client, load

HOSTILE = '<script>alert("x")</script> O\'Brien & "Co" ' + "long" * 80
HOSTILE_NOTE = '<img src=x onerror=alert(1)> "quoted" </textarea><script>bad()</script>'


def today() -> date:
    return datetime.now(UTC).date()


def page_book(workspace: Workspace) -> date:
    """Load the book and score it as of yesterday; returns that day."""
    day = today() - timedelta(days=1)
    load(workspace, "accounts", [
        {"account_id": "A1", "name": HOSTILE, "owner": "ann@example.com", "industry": "Software",
         "country": "DE", "employees": "120"},
        {"account_id": "A2", "name": "Apex", "owner": "ann@example.com", "industry": "Software",
         "country": "FR", "employees": "40"},
        {"account_id": "B1", "name": "Beta", "owner": "bob@example.com", "industry": "Software",
         "country": "DE", "employees": "900"},
    ])  # fmt: skip
    load(workspace, "subscriptions", [
        {"line_id": f"l-{a}", "account_id": a, "product": "core", "mrr": mrr,
         "starts_on": "2025-01-01", "ends_on": str(day + timedelta(days=40)), "auto_renew": "true"}
        for a, mrr in (("A1", "1000"), ("A2", "300"), ("B1", "500"))
    ])  # fmt: skip
    load(workspace, "contacts", [
        {"contact_id": "c1", "account_id": "A1", "name": "Sam <b>Sponsor</b>", "role": "sponsor",
         "is_active": "false", "left_on": str(day - timedelta(days=10))},
    ])  # fmt: skip
    load(workspace, "events", [
        {"timestamp": f"{day - timedelta(days=d)}T10:00:00Z", "account_id": a, "user_id": u,
         "event": ev, "count": "3"}
        for d in (1, 20, 50) for a in ("A1", "A2", "B1") for u in ("u1", "u2")
        for ev in ("login", "<b>report</b>")
    ])  # fmt: skip
    load(workspace, "tickets", [
        {"ticket_id": "t1", "account_id": "A1", "opened_at": f"{day - timedelta(days=5)}T08:00:00Z",
         "closed_at": f"{day - timedelta(days=4)}T08:00:00Z", "priority": "urgent", "csat": "4",
         "subject": HOSTILE_NOTE},
    ])  # fmt: skip
    load(workspace, "surveys", [
        {"response_id": "r1", "account_id": "A1",
         "responded_at": f"{day - timedelta(days=3)}T09:00:00Z",
         "kind": "nps", "score": "9", "comment": HOSTILE_NOTE},
    ])  # fmt: skip
    load(workspace, "activities", [
        {"activity_id": "n1", "account_id": "A1",
         "occurred_at": f"{day - timedelta(days=2)}T09:00:00Z",
         "kind": "note", "author": "ann@example.com", "subject": "Call", "body": HOSTILE_NOTE},
        {"activity_id": "f1", "account_id": "B1",
         "occurred_at": f"{day - timedelta(days=2)}T09:00:00Z", "kind": "note",
         "subject": "Export to <b>Excel</b>", "tags": "feature_request"},
    ])  # fmt: skip
    health_service.compute_scores(workspace, day)
    return day


def add_person(workspace: Workspace, email: str, role: str) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    auth_service.add_user(workspace, email, role, password=PASSWORD, now=now, actor="test")


def sign_in(app: FastAPI, email: str) -> TestClient:
    """A client signed in through the login page as ``email``."""
    http = client(app)
    form = http.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    answer = http.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return http


def csrf_of(page: str) -> str:
    """The session's CSRF token as a page's forms carry it."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)
