"""Reading an entity back as an Arrow table: on SQLite from the stored values converted
by column in Arrow (the fast path the health measures use on every scoring), the same
table, value for value and type for type, as through SQLAlchemy's column types."""

from __future__ import annotations

from pathlib import Path

import pytest

from keepwell.contract import service as contract_service
from keepwell.contract.schema import Entity, get_entity
from keepwell.contract.service import import_file
from keepwell.core.errors import InputError
from keepwell.core.workspace import Workspace
from tests.conftest import make_workspace
from tests.factories import write_rows

ROWS = {
    "accounts": [
        {"account_id": "A", "name": "Acme", "employees": "12", "created_at": "2024-01-31",
         "category_budget": "1234.567891", "is_prospect": "false", "plan_tier": "gold"},
        {"account_id": "B", "name": "Beta", "employees": "", "created_at": "",
         "category_budget": "0.1", "is_prospect": "true", "plan_tier": ""},
        {"account_id": "C", "name": "Gamma", "employees": "0", "created_at": "2025-02-28",
         "category_budget": "", "is_prospect": "", "plan_tier": "12"},
    ],
    "contacts": [
        {"contact_id": "c1", "account_id": "A", "email": "a@acme.example", "is_active": "false",
         "left_on": "2025-07-15", "joined_on": "2025-06-20"},
        {"contact_id": "c2", "account_id": "B", "email": "", "is_active": "", "left_on": "",
         "joined_on": ""},
    ],
    "subscriptions": [
        {"line_id": "l1", "account_id": "A", "product": "core", "mrr": "10000", "currency": "EUR",
         "quantity": "3", "starts_on": "2024-10-01", "ends_on": "", "auto_renew": "true"},
        {"line_id": "l2", "account_id": "B", "product": "core", "mrr": "99.995", "currency": "",
         "quantity": "", "starts_on": "2024-06-01", "ends_on": "2026-05-31", "auto_renew": ""},
        {"line_id": "l3", "account_id": "C", "product": "add-on", "mrr": "0.000001",
         "currency": "USD", "quantity": "1", "starts_on": "2025-01-01", "ends_on": "",
         "auto_renew": "false"},
    ],
    "invoices": [
        {"invoice_id": "i1", "account_id": "A", "amount": "-12.5", "issued_on": "2025-06-01",
         "due_on": "2025-06-16", "paid_on": "", "status": "open"},
        {"invoice_id": "i2", "account_id": "B", "amount": "123456789.123456",
         "issued_on": "2025-06-01", "due_on": "2025-06-16", "paid_on": "2025-06-02",
         "status": "paid"},
    ],
    "tickets": [
        {"ticket_id": "t1", "account_id": "A", "opened_at": "2025-03-01T10:00:00Z",
         "closed_at": "2025-03-02T11:30:15.250000+02:00", "priority": "high", "csat": "4"},
        {"ticket_id": "t2", "account_id": "B", "opened_at": "2025-03-01 23:59:59",
         "closed_at": "", "priority": "low", "csat": ""},
    ],
    "activities": [
        {"activity_id": "x1", "account_id": "A", "occurred_at": "2025-03-01T10:00:00.123456Z",
         "kind": "call", "tags": "renewal;risk", "topic": "pricing"},
        {"activity_id": "x2", "account_id": "B", "occurred_at": "2025-03-01T10:00:00Z",
         "kind": "email", "tags": "", "topic": ""},
    ],
}  # fmt: skip


def every_column(entity: Entity) -> contract_service._Read:
    return contract_service._Read(entity, entity.columns)


@pytest.fixture
def company(tmp_path: Path) -> Workspace:
    ws = make_workspace(tmp_path / "ws")
    for entity, rows in ROWS.items():
        report = import_file(ws, entity, write_rows(tmp_path / f"{entity}.csv", rows))
        assert report.rejected == 0, (entity, report)
    return ws


