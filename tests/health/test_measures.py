"""Operational measures and the assembled measure table, on hand-made fixtures."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from keepwell.health.measures import MEASURES, MeasureConfig, MeasureInputs, compute_measures
from keepwell.health.operational import (
    payment_measures,
    relationship_measures,
    sentiment_measures,
    subscription_measures,
    support_measures,
)
from keepwell.health.usage import CustomMeasure, UsageConfig

from .factories import rollup, table, ts

AS_OF = date(2025, 6, 30)


def _d(days_before: int) -> date:
    return AS_OF - timedelta(days=days_before)


def _rows(expr: Any) -> dict[str, dict[str, Any]]:
    return {r["account_id"]: r for r in expr.to_pyarrow().to_pylist()}


CONTACTS = [
    {"contact_id": "c1", "account_id": "A", "role": "sponsor", "is_active": True},
    {
        "contact_id": "c2",
        "account_id": "A",
        "role": "champion",
        "is_active": False,
        "left_on": _d(30),
    },
    {
        "contact_id": "c3",
        "account_id": "B",
        "role": "champion",
        "is_active": False,
        "left_on": _d(-10),
    },  # leaves after as_of: still present
]
ACTIVITIES = [
    {"activity_id": "a1", "account_id": "A", "occurred_at": ts(_d(20)), "kind": "meeting"},
    {"activity_id": "a2", "account_id": "A", "occurred_at": ts(_d(100)), "kind": "business_review"},
    {"activity_id": "a3", "account_id": "A", "occurred_at": ts(_d(0), 23), "kind": "note"},
]
TICKETS = [
    {"ticket_id": "t1", "account_id": "A", "opened_at": ts(_d(10)), "priority": "urgent"},
    {
        "ticket_id": "t2",
        "account_id": "A",
        "opened_at": ts(_d(50)),
        "closed_at": ts(_d(40)),
        "priority": "high",
        "csat": 2,
    },
    {
        "ticket_id": "t3",
        "account_id": "A",
        "opened_at": ts(_d(120)),
        "closed_at": ts(_d(60)),
        "priority": "normal",
        "csat": 4,
    },
    {
        "ticket_id": "t4",
        "account_id": "A",
        "opened_at": ts(_d(150)),
        "closed_at": ts(_d(1)),
        "priority": "high",
        "csat": 5,
    },
]
SURVEYS = [
    {
        "response_id": "r1",
        "account_id": "A",
        "contact_id": "c1",
        "responded_at": ts(_d(150)),
        "kind": "nps",
        "score": 3,
    },
    {
        "response_id": "r2",
        "account_id": "A",
        "contact_id": "c1",
        "responded_at": ts(_d(20)),
        "kind": "nps",
        "score": 10,
    },
    {
        "response_id": "r3",
        "account_id": "A",
        "contact_id": "c2",
        "responded_at": ts(_d(100)),
        "kind": "nps",
        "score": 8,
    },
    {
        "response_id": "r4",
        "account_id": "A",
        "responded_at": ts(_d(10)),
        "kind": "csat",
        "score": 1,
    },
]
INVOICES = [
    {"invoice_id": "i1", "account_id": "A", "amount": 100, "issued_on": _d(60), "due_on": _d(30)},
    {
        "invoice_id": "i2",
        "account_id": "A",
        "amount": 100,
        "issued_on": _d(100),
        "due_on": _d(70),
        "paid_on": _d(60),
    },
    {
        "invoice_id": "i3",
        "account_id": "A",
        "amount": 100,
        "issued_on": _d(250),
        "due_on": _d(220),
        "paid_on": _d(225),
    },
    {
        "invoice_id": "i4",
        "account_id": "A",
        "amount": 100,
        "issued_on": _d(90),
        "due_on": _d(80),
        "status": "void",
    },
]
SUBSCRIPTIONS = [
    {
        "line_id": "l1",
        "account_id": "A",
        "product": "p",
        "mrr": 1000,
        "quantity": 10,
        "starts_on": date(2024, 1, 1),
        "ends_on": date(2025, 5, 1),
    },
    {
        "line_id": "l2",
        "account_id": "A",
        "product": "p",
        "mrr": 1500,
        "quantity": 20,
        "starts_on": date(2025, 5, 1),
        "ends_on": date(2026, 5, 1),
    },
    {"line_id": "l3", "account_id": "B", "product": "p", "mrr": 500, "starts_on": _d(10)},
    {"line_id": "l4", "account_id": "P", "product": "p", "mrr": 900, "starts_on": _d(400)},
]
ACCOUNTS = [
    {"account_id": "A", "name": "Acme", "category_budget": 60000, "is_prospect": False},
    {"account_id": "B", "name": "Beta", "is_prospect": False, "industry": "retail"},
    {"account_id": "P", "name": "Prospect", "is_prospect": True},
    {"account_id": "C", "name": "Churned", "is_prospect": False},
]


def test_relationship() -> None:
    rows = _rows(
        relationship_measures(table("contacts", CONTACTS), table("activities", ACTIVITIES), AS_OF)
    )
    assert rows["A"] == {
        "account_id": "A",
        "has_sponsor": 1,
        "has_champion": 0,
        "key_contact_left_90d": 1,
        "days_since_meeting": 20,
        "days_since_business_review": 100,
    }
    assert rows["B"]["has_champion"] == 1
    assert rows["B"]["key_contact_left_90d"] == 0
    assert rows["B"]["days_since_meeting"] is None


def test_support() -> None:
    a = _rows(support_measures(table("tickets", TICKETS), AS_OF))["A"]
    assert a["open_urgent_tickets"] == 1
    assert a["urgent_tickets_90d"] == 2  # t1 and t2; t4 was opened 150 days ago
    assert a["ticket_volume_trend"] == pytest.approx((2 - 2) / 2)
    assert a["csat_90d"] == pytest.approx((2 + 4 + 5) / 3)


def test_sentiment_takes_latest_response_per_contact() -> None:
    a = _rows(sentiment_measures(table("surveys", SURVEYS), AS_OF))["A"]
    # c1's latest is 10 (promoter), c2's 8 (passive); the csat response is not NPS
    assert a["nps_180d"] == pytest.approx(50.0)
    # 90 days earlier: c1 had answered 3 (detractor), c2 8 → -50
    assert a["nps_change_90d"] == pytest.approx(50.0 - (-50.0))


def test_payments() -> None:
    a = _rows(payment_measures(table("invoices", INVOICES), AS_OF))["A"]
    assert a["max_days_past_due"] == 30
    assert a["late_share_180d"] == pytest.approx(1.0)  # i1 unpaid after due, i2 paid late
    assert a["late_share_change"] == pytest.approx(1.0 - 0.0)


def test_subscriptions() -> None:
    a = _rows(subscription_measures(table("subscriptions", SUBSCRIPTIONS), AS_OF))["A"]
    assert a["mrr"] == pytest.approx(1500)
    assert a["arr"] == pytest.approx(18000)
    assert a["mrr_change_90d"] == pytest.approx(0.5)
    assert a["licensed_seats"] == 20
    assert a["tenure_days"] == (AS_OF - date(2024, 1, 1)).days
    assert a["days_to_renewal"] == (date(2026, 5, 1) - AS_OF).days


def _inputs(
    extra_events: list[Any] | None = None, **overrides: list[dict[str, Any]]
) -> MeasureInputs:
    events = [
        (_d(1), "A", "u1", "login", 3),
        (_d(2), "A", "u2", "report_created", 1),
        *(extra_events or []),
    ]
    data = {
        "accounts": ACCOUNTS,
        "contacts": CONTACTS,
        "subscriptions": SUBSCRIPTIONS,
        "invoices": INVOICES,
        "tickets": TICKETS,
        "surveys": SURVEYS,
        "activities": ACTIVITIES,
    }
    data.update(overrides)
    return MeasureInputs(rollup=rollup(events), **{k: table(k, v) for k, v in data.items()})


CONFIG = MeasureConfig(
    usage=UsageConfig(key_features=("report_created", "export")),
    custom=(CustomMeasure(name="reports_30d", events=("report_created",)),),
)


def _measures(inputs: MeasureInputs) -> dict[str, dict[str, Any]]:
    return _rows(compute_measures(inputs, AS_OF, CONFIG))


def test_compute_measures_keeps_customers_and_every_measure() -> None:
    rows = _measures(_inputs())
    assert set(rows) == {"A", "B"}  # P is a prospect, C has no MRR
    a, b = rows["A"], rows["B"]
    assert set(MEASURES) | {"reports_30d", "industry", "mrr", "arr"} <= set(a)
    assert a["license_utilization"] == pytest.approx(2 / 20)
    assert a["share_of_wallet"] == pytest.approx(18000 / 60000)
    assert a["feature_breadth_30d"] == pytest.approx(0.5)
    assert a["reports_30d"] == 1
    assert b["active_users_30d"] == 0  # a customer without events has zero usage
    assert b["days_since_last_activity"] is None
    assert b["industry"] == "retail"


def test_data_after_as_of_changes_nothing() -> None:
    later = AS_OF + timedelta(days=1)
    baseline = _measures(_inputs())
    changed = _measures(
        _inputs(
            extra_events=[(later, "A", "u7", "export", 9), (later, "B", "u1", "login", 2)],
            # the sponsor leaves the day after: as of AS_OF it was still there
            contacts=[{**CONTACTS[0], "is_active": False, "left_on": later}, *CONTACTS[1:]],
            tickets=[
                *TICKETS,
                {
                    "ticket_id": "t9",
                    "account_id": "A",
                    "opened_at": ts(later, 0),
                    "priority": "urgent",
                },
            ],
            surveys=[
                *SURVEYS,
                {
                    "response_id": "r9",
                    "account_id": "A",
                    "contact_id": "c1",
                    "responded_at": ts(later, 0),
                    "kind": "nps",
                    "score": 0,
                },
            ],
            invoices=[
                *INVOICES,
                {
                    "invoice_id": "i9",
                    "account_id": "B",
                    "amount": 5,
                    "issued_on": later,
                    "due_on": later,
                },
            ],
            subscriptions=[
                *SUBSCRIPTIONS,
                {"line_id": "l9", "account_id": "C", "product": "p", "mrr": 10, "starts_on": later},
            ],
            activities=[
                *ACTIVITIES,
                {
                    "activity_id": "a9",
                    "account_id": "B",
                    "occurred_at": ts(later, 0),
                    "kind": "meeting",
                },
            ],
        )
    )
    assert changed == baseline


def test_operational_days_end_at_midnight_in_the_workspace_time_zone() -> None:
    """22:00 in New York on the as-of day is already the next day in UTC."""
    late = ts(AS_OF + timedelta(days=1), 2)  # 2025-07-01 02:00 UTC = 2025-06-30 22:00 EDT
    tickets = table(
        "tickets",
        [{"ticket_id": "t", "account_id": "A", "opened_at": late, "priority": "urgent"}],
    )
    activities = table(
        "activities",
        [{"activity_id": "m", "account_id": "A", "occurred_at": late, "kind": "meeting"}],
    )
    contacts = table("contacts", [{"contact_id": "c", "account_id": "A", "role": "user"}])
    surveys = table(
        "surveys",
        [{"response_id": "r", "account_id": "A", "responded_at": late, "kind": "nps", "score": 10}],
    )
    for zone, seen in (("UTC", False), ("America/New_York", True)):
        support = _rows(support_measures(tickets, AS_OF, zone))
        assert support.get("A", {}).get("urgent_tickets_90d", 0) == (1 if seen else 0), zone
        people = _rows(relationship_measures(contacts, activities, AS_OF, zone))["A"]
        assert people["days_since_meeting"] == (0 if seen else None), zone
        nps = _rows(sentiment_measures(surveys, AS_OF, zone))
        assert nps.get("A", {}).get("nps_180d") == (100.0 if seen else None), zone
    # as of the next day, the meeting was one local day ago
    people = _rows(
        relationship_measures(contacts, activities, AS_OF + timedelta(days=1), "America/New_York")
    )
    assert people["A"]["days_since_meeting"] == 1
