"""Stripe webhooks: signatures (Stripe's own scheme), lines and invoices, idempotency,
out-of-order delivery."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from typing import Any

import pytest
import stripe
from fastapi.testclient import TestClient

from keepwell.contract.service import read_table
from keepwell.core.errors import ConfigurationError
from keepwell.core.workspace import Workspace
from keepwell.ingest.stripe_map import AccountRule
from tests.web.helpers import STRIPE_SECRET, client, load, make_app

T0 = int(datetime(2026, 1, 10, tzinfo=UTC).timestamp())
DAY = 86_400


def _sub(quantity: int = 2, *, interval: str = "month", **fields: Any) -> dict[str, Any]:
    price = {"id": "price_1", "product": "prod_core", "nickname": "Core", "currency": "eur",
             "unit_amount": 5000,
             "recurring": {"interval": interval, "interval_count": 1}}  # fmt: skip
    return {
        "id": "sub_1", "object": "subscription", "customer": "cus_1", "status": "active",
        "start_date": T0, "cancel_at_period_end": False, "metadata": {"account_id": "A1"},
        "items": {"data": [{"id": "si_1", "quantity": quantity, "price": price}]},
        **fields,
    }  # fmt: skip


def _event(kind: str, obj: dict[str, Any], created: int, event_id: str) -> dict[str, Any]:
    return {"id": event_id, "object": "event", "type": kind, "created": created,
            "data": {"object": obj}}  # fmt: skip


def _send(http: TestClient, event: dict[str, Any], *, timestamp: int | None = None) -> Any:
    payload = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(
        payload, STRIPE_SECRET, timestamp=timestamp
    )
    return http.post(
        "/webhooks/stripe", content=payload,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )  # fmt: skip


def _lines(workspace: Workspace) -> list[dict[str, Any]]:
    rows = read_table(workspace, "subscriptions").to_pylist()
    return sorted(
        ({k: r[k] for k in ("line_id", "mrr", "quantity", "starts_on", "ends_on")} for r in rows),
        key=lambda r: r["line_id"],
    )


@pytest.fixture
def http(workspace: Workspace) -> TestClient:
    load(workspace, "accounts", [{"account_id": "A1", "name": "Acme"}])
    return client(make_app(workspace))


def test_created_subscription_becomes_a_line(workspace: Workspace, http: TestClient) -> None:
    response = _send(http, _event("customer.subscription.created", _sub(), T0, "evt_1"))
    assert response.json() == {"received": True, "outcome": "applied"}
    [line] = _lines(workspace)
    assert (str(line["mrr"]), line["quantity"], line["starts_on"], line["ends_on"]) == (
        "100.000000",
        2,
        date(2026, 1, 10),
        None,
    )


def test_yearly_prices_are_monthly_mrr(workspace: Workspace, http: TestClient) -> None:
    _send(http, _event("customer.subscription.created", _sub(12, interval="year"), T0, "e"))
    assert str(_lines(workspace)[0]["mrr"]) == "50.000000"


def test_the_same_event_twice_changes_nothing(workspace: Workspace, http: TestClient) -> None:
    event = _event("customer.subscription.created", _sub(), T0, "evt_1")
    _send(http, event)
    before = _lines(workspace)
    again = _send(http, event).json()["outcome"]
    assert (again, _lines(workspace)) == ("duplicate", before)


def test_a_quantity_change_ends_the_line_and_starts_another(
    workspace: Workspace, http: TestClient
) -> None:
    _send(http, _event("customer.subscription.created", _sub(2), T0, "evt_1"))
    _send(http, _event("customer.subscription.updated", _sub(5), T0 + 20 * DAY, "evt_2"))
    assert [(x["quantity"], x["starts_on"], x["ends_on"]) for x in _lines(workspace)] == [
        (2, date(2026, 1, 10), date(2026, 1, 30)),
        (5, date(2026, 1, 30), None),
    ]


def test_an_older_event_arriving_late_is_skipped(workspace: Workspace, http: TestClient) -> None:
    _send(http, _event("customer.subscription.created", _sub(2), T0, "evt_1"))
    _send(http, _event("customer.subscription.updated", _sub(5), T0 + 20 * DAY, "evt_3"))
    late = _send(http, _event("customer.subscription.updated", _sub(3), T0 + 10 * DAY, "evt_2"))
    assert late.json()["outcome"] == "stale"
    assert [x["quantity"] for x in _lines(workspace)] == [2, 5]


def test_deleted_subscription_ends_its_lines(workspace: Workspace, http: TestClient) -> None:
    _send(http, _event("customer.subscription.created", _sub(), T0, "evt_1"))
    ended = _sub(status="canceled", ended_at=T0 + 40 * DAY)
    _send(http, _event("customer.subscription.deleted", ended, T0 + 40 * DAY, "evt_2"))
    assert _lines(workspace)[0]["ends_on"] == date(2026, 2, 19)


def _invoice(status: str, **fields: Any) -> dict[str, Any]:
    paid_at = T0 + 3 * DAY if status == "paid" else None
    return {"id": "in_1", "object": "invoice", "customer": "cus_1", "currency": "jpy",
            "total": 12000, "created": T0, "due_date": T0 + 30 * DAY, "status": status,
            "status_transitions": {"finalized_at": T0, "paid_at": paid_at},
            "subscription_details": {"metadata": {"account_id": "A1"}}, **fields}  # fmt: skip


def test_invoice_events_update_the_invoice(workspace: Workspace, http: TestClient) -> None:
    _send(http, _event("invoice.finalized", _invoice("open"), T0, "evt_1"))
    _send(http, _event("invoice.payment_failed", _invoice("open"), T0 + DAY, "evt_2"))
    failed = read_table(workspace, "invoices").to_pylist()[0]
    _send(http, _event("invoice.paid", _invoice("paid"), T0 + 3 * DAY, "evt_3"))
    paid = read_table(workspace, "invoices").to_pylist()[0]
    assert (failed["status"], failed["payment_failed"], str(failed["amount"])) == (
        "open",
        "true",
        "12000.000000",
    )
    assert (paid["status"], paid["paid_on"], paid["due_on"]) == (
        "paid",
        date(2026, 1, 13),
        date(2026, 2, 9),
    )


def test_unmapped_customer_is_refused_until_known(workspace: Workspace, http: TestClient) -> None:
    invoice = _invoice("open", customer="cus_9", subscription_details=None)
    refused = _send(http, _event("invoice.finalized", invoice, T0, "evt_1"))
    customer = {"id": "cus_9", "object": "customer", "metadata": {"account_id": "A1"}}
    _send(http, _event("customer.created", customer, T0, "evt_0"))
    retried = _send(http, _event("invoice.finalized", invoice, T0, "evt_1"))
    assert (refused.status_code, retried.json()["outcome"]) == (400, "applied")


def test_bad_signature_is_refused(workspace: Workspace, http: TestClient) -> None:
    payload = json.dumps(_event("customer.subscription.created", _sub(), T0, "evt_1"))
    header = stripe.WebhookSignature.generate_signature_header(payload, "whsec_wrong")
    response = http.post("/webhooks/stripe", content=payload, headers={"Stripe-Signature": header})
    assert (response.status_code, _lines(workspace)) == (401, [])


def test_stale_signature_is_refused(workspace: Workspace, http: TestClient) -> None:
    event = _event("customer.subscription.created", _sub(), T0, "evt_1")
    response = _send(http, event, timestamp=int(time.time()) - 3600)
    assert response.status_code == 401


def test_tampered_payload_is_refused(workspace: Workspace, http: TestClient) -> None:
    payload = json.dumps(_event("customer.subscription.created", _sub(), T0, "evt_1"))
    header = stripe.WebhookSignature.generate_signature_header(payload, STRIPE_SECRET)
    tampered = payload.replace('"quantity": 2', '"quantity": 200')
    response = http.post("/webhooks/stripe", content=tampered, headers={"Stripe-Signature": header})
    assert response.status_code == 401


def test_missing_signature_is_refused(http: TestClient) -> None:
    assert http.post("/webhooks/stripe", json={"id": "x"}).status_code == 401


def test_a_configured_metadata_key_maps_the_account(workspace: Workspace) -> None:
    load(workspace, "accounts", [{"account_id": "CRM-7", "name": "Acme"}])
    http = client(make_app(workspace, stripe_account_rule="metadata:crm_id"))
    sub = _sub(metadata={"crm_id": "CRM-7"})
    _send(http, _event("customer.subscription.created", sub, T0, "evt_1"))
    assert read_table(workspace, "subscriptions")["account_id"].to_pylist() == ["CRM-7"]


def test_the_customer_rule_uses_the_stripe_customer_id(sqlite_workspace: Workspace) -> None:
    load(sqlite_workspace, "accounts", [{"account_id": "cus_1", "name": "Acme"}])
    http = client(make_app(sqlite_workspace, stripe_account_rule="customer"))
    _send(http, _event("customer.subscription.created", _sub(metadata={}), T0, "evt_1"))
    assert read_table(sqlite_workspace, "subscriptions")["account_id"].to_pylist() == ["cus_1"]


def test_a_bad_account_rule_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="not understood"):
        AccountRule.parse("email")