@pytest.mark.parametrize("name", [*ROWS, "surveys", "fx_rates"])
def test_the_sqlite_read_is_the_sqlalchemy_read(company: Workspace, name: str) -> None:
    entity = get_entity(name)
    fast = contract_service._read_sqlite_table(company, every_column(entity), None)
    typed = contract_service._read_table(company, every_column(entity), None)
    assert fast.schema.equals(typed.schema)
    assert fast.equals(typed), (fast.to_pylist(), typed.to_pylist())
    assert contract_service.read_table(company, name).equals(typed)
    one = contract_service.read_table(company, name, account_id="A") if name != "fx_rates" else None
    if one is not None:
        assert one.equals(contract_service._read_table(company, every_column(entity), "A"))
    company.close()


def test_tagged_activities_are_those_the_whole_table_shows_with_the_tag(
    workspace: Workspace, tmp_path: Path
) -> None:
    """The store picks the rows by the tags' text; the result is what reading every
    activity and checking its tags gives (trimmed, any case; not a longer tag)."""
    import_file(
        workspace, "accounts", write_rows(tmp_path / "a.csv", [{"account_id": "A", "name": "Acme"}])
    )
    tags = ["Feature_Request ", "feature_requests", "x", "y;feature_request", "featureXrequest",
            "", "feature%request"]  # fmt: skip
    rows = [{"activity_id": f"n{i}", "account_id": "A", "kind": "note", "tags": t,
             "occurred_at": f"2026-01-0{i + 1}T10:00:00Z"} for i, t in enumerate(tags)]  # fmt: skip
    import_file(workspace, "activities", write_rows(tmp_path / "n.csv", rows))
    every = contract_service.read_table(workspace, "activities").to_pylist()
    expected = [a["activity_id"] for a in every
                if "feature_request" in {t.strip().lower() for t in a["tags"] or []}]  # fmt: skip
    found = contract_service.tagged_activities(workspace, "feature_request")
    assert [a["activity_id"] for a in found] == expected == ["n0", "n3"]


def test_attributes_decoded_once_per_text_are_those_of_each_row(company: Workspace) -> None:
    """The fast read decodes each distinct attributes text once and spreads it over its
    rows: the same columns, names (a collision twice over) and texts of every value."""
    shared = '{"account_id": "x", "attr_account_id": 1, "n": 2.5, "b": true, "o": {"k": [1]}}'
    with company.engine.begin() as conn:
        driver = conn.connection.driver_connection
        for table, key, texts in (
            ("accounts", "account_id", {"A": shared, "B": shared, "C": "null"}),
            ("contacts", "contact_id", {"c1": '{"zeta": null, "n": 0}', "c2": "{}"}),
        ):
            for row, text in texts.items():
                driver.execute(f"UPDATE {table} SET attributes = ? WHERE {key} = ?", (text, row))
        driver.execute('UPDATE activities SET tags = \'["a", "b"]\'')
    for name in ("accounts", "contacts", "activities"):
        entity = get_entity(name)
        fast = contract_service._read_sqlite_table(company, every_column(entity), None)
        typed = contract_service._read_table(company, every_column(entity), None)
        assert fast.equals(typed), (fast.to_pylist(), typed.to_pylist())
    accounts = contract_service.read_table(company, "accounts")
    assert {"attr_account_id", "attr_attr_account_id", "n", "b", "o"} <= set(accounts.column_names)
    assert accounts["attr_attr_account_id"].to_pylist() == ["1", "1", None]
    company.close()


@pytest.mark.parametrize("name", [*ROWS])
def test_a_read_of_some_columns_is_those_columns_of_the_whole_read(
    company: Workspace, name: str
) -> None:
    """``columns`` reads those contract columns, in the contract's order, without the
    custom attributes, with the values and types of the whole read, on both paths."""
    entity = get_entity(name)
    whole = contract_service.read_table(company, name)
    wanted = [c.name for c in entity.columns][::-2]  # every other one, reversed
    part = contract_service.read_table(company, name, columns=wanted)
    order = [c.name for c in entity.columns if c.name in wanted]
    assert part.column_names == order
    assert part.equals(whole.select(order))
    chosen = [c for c in entity.columns if c.name in wanted]
    read = contract_service._Read(entity, chosen, attributes=False)
    typed = contract_service._read_table(company, read, None)
    assert typed.equals(part)
    with pytest.raises(InputError, match="no column nope"):
        contract_service.read_table(company, name, columns=["nope"])
    company.close()
