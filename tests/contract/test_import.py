"""Import of every entity: good rows, each kind of bad row, idempotence, dry runs,
rejects round-trips and custom attributes, on both store backends."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from keepwell.contract.schema import ENTITIES, REJECT_REASON_COLUMN, Entity, Kind
from keepwell.contract.service import ImportReport, import_file, read_table
from keepwell.core.workspace import Workspace
from tests.factories import IDENTITY, make_account, nth_row, write_rows

NAMES = list(ENTITIES)


def load(ws: Workspace, entity: str, path: Path, **kwargs: Any) -> ImportReport:
    return import_file(ws, entity, path, **kwargs)


def prepare(ws: Workspace, entity: str, tmp_path: Path) -> None:
    """Rows of most entities belong to an account: load account 0042 first."""
    if ENTITIES[entity].references_account:
        report = load(ws, "accounts", write_rows(tmp_path / "acc.csv", [make_account()]))
        assert report.counts.new == 1


def stored(ws: Workspace, entity: str) -> pa.Table:
    if entity == "events":
        return ws.analytics().events().to_pyarrow()
    return read_table(ws, entity)


def identities(ws: Workspace, entity: str) -> list[str]:
    return sorted(str(v) for v in stored(ws, entity).column(IDENTITY[entity]).to_pylist())


@pytest.mark.parametrize("entity", NAMES)
def test_good_rows_load_and_reimport_changes_nothing(
    workspace: Workspace, tmp_path: Path, entity: str
) -> None:
    prepare(workspace, entity, tmp_path)
    path = write_rows(tmp_path / f"{entity}.csv", [nth_row(entity, 1), nth_row(entity, 2)])

    first = load(workspace, entity, path)
    again = load(workspace, entity, path)

    assert (first.read, first.counts.new, first.rejected, first.exit_code) == (2, 2, 0, 0)
    assert (again.read, again.counts.new, again.counts.updated) == (2, 0, 0)
    assert again.counts.unchanged == 2
    assert len(identities(workspace, entity)) == 2
    assert not (tmp_path / f"{entity}.rejects.csv").exists()


@pytest.mark.parametrize("entity", NAMES)
def test_dry_run_writes_nothing(workspace: Workspace, tmp_path: Path, entity: str) -> None:
    prepare(workspace, entity, tmp_path)
    path = write_rows(tmp_path / f"{entity}.csv", [nth_row(entity, 1)])

    report = load(workspace, entity, path, dry_run=True)

    assert (report.read, report.counts.new, report.dry_run) == (1, 1, True)
    assert identities(workspace, entity) == []


def bad_cases(entity: Entity) -> list[tuple[str, str, dict[str, str]]]:
    """(kind of bad row, the column blamed, overrides that make a valid row bad)."""
    cases: list[tuple[str, str, dict[str, str]]] = []
    key = set(entity.key)
    required = [c for c in entity.columns if c.required and c.name not in key]
    if required:
        cases.append(("missing required value", required[0].name, {required[0].name: ""}))
    numbers = [c for c in entity.columns if c.kind in (Kind.INTEGER, Kind.DECIMAL)]
    if numbers:
        cases.append(("wrong type", numbers[0].name, {numbers[0].name: "12abc"}))
    enums = [c for c in entity.columns if c.kind is Kind.ENUM]
    if enums:
        cases.append(("bad enum value", enums[0].name, {enums[0].name: "bogus"}))
    money = [c for c in entity.columns if c.kind is Kind.DECIMAL and c.minimum is not None]
    if money:
        cases.append(("negative money", money[0].name, {money[0].name: "-5.00"}))
    if entity.references_account:
        cases.append(("unknown account", "account_id", {"account_id": "nope"}))
    dates = [c for c in entity.columns if c.kind in (Kind.DATE, Kind.TIMESTAMP)]
    if dates:
        cases.append(("malformed date", dates[0].name, {dates[0].name: "2025-02-30"}))
    return cases


BAD = [
    pytest.param(entity.name, kind, column, overrides, id=f"{entity.name}-{kind}")
    for entity in ENTITIES.values()
    for kind, column, overrides in bad_cases(entity)
]


@pytest.mark.parametrize(("entity", "kind", "column", "overrides"), BAD)
def test_bad_row_is_rejected_and_the_rest_loaded(
    workspace: Workspace,
    tmp_path: Path,
    entity: str,
    kind: str,
    column: str,
    overrides: dict[str, str],
) -> None:
    prepare(workspace, entity, tmp_path)
    rows = [nth_row(entity, 1), nth_row(entity, 2, **overrides), nth_row(entity, 3)]
    path = write_rows(tmp_path / f"{entity}.csv", rows)

    report = load(workspace, entity, path)

    assert (report.read, report.loaded, report.rejected, report.exit_code) == (3, 2, 1, 1)
    [rejected] = report.examples
    assert rejected.line == 3
    assert any(p.column == column for p in rejected.problems), rejected.reason
    assert len(identities(workspace, entity)) == 2


@pytest.mark.parametrize("entity", [e.name for e in ENTITIES.values() if e.key])
def test_duplicate_key_within_the_file_is_rejected(
    workspace: Workspace, tmp_path: Path, entity: str
) -> None:
    prepare(workspace, entity, tmp_path)
    rows = [nth_row(entity, 1), nth_row(entity, 2), nth_row(entity, 1)]
    report = load(workspace, entity, write_rows(tmp_path / f"{entity}.csv", rows))

    assert (report.loaded, report.rejected) == (2, 1)
    assert "duplicate key" in report.examples[0].reason
    assert "first on line 2" in report.examples[0].reason


@pytest.mark.parametrize("entity", NAMES)
def test_non_utf8_bytes_reject_only_their_row(
    workspace: Workspace, tmp_path: Path, entity: str
) -> None:
    prepare(workspace, entity, tmp_path)
    path = write_rows(tmp_path / f"{entity}.csv", [nth_row(entity, 1, note="ok")])
    bad = write_rows(tmp_path / "bad.csv", [nth_row(entity, 2, note="@@")])
    line = bad.read_bytes().splitlines()[1].replace(b"@@", b"caf\xe9")
    path.write_bytes(path.read_bytes() + line + b"\n")

    report = load(workspace, entity, path)

    assert (report.read, report.loaded, report.rejected) == (2, 1, 1)
    assert report.examples[0].problems[0].column == "note"
    assert "UTF-8" in report.examples[0].reason
    assert report.rejects_path is not None
    assert b"caf\xe9" in report.rejects_path.read_bytes(), "rejects keep the original bytes"


@pytest.mark.parametrize("entity", NAMES)
def test_rejects_file_round_trip(workspace: Workspace, tmp_path: Path, entity: str) -> None:
    prepare(workspace, entity, tmp_path)
    _, column, overrides = bad_cases(ENTITIES[entity])[0]
    path = write_rows(
        tmp_path / f"{entity}.csv", [nth_row(entity, 1), nth_row(entity, 2, **overrides)]
    )
    rejects = tmp_path / "out" / "rejects.csv"

    first = load(workspace, entity, path, rejects_path=rejects)

    assert first.rejects_path == rejects
    rows = list(csv.DictReader(rejects.open(newline="")))
    assert len(rows) == 1
    assert rows[0][REJECT_REASON_COLUMN].startswith(f"line 3: {column}:")
    rows[0][column] = nth_row(entity, 2)[column]  # the user fixes the value in place
    write_rows(rejects, rows)

    second = load(workspace, entity, rejects, rejects_path=tmp_path / "again.csv")

    assert (second.read, second.counts.new, second.rejected) == (1, 1, 0), second.examples
    assert len(identities(workspace, entity)) == 2


@pytest.mark.parametrize("entity", NAMES)
def test_unknown_columns_are_kept_as_attributes(
    workspace: Workspace, tmp_path: Path, entity: str
) -> None:
    prepare(workspace, entity, tmp_path)
    path = write_rows(tmp_path / f"{entity}.csv", [nth_row(entity, 1, region="EMEA")])

    assert load(workspace, entity, path).counts.new == 1

    if entity == "events":
        [props] = stored(workspace, entity).column("properties").to_pylist()
        assert json.loads(props) == {"browser": "firefox", "region": "EMEA"}
    else:
        assert stored(workspace, entity).column("region").to_pylist()[-1] == "EMEA"


def test_read_table_for_one_account_reads_only_its_rows(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    accounts = [make_account(account_id="A", name="A Co"), make_account(account_id="B", name="B")]
    load(sqlite_workspace, "accounts", write_rows(tmp_path / "acc.csv", accounts))
    lines = [
        nth_row("subscriptions", 1, account_id="A"),
        nth_row("subscriptions", 2, account_id="B"),
        nth_row("subscriptions", 3, account_id="A"),
    ]
    load(sqlite_workspace, "subscriptions", write_rows(tmp_path / "subs.csv", lines))
    mine = read_table(sqlite_workspace, "subscriptions", account_id="A")
    assert sorted(mine.column("account_id").to_pylist()) == ["A", "A"]
    assert read_table(sqlite_workspace, "subscriptions").schema == mine.schema
    assert read_table(sqlite_workspace, "accounts", account_id="B").num_rows == 1
