"""Sign-in rate limiting: 5 failures per email and client address in 5 minutes, then 429
with Retry-After, counted in the database (so it holds across server processes)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from keepwell.auth import service
from keepwell.auth.errors import AuthenticationError, RateLimitedError
from keepwell.auth.throttle import LOGIN_FAILURE_LIMIT, LOGIN_WINDOW, retry_after
from keepwell.core.workspace import Workspace
from tests.web.helpers import NOW, PASSWORD, add_user, client, make_app

EMAIL = "ann@example.com"


def test_below_the_limit_nothing_waits() -> None:
    failures = [NOW - timedelta(seconds=s) for s in (10, 20, 30, 40)]
    assert retry_after(failures, NOW) is None


def test_at_the_limit_the_wait_ends_when_the_oldest_counted_failure_expires() -> None:
    failures = [NOW - timedelta(seconds=s) for s in (250, 10, 40, 30, 20)]
    # the oldest of the five (250 s ago) leaves the 300 s window in 50 s
    assert retry_after(failures, NOW) == 50
    # six failures: the count drops below five when the two oldest have left
    assert retry_after([*failures, NOW - timedelta(seconds=280)], NOW) == 50


def test_failures_outside_the_window_do_not_count() -> None:
    old = [NOW - LOGIN_WINDOW - timedelta(seconds=1)] * 10
    assert retry_after(old, NOW) is None
    assert retry_after([NOW] * 5, NOW) == int(LOGIN_WINDOW.total_seconds())


def _fail(workspace: Workspace, client_address: str, times: int, at: datetime = NOW) -> None:
    for _ in range(times):
        with pytest.raises(AuthenticationError):
            service.sign_in(workspace, EMAIL, "wrong password!", client=client_address, now=at)


def test_the_sixth_attempt_is_refused_even_with_the_right_password(workspace: Workspace) -> None:
    add_user(workspace, EMAIL, "csm", password=PASSWORD)
    _fail(workspace, "10.0.0.1", LOGIN_FAILURE_LIMIT)
    with pytest.raises(RateLimitedError) as refused:
        service.sign_in(workspace, EMAIL, PASSWORD, client="10.0.0.1", now=NOW)
    assert refused.value.retry_after == 300
    # another address, or the same one after the window, is checked again
    assert service.sign_in(workspace, EMAIL, PASSWORD, client="10.0.0.2", now=NOW).email == EMAIL
    later = NOW + LOGIN_WINDOW + timedelta(seconds=1)
    assert service.sign_in(workspace, EMAIL, PASSWORD, client="10.0.0.1", now=later).email == EMAIL


def test_a_success_clears_the_count(sqlite_workspace: Workspace) -> None:
    add_user(sqlite_workspace, EMAIL, "csm", password=PASSWORD)
    _fail(sqlite_workspace, "10.0.0.1", LOGIN_FAILURE_LIMIT - 1)
    service.sign_in(sqlite_workspace, EMAIL, PASSWORD, client="10.0.0.1", now=NOW)
    _fail(sqlite_workspace, "10.0.0.1", LOGIN_FAILURE_LIMIT - 1, at=NOW + timedelta(seconds=1))
    ok = service.sign_in(sqlite_workspace, EMAIL, PASSWORD, client="10.0.0.1", now=NOW)
    assert ok.email == EMAIL


def test_unknown_emails_are_limited_too(sqlite_workspace: Workspace) -> None:
    _fail(sqlite_workspace, "10.0.0.1", LOGIN_FAILURE_LIMIT)
    with pytest.raises(RateLimitedError):
        service.sign_in(sqlite_workspace, EMAIL, "x", client="10.0.0.1", now=NOW)


def _login(http: TestClient, password: str) -> httpx.Response:
    page = http.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    data = {"email": EMAIL, "password": password, "csrf_token": csrf.group(1)}
    return http.post("/login", data=data, follow_redirects=False)


def test_the_sign_in_page_answers_429_with_retry_after_across_processes(
    workspace: Workspace,
) -> None:
    add_user(workspace, EMAIL, "manager", password=PASSWORD)
    # two apps on one workspace stand for two server processes: the count is shared
    first, second = client(make_app(workspace)), client(make_app(workspace))
    statuses = [_login(first, "wrong password!").status_code for _ in range(3)]
    statuses += [_login(second, "wrong password!").status_code for _ in range(2)]
    refused = _login(first, PASSWORD)
    assert statuses == [401] * 5
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 300
    assert "keepwell_session" not in refused.headers.get("set-cookie", "")
    assert "too many failed sign-ins" in refused.text


def test_attempts_leave_audit_rows(sqlite_workspace: Workspace) -> None:
    add_user(sqlite_workspace, EMAIL, "manager", password=PASSWORD)
    http = client(make_app(sqlite_workspace))
    _login(http, "wrong password!")
    _login(http, PASSWORD)
    rows = service.list_audit(sqlite_workspace, limit=2)
    assert [(r["actor"], r["action"], r["target"]) for r in rows] == [
        ("ip:testclient", "login", EMAIL),
        ("ip:testclient", "login.failed", EMAIL),
    ]
