"""The vectorised events path never accepts a row the row-by-row validator would
reject, and stores exactly the values it would store."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from keepwell.contract import fastpath
from keepwell.contract.schema import EVENTS
from keepwell.contract.validation import RowValidator
from keepwell.core.workspace import Workspace

CELLS: dict[str, list[str]] = {
    "timestamp": [
        "2026-01-01T10:00:00Z",
        "2026-01-01",
        "2026-01-01 10:00",
        "2026-01-01T10:00:00.5+02:00",
        "2026-02-30T10:00:00Z",
        "2026-1-1",
        "2026-01-01T24:00:00Z",
        "garbage",
        "",
        " 2026-01-02 ",
        "2026-01-01T10:00:00.1234567Z",
        "20260101T100000",
        "2026-01-01t10:00:00z",
        "2026-01-01T10:00:00-05:30",
        "2026-01-01T10:00:61",
    ],
    "account_id": ["0042", "nope", "", " ", " 0042"],
    "user_id": ["u1", "", " ", " u2 "],
    "event": ["login", "", " ", "report_created"],
    "count": ["", "0", "1", "+3", " 4 ", "1.5", "x", "99999999999999999999", "-1"],
    "message_id": ["m1", "m2", "", " "],
    "properties": ["", "{}", '{"a": 1, "b": "é"}', "[1]", "not json", '{"a":', " {} ", "null"],
}
ROW = st.fixed_dictionaries({k: st.sampled_from(v) for k, v in CELLS.items()})


def python_view(record: dict[str, Any]) -> tuple[Any, ...]:
    props = record.get("properties")
    return (
        record["timestamp"].astimezone(UTC).replace(tzinfo=None),
        record["account_id"],
        record.get("user_id"),
        record["event"],
        record.get("count") or 1,
        record["message_id"],
        props,
    )


def fast_view(row: dict[str, Any]) -> tuple[Any, ...]:
    props = None if row["properties"] is None else json.loads(row["properties"])
    return (
        row["timestamp"],
        row["account_id"],
        row["user_id"],
        row["event"],
        row["count"],
        row["message_id"],
        props,
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(ROW, min_size=1, max_size=25))
def test_fast_path_accepts_only_what_the_validator_accepts(rows: list[dict[str, str]]) -> None:
    columns = list(EVENTS.names)
    table = fastpath.as_text_table(columns, [[r[c] for c in columns] for r in rows])
    assert table is not None
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    accounts = pa.table({"account_id": ["0042"]})

    result = fastpath.check_events(con, table, accounts)

    validator = RowValidator(EVENTS, {"0042"}.__contains__)
    verdicts = [validator.validate(row, i + 2)[0] for i, row in enumerate(rows)]
    accepted_positions = sorted(set(range(len(rows))) - set(result.undecided))
    assert len(accepted_positions) == result.accepted.num_rows
    for position, fast_row in zip(accepted_positions, result.accepted.to_pylist(), strict=True):
        record = verdicts[position]
        assert record is not None, f"fast path accepted a row Python rejects: {rows[position]}"
        assert fast_view(fast_row) == python_view(record)


def test_files_with_extra_columns_or_without_message_id_go_row_by_row() -> None:
    assert fastpath.supports(["timestamp", "account_id", "event", "message_id"])
    assert not fastpath.supports(["timestamp", "account_id", "event"])
    assert not fastpath.supports(["timestamp", "account_id", "event", "message_id", "plan"])


def test_undecodable_cells_make_no_table() -> None:
    assert fastpath.as_text_table(["event"], [["caf\udce9"]]) is None


def test_plainly_valid_rows_take_the_fast_path() -> None:
    columns = list(EVENTS.names)
    row = ["2026-01-01T10:00:00Z", "0042", "u1", "login", "2", "m1", '{"a": 1}']
    table = fastpath.as_text_table(columns, [row, [*row[:5], "m2", ""]])
    assert table is not None
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")

    result = fastpath.check_events(con, table, pa.table({"account_id": ["0042"]}))

    assert result.undecided == []
    assert result.accepted.column("properties").to_pylist() == ['{"a":1}', None]


def test_csv_fast_path_and_jsonl_row_path_load_and_reject_the_same(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    import itertools

    from keepwell.contract.service import import_file
    from tests.factories import make_account, write_rows

    import_file(sqlite_workspace, "accounts", write_rows(tmp_path / "a.csv", [make_account()]))
    picks = {k: v[:6] for k, v in CELLS.items()}
    rows = [
        {**dict(zip(picks, combo, strict=True)), "message_id": f"m{i}"}
        for i, combo in enumerate(itertools.islice(itertools.product(*picks.values()), 0, None, 97))
    ]
    fast = import_file(sqlite_workspace, "events", write_rows(tmp_path / "e.csv", rows))
    stored_fast = _events(sqlite_workspace)
    sqlite_workspace.analytics().con.con.execute(
        "DELETE FROM events; DELETE FROM event_daily; DELETE FROM event_keys"
    )
    slow = import_file(sqlite_workspace, "events", write_rows(tmp_path / "e.jsonl", rows))

    assert fast.read == slow.read == len(rows)
    assert (fast.counts.new, fast.rejected) == (slow.counts.new, slow.rejected)
    assert 0 < fast.counts.new < len(rows)
    assert [(r.line - 1, r.reason) for r in fast.examples] == [
        (r.line, r.reason) for r in slow.examples
    ]
    assert stored_fast == _events(sqlite_workspace)


def _events(ws: Workspace) -> list[tuple[Any, ...]]:
    rows = (
        ws.analytics()
        .con.con.execute(
            "SELECT timestamp, account_id, user_id, event, count, message_id, properties "
            "FROM events"
        )
        .fetchall()
    )
    views = [(*r[:6], None if r[6] is None else json.loads(r[6])) for r in rows]
    return sorted(views, key=lambda v: str(v[5]))


def test_cells_python_reads_as_empty_are_never_accepted_by_the_engine() -> None:
    """Tabs and wide spaces make a cell empty for the validator (``str.isspace``), not
    only the ASCII space: the fast path leaves such a cell to Python."""
    columns = list(EVENTS.names)
    good = {
        "timestamp": "2026-01-01T10:00:00Z", "account_id": "0042", "user_id": "u1",
        "event": "login", "count": "2", "message_id": "m1", "properties": "",
    }  # fmt: skip
    rows = [
        {**good, "message_id": f"m{i}-{j}", column: blank}
        for i, column in enumerate(("event", "user_id", "message_id"))
        for j, blank in enumerate(("\t", "\u00a0", "\u3000", "\n", " \t", "\x1f", "\u2028"))
    ]
    table = fastpath.as_text_table(columns, [[r[c] for c in columns] for r in rows])
    assert table is not None
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")

    result = fastpath.check_events(con, table, pa.table({"account_id": ["0042"]}))

    validator = RowValidator(EVENTS, {"0042"}.__contains__)
    accepted = sorted(set(range(len(rows))) - set(result.undecided))
    for position, fast_row in zip(accepted, result.accepted.to_pylist(), strict=True):
        record = validator.validate(rows[position], position + 2)[0]
        assert record is not None, f"fast path accepted a row Python rejects: {rows[position]}"
        assert fast_view(fast_row) == python_view(record)
    assert len(result.undecided) == len(rows)  # none of them is plainly valid
