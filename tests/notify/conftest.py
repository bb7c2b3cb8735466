"""Fixtures of the notification tests: real SMTP and HTTP receivers, settings aimed at
them, and a workspace with one account and its contacts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from keepwell.contract.service import load_rows
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace
from tests.notify.receivers import HttpSink, SmtpSink, http_server, smtp_server

WEBHOOK_SECRET = "whsec-test-0123456789"
SECRET_KEY = "test-secret-key-0123456789-0123456789"


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with smtp_server() as sink:
        yield sink


@pytest.fixture
def receiver() -> Iterator[HttpSink]:
    with http_server() as sink:
        yield sink


def settings_for(smtp_port: int, http_url: str) -> Settings:
    return Settings(
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_from="success@keepwell.example",
        slack_webhook_url=f"{http_url}/slack",
        webhook_url=f"{http_url}/hook",
        webhook_secret=SecretStr(WEBHOOK_SECRET),
        base_url="https://cs.example.com",
        secret_key=SecretStr(SECRET_KEY),
        retry_base_seconds=60,
        max_attempts=3,
        http_timeout=5,
        smtp_timeout=5,
    )


@pytest.fixture
def settings(smtp: SmtpSink, receiver: HttpSink) -> Settings:
    return settings_for(smtp.port, receiver.url)


def load_people(ws: Workspace) -> None:
    """Account A (Acme) with two admins (one inactive), a sponsor and a user; account B."""
    load_rows(ws, "accounts", [{"account_id": "A", "name": "Acme"},
                               {"account_id": "B", "name": "Beta"}])  # fmt: skip
    contacts = [
        {"contact_id": "c1", "account_id": "A", "email": "Ann@Acme.example", "name": "Ann",
         "role": "admin"},
        {"contact_id": "c2", "account_id": "A", "email": "bob@acme.example", "name": "Bob",
         "role": "admin"},
        {"contact_id": "c3", "account_id": "A", "email": "old@acme.example", "role": "admin",
         "is_active": "false"},
        {"contact_id": "c4", "account_id": "A", "email": "sue@acme.example", "role": "sponsor"},
        {"contact_id": "c5", "account_id": "B", "email": "ann@acme.example", "role": "admin"},
    ]  # fmt: skip
    report = load_rows(ws, "contacts", contacts)
    assert report.rejected == 0, report.examples


@pytest.fixture
def people(workspace: Workspace) -> Workspace:
    load_people(workspace)
    return workspace


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "ws"
