"""The demo files follow the data contract: columns, types, enums, keys, references."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from conftest import Company
from keepwell.contract.schema import ENTITIES
from keepwell.demo.catalog import CSMS, EVENT_NAMES

#: the contract's columns, stated once in keepwell.contract.schema
COLUMNS = {
    name: set(entity.names)
    for name, entity in ENTITIES.items()
    if name not in ("fx_rates", "events")
}
KEYS = {
    "accounts": "account_id",
    "contacts": "contact_id",
    "subscriptions": "line_id",
    "invoices": "invoice_id",
    "tickets": "ticket_id",
    "surveys": "response_id",
    "activities": "activity_id",
}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def _date(value: str) -> date:
    return date.fromisoformat(value)


def _stamp(value: str) -> datetime:
    assert TIMESTAMP.match(value), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _bool(value: str) -> bool:
    assert value in ("true", "false"), value
    return value == "true"


def test_every_entity_has_the_contract_columns_and_unique_keys(company: Company) -> None:
    for entity, columns in COLUMNS.items():
        rows = company.tables[entity]
        assert rows, entity
        assert columns <= set(rows[0]), entity
        keys = Counter(row[KEYS[entity]] for row in rows)
        assert keys.most_common(1)[0][1] == 1, entity


def test_accounts_custom_columns_and_values(company: Company) -> None:
    rows = company.tables["accounts"]
    assert {"plan_tier", "region", "acquisition_channel"} <= set(rows[0])
    ids = set(company.account_ids)
    for row in rows:
        assert int(row["employees"]) >= 0
        assert re.fullmatch(r"[A-Z]{2}", row["country"])
        assert row["owner"] in CSMS or (row["owner"] == "" and _bool(row["is_prospect"]))
        assert row["parent_account_id"] in ids | {""}
        assert row["parent_account_id"] != row["account_id"]
        _date(row["created_at"])
        assert Decimal(row["category_budget"]) > 0
    assert any(_bool(row["is_prospect"]) for row in rows)


def test_every_reference_points_to_a_known_account(company: Company) -> None:
    ids = set(company.account_ids)
    for entity in COLUMNS:
        assert {row["account_id"] for row in company.tables[entity]} <= ids, entity
    assert set(pc.unique(company.events.column("account_id")).to_pylist()) <= ids


def test_subscriptions_are_valid_and_prospects_have_none(company: Company) -> None:
    prospects = {r["account_id"] for r in company.tables["accounts"] if _bool(r["is_prospect"])}
    for row in company.tables["subscriptions"]:
        assert Decimal(row["mrr"]) >= 0
        assert int(row["quantity"]) >= 0
        assert row["currency"] == "USD"
        _bool(row["auto_renew"])
        if row["ends_on"]:
            assert _date(row["starts_on"]) < _date(row["ends_on"])
        assert row["account_id"] not in prospects
    products = {row["product"] for row in company.tables["subscriptions"]}
    assert {"Platform", "Analytics", "Automation", "Premium Support"} <= products


def test_invoices_have_consistent_dates_and_status(company: Company) -> None:
    statuses = Counter()
    for row in company.tables["invoices"]:
        issued, due = _date(row["issued_on"]), _date(row["due_on"])
        assert due >= issued
        assert Decimal(row["amount"]) > 0
        statuses[row["status"]] += 1
        assert (row["paid_on"] != "") == (row["status"] == "paid")
        if row["paid_on"]:
            assert _date(row["paid_on"]) >= issued
    assert set(statuses) <= {"open", "paid", "void", "uncollectible"}
    late = [r for r in company.tables["invoices"] if r["paid_on"] and r["paid_on"] > r["due_on"]]
    assert len(late) > 0.02 * len(company.tables["invoices"])


def test_contacts_tickets_surveys_activities_are_valid(company: Company) -> None:
    contacts = {row["contact_id"]: row for row in company.tables["contacts"]}
    for row in contacts.values():
        assert row["role"] in {"sponsor", "champion", "admin", "user", "billing"}
        assert _bool(row["is_active"]) == (row["left_on"] == "")
    assert any(r["role"] == "sponsor" and r["left_on"] for r in contacts.values())
    for row in company.tables["tickets"]:
        opened = _stamp(row["opened_at"])
        assert row["closed_at"] == "" or _stamp(row["closed_at"]) >= opened
        assert row["priority"] in {"low", "normal", "high", "urgent"}
        assert row["csat"] == "" or 1 <= int(row["csat"]) <= 5
    for row in company.tables["surveys"]:
        _stamp(row["responded_at"])
        low, high = {"nps": (0, 10), "csat": (1, 5)}[row["kind"]]
        assert low <= int(row["score"]) <= high
        assert contacts[row["contact_id"]]["account_id"] == row["account_id"]
    tags = Counter()
    for row in company.tables["activities"]:
        _stamp(row["occurred_at"])
        assert row["kind"] in {"meeting", "call", "email", "note", "business_review"}
        tags.update(t for t in row["tags"].split(";") if t)
    assert {"feature_request", "risk", "reference"} <= set(tags)


def test_events_parquet_schema_and_values(company: Company) -> None:
    events = company.events
    assert events.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    for name in ("account_id", "user_id", "event", "message_id", "properties"):
        assert events.schema.field(name).type == pa.string()
    assert events.schema.field("count").type == pa.int64()
    assert pc.min(events.column("count")).as_py() >= 1
    assert set(pc.unique(events.column("event")).to_pylist()) == set(EVENT_NAMES)
    assert pc.count_distinct(events.column("message_id")).as_py() == events.num_rows
    props = pc.drop_null(events.column("properties")).to_pylist()
    assert props
    assert all(isinstance(json.loads(p), dict) for p in set(props))
    start = company.start
    assert pc.min(events.column("timestamp")).as_py().date() >= start
    assert 1_000_000 <= events.num_rows <= 3_000_000
