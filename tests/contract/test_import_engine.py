"""The engine import path: rejected rows anywhere in a file come back with their exact
physical lines; nothing is lost at 1M rows; a killed import leaves the stores as before."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from keepwell.contract import csvscan
from keepwell.contract.service import import_file
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace, init_workspace
from tests.factories import make_account, write_rows

COLUMNS = ["timestamp", "account_id", "user_id", "event", "count", "message_id", "properties"]
#: A bad cell per kind of rejection, taken in turn by the bad rows.
BAD = [
    {"account_id": "nope"},
    {"timestamp": "2026-02-30T10:00:00Z"},
    {"count": "0"},
    {"event": ""},
    {"properties": "[1]"},
    {"user_id": "u\x00"},
]


def event(i: int) -> dict[str, str]:
    return {
        "timestamp": f"2026-01-{1 + i % 28:02d}T10:{i % 60:02d}:00Z",
        "account_id": "0042",
        "user_id": f"u{i % 7}",
        "event": "login",
        "count": str(1 + i % 3),
        "message_id": f"m{i}",
        # every 37th row has a cell over two lines: physical lines drift from row numbers
        "properties": '{"note":\n "two lines"}' if i % 37 == 0 else "",
    }


def spread_file(path: Path, rows: int) -> list[int]:
    """An events CSV of ``rows`` rows whose first, last and every 1000th row are bad,
    with blank lines and cells over two lines here and there; returns the physical
    lines of the bad rows."""
    bad_lines = []
    line = 2  # the header is line 1
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for i in range(1, rows + 1):
            row = event(i)
            if i == 1 or i == rows or i % 1000 == 0:
                row.update(BAD[len(bad_lines) % len(BAD)])
                bad_lines.append(line)
            writer.writerow([row[c] for c in COLUMNS])
            line += 1 + row["properties"].count("\n")
            if i % 501 == 0:
                handle.write("\n")  # a blank line: skipped, but it counts
                line += 1
    return bad_lines


@pytest.fixture
def events_ws(sqlite_workspace: Workspace, tmp_path: Path) -> Workspace:
    import_file(sqlite_workspace, "accounts", write_rows(tmp_path / "a.csv", [make_account()]))
    return sqlite_workspace


@pytest.mark.parametrize("block_bytes", [4096, 8 << 20])
def test_rejected_rows_spread_through_a_csv_file_come_back_with_their_lines(
    events_ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_bytes: int
) -> None:
    monkeypatch.setattr(csvscan, "BLOCK_BYTES", block_bytes)  # many blocks, or one
    path = tmp_path / "events.csv"
    bad_lines = spread_file(path, 5000)

    report = import_file(events_ws, "events", path, batch_size=300)

    assert [r.line for r in report.examples] == bad_lines
    assert (report.read, report.rejected, report.counts.new) == (5000, 6, 4994)
    assert report.rejects_path is not None
    with report.rejects_path.open(newline="", encoding="utf-8") as handle:
        reasons = [row["_rejected_reason"] for row in csv.DictReader(handle)]
    assert [int(r.split(":")[0].removeprefix("line ")) for r in reasons] == bad_lines
    assert "unknown account 'nope'" in reasons[0]
    assert "NUL" in reasons[5]


def test_rejected_rows_spread_through_a_parquet_file_come_back_with_their_rows(
    events_ws: Workspace, tmp_path: Path
) -> None:
    rows = []
    for i in range(1, 3001):
        row = event(i)
        if i in (1, 1000, 2000, 3000):
            row.update(BAD[i % len(BAD)])
        rows.append(row)
    path = write_rows(tmp_path / "events.parquet", rows)

    report = import_file(events_ws, "events", path, batch_size=250)

    assert [r.line for r in report.examples] == [1, 1000, 2000, 3000]
    assert (report.read, report.rejected, report.counts.new) == (3000, 4, 2996)


def test_an_unclosed_quote_rejects_its_line_and_the_rest_loads(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.csv"
    lines = ["account_id,name"] + [f"{i},Account {i}" for i in range(1, 1001)]
    lines[2] = '2,"Acme'  # the quote never closes
    path.write_text("\n".join(lines) + "\n")

    report = import_file(sqlite_workspace, "accounts", path)

    assert (report.read, report.loaded, report.rejected) == (1000, 999, 1)
    assert report.examples[0].line == 3
    assert "quote opened on this line is never closed" in report.examples[0].reason


def test_an_unclosed_quote_in_the_last_line_of_events(events_ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    rows = [",".join(event(i)[c] for c in COLUMNS[:-1]) + "," for i in range(1, 2001)]
    rows[-1] = rows[-1] + '"{'
    path.write_text(",".join(COLUMNS) + "\n" + "\n".join(rows) + "\n")

    report = import_file(events_ws, "events", path)

    assert (report.read, report.counts.new, report.rejected) == (2000, 1999, 1)
    assert report.examples[0].line == 2001


def write_events_csv(path: Path, rows: int, bad_every: int = 0) -> int:
    """``rows`` events for account 0042, written by Arrow (fast); every ``bad_every``-th
    names an unknown account. Returns how many are bad."""
    index = np.arange(rows)
    bad = (index % bad_every == bad_every - 1) if bad_every else np.zeros(rows, dtype=bool)
    accounts = np.where(bad, "x", "0042")
    table = pa.table(
        {
            "timestamp": pa.array(np.full(rows, "2026-01-02T03:04:05Z")),
            "account_id": pa.array(accounts),
            "event": pa.array(np.full(rows, "login")),
            "message_id": pa.array(np.char.add("m", index.astype(str))),
        }
    )
    pacsv.write_csv(table, path)
    return rows // bad_every if bad_every else 0


@pytest.mark.slow
def test_a_million_rows_are_all_loaded_or_rejected(events_ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    bad = write_events_csv(path, 1_000_000, bad_every=10_000)

    report = import_file(events_ws, "events", path)

    assert report.read == 1_000_000
    assert report.read == report.loaded + report.rejected
    assert (report.rejected, report.counts.new) == (bad, 1_000_000 - bad)
    assert events_ws.analytics().events().count().execute() == 1_000_000 - bad


def _stores(ws: Workspace) -> tuple[object, ...]:
    con = ws.analytics().con.con
    return (
        con.execute("SELECT count(*), sum(count) FROM events").fetchall(),
        con.execute("SELECT count(*), sum(count) FROM event_daily").fetchall(),
        con.execute("SELECT count(*) FROM event_keys").fetchall(),
    )


def _kill_when_half_read(process: subprocess.Popen[bytes], path: Path) -> None:
    """SIGKILL ``process`` once it has read half of ``path`` (its file offset)."""
    size = path.stat().st_size
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, "the import finished before it could be killed"
        fds = Path(f"/proc/{process.pid}/fd")
        for fd in fds.iterdir() if fds.exists() else []:
            try:
                if Path(os.readlink(fd)) != path:
                    continue
                info = (Path(f"/proc/{process.pid}/fdinfo") / fd.name).read_text()
            except OSError:
                continue
            if int(info.split()[1]) >= size // 2:
                process.send_signal(signal.SIGKILL)
                process.wait()
                return
        time.sleep(0.01)
    pytest.fail("the import never got half way through the file")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/fdinfo").exists(), reason="needs Linux /proc")
def test_a_killed_import_leaves_the_stores_as_before_and_then_completes(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    ws = init_workspace(home, settings=Settings(home=home))
    import_file(ws, "accounts", write_rows(tmp_path / "a.csv", [make_account()]))
    first = tmp_path / "first.csv"
    write_events_csv(first, 10)
    import_file(ws, "events", first)
    before = _stores(ws)
    ws.close()
    path = tmp_path / "events.csv"
    write_events_csv(path, 400_000)  # ~20 MB: a few blocks of the scanner
    command = [sys.executable, "-m", "keepwell", "import", "events", str(path), "--quiet"]
    env = {**os.environ, "KEEPWELL_HOME": str(home)}

    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _kill_when_half_read(process, path)

    ws = init_workspace(home, settings=Settings(home=home))
    assert process.returncode == -signal.SIGKILL
    assert _stores(ws) == before
    ws.close()
    done = subprocess.run([*command, "--format", "json"], env=env, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    summary = json.loads(done.stdout)
    assert (summary["read"], summary["new"], summary["unchanged"]) == (400_000, 399_990, 10)


def test_nul_characters_in_a_parquet_file_are_rejected(
    events_ws: Workspace, tmp_path: Path
) -> None:
    """The engine skips its NUL checks for a batch whose text bytes hold none: the
    batches that hold one keep them (in a column of its own or in the shared buffer
    of a slice)."""
    rows = [event(i) for i in range(1, 101)]
    rows[9]["user_id"] = "u\x00"
    rows[99]["event"] = "log\x00in"
    path = write_rows(tmp_path / "events.parquet", rows)

    report = import_file(events_ws, "events", path, batch_size=10)

    assert [r.line for r in report.examples] == [10, 100]
    assert all("NUL" in r.reason for r in report.examples)
    assert (report.read, report.rejected, report.counts.new) == (100, 2, 98)


def test_a_failure_while_staging_stops_the_reading_thread(
    events_ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from keepwell.core.warehouse import AnalyticsStore

    path = tmp_path / "events.csv"
    write_events_csv(path, 20_000)
    monkeypatch.setattr(csvscan, "BLOCK_BYTES", 4096)  # many batches: one is read ahead

    def failing(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(AnalyticsStore, "append_events", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        import_file(events_ws, "events", path)

    assert not [t for t in threading.enumerate() if t.name == "keepwell-read-ahead"]
    assert events_ws.analytics().events().count().execute() == 0
