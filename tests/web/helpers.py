"""Plain helpers for server tests: settings, an app on a workspace, users with tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from keepwell.auth import service as auth_service
from keepwell.contract.service import load_rows
from keepwell.core.settings import Mode, Settings
from keepwell.core.workspace import Workspace
from keepwell.server.app import create_app

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
STRIPE_SECRET = "whsec_test_secret_for_keepwell"
PASSWORD = "correct horse battery staple"


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "mode": Mode.TEST,
        "secret_key": SecretStr("t" * 48),
        "cookie_secure": False,
        "stripe_webhook_secret": SecretStr(STRIPE_SECRET),
        "restrict_csm": True,
    }
    values.update(overrides)
    return Settings(**values)


def make_app(workspace: Workspace, **overrides: Any) -> FastAPI:
    return create_app(workspace, make_settings(**overrides))


def client(app: FastAPI, token: str | None = None, *, https: bool = False) -> TestClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    base = "https://testserver" if https else "http://testserver"
    return TestClient(app, base_url=base, headers=headers, raise_server_exceptions=False)


def add_user(
    workspace: Workspace, email: str, role: str, scope: str = "write", password: str | None = None
) -> str:
    """Create a user and return a fresh API token of ``scope`` for them."""
    auth_service.add_user(workspace, email, role, password=password, now=NOW, actor="test")
    return auth_service.create_token(workspace, email, scope, now=NOW, actor="test")


def load(workspace: Workspace, entity: str, rows: list[dict[str, Any]]) -> None:
    report = load_rows(workspace, entity, rows)
    assert report.rejected == 0, [r.reason for r in report.examples]


def two_csm_book(workspace: Workspace) -> None:
    """Accounts A1 (ann@), A2 (ann@) and B1 (bob@) with a line, a contact and an invoice."""
    load(workspace, "accounts", [
        {"account_id": "A1", "name": "Acme", "owner": "ann@example.com", "industry": "Software",
         "country": "DE", "employees": "120"},
        {"account_id": "A2", "name": "Apex", "owner": "ann@example.com", "industry": "Retail",
         "country": "FR", "employees": "40"},
        {"account_id": "B1", "name": "Beta", "owner": "bob@example.com", "industry": "Software",
         "country": "DE", "employees": "900"},
    ])  # fmt: skip
    load(workspace, "subscriptions", [
        {"line_id": f"l-{a}", "account_id": a, "product": "core", "mrr": "100",
         "starts_on": "2025-01-01"}
        for a in ("A1", "A2", "B1")
    ])  # fmt: skip
    load(workspace, "contacts", [{"contact_id": "c-B1", "account_id": "B1", "name": "Bea"}])
    load(workspace, "invoices", [
        {"invoice_id": "i-B1", "account_id": "B1", "amount": "100", "issued_on": "2025-01-01",
         "due_on": "2025-01-31"}
    ])  # fmt: skip
