"""Import benchmark: events files of N rows (default 10 million) in CSV and Parquet.

Prints rows per second and the peak memory (RSS) of each import, run in a child
process so that one import's memory does not hide in another's (the peak covers the
whole import: staging the batches and publishing the file), and the machine's load
average (1 min) after each import, since the figures mean little on a busy machine.

The baseline, run in the same process, is DuckDB reading the same file straight into
a table with no validation at all, committed to a database file on the same disk as
the import's (``ratio``: what the contract's checks, deduplication and the rollup
cost over loading the rows at all). ``mem ratio`` is over DuckDB loading the file into
an in-memory table instead, which writes nothing to disk (the ratio of earlier runs).
``cpu ratio`` is the import's CPU time (every thread of its process) over the disk
baseline's: what the work costs, less swayed than elapsed time by a busy machine.

    .venv/bin/python bench/bench_import.py [--rows 10000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

EVENTS = ["login", "report_created", "dashboard_viewed", "export_run", "alert_configured"]


def write_events(path: Path, rows: int, accounts: int = 5000, chunk: int = 1_000_000) -> None:
    """A file of ``rows`` synthetic events over ``accounts`` accounts (seeded)."""
    rng = np.random.default_rng(7)
    start = np.datetime64("2025-01-01T00:00:00", "us")
    writer: pq.ParquetWriter | pacsv.CSVWriter | None = None
    for offset in range(0, rows, chunk):
        n = min(chunk, rows - offset)
        acct = rng.integers(0, accounts, n)
        seconds = rng.integers(0, 365 * 86400, n).astype("timedelta64[s]")
        table = pa.table(
            {
                "timestamp": pa.array(
                    np.datetime_as_string(start + seconds, unit="s", timezone="UTC")
                ),
                "account_id": pa.array([f"A{a:05d}" for a in acct]),
                "user_id": pa.array(
                    [f"A{a:05d}-u{u}" for a, u in zip(acct, rng.integers(0, 20, n), strict=True)]
                ),
                "event": pa.array(np.array(EVENTS)[rng.integers(0, len(EVENTS), n)]),
                "count": pa.array(rng.integers(1, 5, n)),
                "message_id": pa.array([f"m{offset + i}" for i in range(n)]),
            }
        )
        if writer is None:
            writer = (
                pq.ParquetWriter(path, table.schema)
                if path.suffix == ".parquet"
                else pacsv.CSVWriter(path, table.schema)
            )
        writer.write_table(table)
    assert writer is not None
    writer.close()


def write_accounts(path: Path, accounts: int = 5000) -> None:
    lines = ["account_id,name"] + [f"A{a:05d},Account {a}" for a in range(accounts)]
    path.write_text("\n".join(lines) + "\n")


def _import(args: tuple[Path, Path, Path]) -> tuple[float, float, int, int]:
    from keepwell.contract.service import import_file
    from keepwell.core.settings import Settings
    from keepwell.core.workspace import init_workspace

    root, accounts, events = args
    ws = init_workspace(root, settings=Settings(home=root))
    import_file(ws, "accounts", accounts)
    started, cpu = time.perf_counter(), time.process_time()
    report = import_file(ws, "events", events)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    ws.close()
    return elapsed, cpu, report.loaded, _peak_kib()


def _peak_kib() -> int:
    """This process's peak RSS in KiB: VmHWM, not ru_maxrss, which on Linux carries over
    the parent's RSS at fork time into a spawned child (it counted the parent's baseline
    load of the previous file, ~1 GB, into the Parquet import)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _baseline(path: Path, database: str = ":memory:") -> tuple[float, float]:
    """Seconds DuckDB takes to load ``path`` into a table of ``database``, committed:
    elapsed, and CPU (all of the process's threads)."""
    started, cpu = time.perf_counter(), time.process_time()
    con = duckdb.connect(database)
    con.execute("SET enable_progress_bar = false")
    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
    con.execute(f"CREATE OR REPLACE TABLE e AS SELECT * FROM {reader}('{path}')")
    con.close()
    return time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="kw-bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    accounts = work / "accounts.csv"
    write_accounts(accounts)
    ctx = mp.get_context("spawn")
    print(f"events import, {args.rows:,} rows (baseline: DuckDB load with no validation)")
    header = ("format", "rows/s", "seconds", "peak RSS", "baseline s", "ratio", "mem s")
    print(
        "{:8} {:>10} {:>8} {:>9} {:>10} {:>6} {:>6} {:>9} {:>5} {:>6} {:>9}".format(
            *header, "mem ratio", "load", "cpu s", "cpu ratio"
        )
    )
    for suffix in (".csv", ".parquet"):
        events = work / f"events{suffix}"
        if not events.exists():
            write_events(events, args.rows)
        workspace = work / f"ws{suffix}"
        shutil.rmtree(workspace, ignore_errors=True)  # a kept directory: a first import again
        with ctx.Pool(1) as pool:
            elapsed, cpu, loaded, peak_kib = pool.apply(_import, ((workspace, accounts, events),))
        assert loaded == args.rows, f"loaded {loaded} of {args.rows}"
        database = work / f"baseline{suffix}.duckdb"
        database.unlink(missing_ok=True)
        base, base_cpu = _baseline(events, str(database))
        database.unlink(missing_ok=True)
        memory, _ = _baseline(events)
        print(
            f"{suffix[1:]:8} {args.rows / elapsed:>10,.0f} {elapsed:>8.1f} "
            f"{peak_kib / 1024:>7,.0f}MB {base:>10.2f} {elapsed / base:>5.1f}x "
            f"{memory:>6.2f} {elapsed / memory:>8.1f}x {os.getloadavg()[0]:>5.1f} "
            f"{cpu:>6.2f} {cpu / base_cpu:>8.1f}x"
        )


if __name__ == "__main__":
    main()
