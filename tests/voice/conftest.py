"""Fixtures of the customer's-voice tests: a real SMTP server, settings aimed at it,
and a small company (accounts A and B, their contacts, A's success plan)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from keepwell.contract.service import load_rows
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace
from tests.notify.conftest import settings_for
from tests.notify.receivers import SmtpSink, smtp_server

AS_OF = date(2026, 3, 2)


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with smtp_server() as sink:
        yield sink


@pytest.fixture
def settings(smtp: SmtpSink) -> Settings:
    return settings_for(smtp.port, "http://127.0.0.1:9")


def load(ws: Workspace, entity: str, rows: list[dict[str, object]]) -> None:
    report = load_rows(ws, entity, rows)
    assert report.rejected == 0, [r.reason for r in report.examples]


def load_company(ws: Workspace) -> None:
    """A (Acme, mid-touch: 30,000 ARR) with admins Ann and Bob, an inactive admin and a
    sponsor; B (Beta) with an admin whose address is Ann's (asked once)."""
    load(ws, "accounts", [
        {"account_id": "A", "name": "Acme", "owner": "csm-a@vendor.example"},
        {"account_id": "B", "name": "Beta <script>alert(1)</script>",
         "owner": "csm-b@vendor.example"},
    ])  # fmt: skip
    load(ws, "subscriptions", [
        {"line_id": "A1", "account_id": "A", "product": "Pro", "mrr": "2500",
         "starts_on": "2025-01-01"},
        {"line_id": "B1", "account_id": "B", "product": "Pro", "mrr": "2500",
         "starts_on": "2025-01-01"},
    ])  # fmt: skip
    load(ws, "contacts", [
        {"contact_id": "c1", "account_id": "A", "email": "Ann@Acme.example", "name": "Ann",
         "role": "admin"},
        {"contact_id": "c2", "account_id": "A", "email": "bob@acme.example", "name": "Bob",
         "role": "admin"},
        {"contact_id": "c3", "account_id": "A", "email": "old@acme.example", "role": "admin",
         "is_active": "false"},
        {"contact_id": "c4", "account_id": "A", "email": "sue@acme.example", "role": "sponsor"},
        {"contact_id": "c5", "account_id": "B", "email": "ann@acme.example", "role": "admin"},
        {"contact_id": "c6", "account_id": "B", "email": "zed@beta.example", "name": "Zed",
         "role": "admin"},
    ])  # fmt: skip


@pytest.fixture
def company(workspace: Workspace) -> Workspace:
    load_company(workspace)
    return workspace
