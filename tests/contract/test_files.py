"""File formats and file-level problems: CSV, Parquet, JSON Lines, gzip; empty files,
header-only files, missing columns, encodings, line numbers and atomicity."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from keepwell.contract.service import import_file, read_table
from keepwell.core.errors import UnusableFileError
from keepwell.core.workspace import Workspace
from tests.factories import make_account, nth_row, write_rows


@pytest.mark.parametrize(
    "name", ["a.csv", "a.csv.gz", "a.parquet", "a.parquet.gz", "a.jsonl", "a.ndjson.gz"]
)
def test_every_format_loads_the_same_rows(
    sqlite_workspace: Workspace, tmp_path: Path, name: str
) -> None:
    rows = [make_account(account_id="0042"), make_account(account_id="0043", name="Beta")]
    report = import_file(sqlite_workspace, "accounts", write_rows(tmp_path / name, rows))

    assert (report.read, report.counts.new, report.rejected) == (2, 2, 0)
    table = read_table(sqlite_workspace, "accounts")
    assert table.column("account_id").to_pylist() == ["0042", "0043"], "ids stay strings"
    assert table.column("tier").to_pylist() == ["gold", "gold"]


@pytest.mark.parametrize("name", ["bad.csv", "bad.jsonl", "bad.parquet"])
def test_rejects_are_written_in_the_format_of_the_input(
    sqlite_workspace: Workspace, tmp_path: Path, name: str
) -> None:
    rows = [make_account(account_id="1"), make_account(account_id="2", employees="many")]
    report = import_file(sqlite_workspace, "accounts", write_rows(tmp_path / name, rows))

    assert report.rejects_path is not None
    assert report.rejects_path.name == name.replace("bad.", "bad.rejects.")
    fixed = tmp_path / f"fixed{report.rejects_path.suffix}"
    if name.endswith(".parquet"):
        table = pq.read_table(report.rejects_path)
        assert table.column("_rejected_reason").to_pylist()[0].startswith("line 2: employees")
        pq.write_table(
            table.set_column(
                table.schema.get_field_index("employees"), "employees", pa.array(["7"])
            ),
            fixed,
        )
    else:
        text = report.rejects_path.read_text()
        assert "line 3: employees" in text if name.endswith(".csv") else "line 2: employees" in text
        fixed.write_text(text.replace("many", "7"))
    again = import_file(sqlite_workspace, "accounts", fixed)
    assert (again.counts.new, again.rejected) == (1, 0)


def test_header_only_file_reads_nothing(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text("account_id,name\n")

    report = import_file(sqlite_workspace, "accounts", path)

    assert (report.read, report.loaded, report.rejected, report.exit_code) == (0, 0, 0, 0)


@pytest.mark.parametrize("name", ["empty.csv", "empty.jsonl", "empty.parquet", "empty.csv.gz"])
def test_empty_file_is_unusable(sqlite_workspace: Workspace, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(gzip.compress(b"") if name.endswith(".gz") else b"")

    with pytest.raises(UnusableFileError, match="empty"):
        import_file(sqlite_workspace, "accounts", path)


def test_missing_required_column_names_it(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text("account_id,industry\n1,Retail\n")

    with pytest.raises(UnusableFileError, match=r"accounts\.csv: missing required column name"):
        import_file(sqlite_workspace, "accounts", path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("account_id,name\n".encode("utf-16"), "UTF-16"),
        (b"account_id,na\xffme\n1,x\n", "encoding in the header"),
        (b"account_id,name,name\n1,x,y\n", "appears twice"),
        (b",\n1,x\n", "no header"),
    ],
)
def test_unreadable_headers_are_unusable(
    sqlite_workspace: Workspace, tmp_path: Path, data: bytes, message: str
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_bytes(data)

    with pytest.raises(UnusableFileError, match=message):
        import_file(sqlite_workspace, "accounts", path)


def test_unknown_extension_and_missing_file(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(UnusableFileError, match="unknown file format"):
        import_file(sqlite_workspace, "accounts", tmp_path / "a.xls")
    with pytest.raises(UnusableFileError, match="no such file"):
        import_file(sqlite_workspace, "accounts", tmp_path / "nope.csv")


def test_line_numbers_count_physical_lines(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(
        'account_id,name,employees\n1,"two\nline name",3\n\n2,b,x\n3,c,4,extra\n', encoding="utf-8"
    )

    report = import_file(sqlite_workspace, "accounts", path)

    assert [(r.line, r.problems[0].column) for r in report.examples] == [(5, "employees"), (6, "")]
    assert "4 fields where the header has 3" in report.examples[1].reason
    assert report.read == 3


def test_jsonl_lines_that_are_not_objects_are_rejected(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.jsonl"
    good = json.dumps(make_account(account_id="1"))
    path.write_bytes(f"{good}\n[1, 2]\n{{oops\n".encode() + b'{"account_id": "\xff"}\n')

    report = import_file(sqlite_workspace, "accounts", path)

    assert (report.read, report.loaded, report.rejected) == (4, 1, 3)
    reasons = [r.reason for r in report.examples]
    assert reasons[0] == "not a JSON object"
    assert reasons[1].startswith("not valid JSON")
    assert "UTF-8" in reasons[2]


def test_a_failure_mid_file_leaves_the_store_as_before(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keepwell.contract.service as service

    first = write_rows(tmp_path / "a.csv", [make_account(account_id="keep")])
    import_file(workspace, "accounts", first)
    rows = [make_account(account_id=f"n{i}") for i in range(10)]
    path = write_rows(tmp_path / "b.csv", rows)
    calls = {"n": 0}
    real = service.upsert

    def crash_on_second_batch(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "upsert", crash_on_second_batch)
    with pytest.raises(RuntimeError, match="disk on fire"):
        import_file(workspace, "accounts", path, batch_size=4)

    assert read_table(workspace, "accounts").column("account_id").to_pylist() == ["keep"]


def test_events_failure_mid_file_leaves_the_analytics_store_as_before(
    sqlite_workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keepwell.core.warehouse import AnalyticsStore

    import_file(sqlite_workspace, "accounts", write_rows(tmp_path / "a.csv", [make_account()]))
    path = write_rows(tmp_path / "e.csv", [nth_row("events", i) for i in range(1, 6)])
    real = AnalyticsStore.append_events
    calls = {"n": 0}

    def crash_on_second_batch(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("power cut")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(AnalyticsStore, "append_events", crash_on_second_batch)
    with pytest.raises(RuntimeError):
        import_file(sqlite_workspace, "events", path, batch_size=1)

    store = sqlite_workspace.analytics()
    assert store.events().count().execute() == 0
    assert store.rollup().count().execute() == 0


def test_rows_given_as_mappings_follow_the_same_rules(sqlite_workspace: Workspace) -> None:
    from keepwell.contract.service import load_rows

    rows = [
        {"account_id": "0042", "name": "Acme", "employees": 12, "tier": "gold"},
        {"account_id": "0043", "name": "Beta", "employees": -1},
    ]
    report = load_rows(sqlite_workspace, "accounts", rows)
    again = load_rows(sqlite_workspace, "accounts", rows[:1])

    assert (report.read, report.counts.new, report.rejected) == (2, 1, 1)
    assert report.examples[0].line == 2
    assert report.examples[0].reason == "employees: must be at least 0, got -1"
    assert again.counts.unchanged == 1
