"""Bad input found by fuzzing and fault tests (issue 23, item 12), import path: each
rejects the row it is in, never the whole import, on both store backends."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from keepwell.contract.schema import ENTITIES
from keepwell.contract.service import import_file, read_table
from keepwell.core.workspace import Workspace
from tests.factories import make_account, nth_row, write_rows


@pytest.mark.parametrize("column", ["industry", "account_id"])
def test_a_value_too_wide_for_its_column_rejects_only_its_row(
    workspace: Workspace, tmp_path: Path, column: str
) -> None:
    rows = [
        make_account(account_id="1"),
        make_account(account_id="2"),
        make_account(account_id="3"),
    ]
    rows[1][column] = "x" * 300
    report = import_file(workspace, "accounts", write_rows(tmp_path / "a.csv", rows))

    assert (report.read, report.loaded, report.rejected) == (3, 2, 1)
    assert report.examples[0].line == 3
    assert report.examples[0].reason == f"{column}: is 300 characters long; at most 255 fit"
    assert read_table(workspace, "accounts").column("account_id").to_pylist() == ["1", "3"]


@pytest.mark.parametrize("name", ["a.csv", "a.jsonl", "a.parquet"])
def test_a_nul_character_in_a_cell_rejects_only_its_row(
    workspace: Workspace, tmp_path: Path, name: str
) -> None:
    rows = [
        make_account(account_id="1"),
        make_account(account_id="2", name="Ac\x00me"),
        make_account(account_id="3", tier="go\x00ld"),  # an extra column, kept as attribute
        make_account(account_id="4"),
    ]
    report = import_file(workspace, "accounts", write_rows(tmp_path / name, rows))

    assert (report.read, report.loaded, report.rejected) == (4, 2, 2)
    assert [p.column for r in report.examples for p in r.problems] == ["name", "tier"]
    assert "NUL character" in report.examples[0].reason
    assert read_table(workspace, "accounts").column("account_id").to_pylist() == ["1", "4"]


def test_every_width_matches_the_store_column() -> None:
    """The contract's widths are those of the operational tables, so a row that passes
    validation always fits (the store's error would fail the whole import)."""
    from keepwell.contract.store import MODELS

    for entity in ENTITIES.values():
        if entity.name == "events":
            continue
        table = MODELS[entity.name].__table__
        for column in entity.columns:
            length = getattr(table.c[column.name].type, "length", None)
            if (
                length is not None
                and not column.choices
                and column.name
                not in {
                    "country",
                    "currency",
                }
            ):
                assert column.max_length == length, f"{entity.name}.{column.name}"


HOLD_LOCK = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")
con.execute("UPDATE accounts SET name = name")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.execute("COMMIT")
"""


def test_an_import_waits_for_another_process_writing_to_the_sqlite_store(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    """Another process (the server, another import) holds the write lock for longer
    than SQLite's default 5 s wait: the import waits for it instead of failing with
    'database is locked'."""
    import_file(sqlite_workspace, "accounts", write_rows(tmp_path / "a.csv", [make_account()]))
    database = str(sqlite_workspace.engine.url.database)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, database, "6"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        started = time.monotonic()
        path = write_rows(tmp_path / "s.csv", [nth_row("subscriptions", i) for i in (1, 2)])
        report = import_file(sqlite_workspace, "subscriptions", path)
        waited = time.monotonic() - started
    finally:
        holder.wait(timeout=60)
    assert (report.counts.new, report.rejected) == (2, 0)
    assert waited > 4, "the import should have waited for the other writer"
    assert holder.returncode == 0
