"""Scaling benchmark: the usage measures of every account as events grow, on DuckDB and
on Spark in local mode (issue 9).

For each size, events are generated synthetically straight into a rollup
(``event_daily``: one row per day, account, user and event with a count of 1-7, so
rows = events / 4) over 120 days and 50,000 accounts, as the analytics store keeps
them. Each measurement runs in a child process of its own and runs
:func:`keepwell.health.usage.usage_measures` (the same Ibis expression on both engines)
to an Arrow table, twice: the cold run (first read, Spark's JIT and planning) and the
warm run (``time s``, from which events/s), and peak memory (the child's peak RSS; for
Spark plus the JVM's). The table ends with how time grows with events: the exponent
b of time ~ events^b between consecutive sizes (1 = linear).

    .venv/bin/python bench/bench_scaling.py [--duckdb 10M,30M,100M] [--spark 10M]
        [--accounts 50000] [--keep DIR]

Sizes accept K/M/B suffixes; ``--spark ''`` skips Spark. The data of each size is
generated once into ``--keep`` (default a temporary directory) and reused.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from bench_health import rollup_sql  # the same synthetic rollup as the health bench

AS_OF = date(2026, 3, 31)
EVENTS = ("login", "dashboard_viewed", "report_created", "data_exported", "workflow_automated")
KEY_FEATURES = ("report_created", "workflow_automated")
MEAN_COUNT = 4  # counts are 1..7
UNITS = {"K": 1_000, "M": 1_000_000, "B": 1_000_000_000}


def parse_size(text: str) -> int:
    """``10M`` -> 10_000_000 (K, M, B suffixes; a plain number is taken as is)."""
    text = text.strip().upper()
    if text and text[-1] in UNITS:
        return int(float(text[:-1]) * UNITS[text[-1]])
    return int(text)


def label(n: int) -> str:
    for suffix, unit in reversed(UNITS.items()):
        if n >= unit and n % (unit // 10) == 0:
            return f"{n / unit:g}{suffix}"
    return str(n)


def generate(directory: Path, events: int, accounts: int) -> tuple[Path, Path]:
    """The rollup of ``events`` events in a DuckDB file and a Parquet file (reused)."""
    import duckdb

    db = directory / f"rollup_{events}.duckdb"
    parquet = directory / f"rollup_{events}.parquet"
    if db.exists() and parquet.exists():
        return db, parquet
    con = duckdb.connect(str(db))
    con.execute("SET threads = 2")
    con.execute(rollup_sql(AS_OF, accounts, events // MEAN_COUNT, EVENTS))
    con.execute(f"COPY event_daily TO '{parquet}' (FORMAT parquet)")
    con.close()
    return db, parquet


def _measure(rollup: Any) -> int:
    from keepwell.health.usage import UsageConfig, usage_measures

    config = UsageConfig(key_features=KEY_FEATURES, login_event="login")
    return int(usage_measures(rollup, AS_OF, config).to_pyarrow().num_rows)


def _jvm_peak_mb() -> float:
    """Peak RSS (VmHWM) of this process's child processes (the Spark JVM), in MB."""
    total = 0.0
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in (task / "children").read_text().split():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
    return total


def child(engine: str, path: str) -> None:
    """Run once in a child process and print a JSON line with the figures."""
    import ibis

    if engine == "duckdb":
        con = ibis.duckdb.connect(path, read_only=True)
        con.raw_sql("SET threads = 2")
        rollup = con.table("event_daily")
    else:
        from keepwell.core.engines import connect

        con = connect("spark://local[2]", spark_conf={"spark.driver.memory": "4g"})
        rollup = con.read_parquet(path)  # the session's start-up (~20 s) is not counted
    start = time.perf_counter()
    accounts = _measure(rollup)  # cold: first read of the data, Spark's JIT and planning
    first = time.perf_counter() - start
    start = time.perf_counter()
    _measure(rollup)
    seconds = time.perf_counter() - start
    jvm = _jvm_peak_mb() if engine == "spark" else 0.0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {"first": first, "seconds": seconds, "peak_mb": rss + jvm, "accounts": accounts}
    print(json.dumps(figures))


def run(engine: str, path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", engine, str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def growth(rows: list[dict[str, Any]]) -> list[str]:
    """How time grows between consecutive sizes of one engine: time ratio, events ratio
    and the exponent b = log(time ratio) / log(events ratio)."""
    import math

    lines = []
    for a, b in itertools.pairwise(rows):
        t, n = b["seconds"] / a["seconds"], b["events"] / a["events"]
        lines.append(
            f"  {a['engine']} {label(a['events'])} -> {label(b['events'])}: events x{n:.1f}, "
            f"time x{t:.2f}, exponent {math.log(t) / math.log(n):.2f} (1.00 = linear)"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duckdb", default="10M,30M,100M", help="event counts on DuckDB")
    parser.add_argument("--spark", default="10M", help="event counts on Spark local ('' none)")
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--keep", type=Path, help="directory for the generated data (reused)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    plan = [("duckdb", parse_size(s)) for s in args.duckdb.split(",") if s.strip()]
    plan += [("spark", parse_size(s)) for s in args.spark.split(",") if s.strip()]
    directory = args.keep or Path(tempfile.mkdtemp(prefix="kw_scaling_"))
    directory.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
    print(f"{'engine':8} {'events':>8} {'rollup rows':>12} {'cold s':>8} {'time s':>8} "
          f"{'peak MB':>8} {'events/s':>12} {'accounts':>9}")  # fmt: skip
    rows = []
    for engine, events in plan:
        db, parquet = generate(directory, events, args.accounts)
        figures = run(engine, db if engine == "duckdb" else parquet)
        row = {"engine": engine, "events": events, **figures}
        rows.append(row)
        print(
            f"{engine:8} {label(events):>8} {events // MEAN_COUNT:>12,} {row['first']:>8.2f} "
            f"{row['seconds']:>8.2f} "
            f"{row['peak_mb']:>8.0f} {events / row['seconds']:>12,.0f} {row['accounts']:>9,}",
            flush=True,
        )
    print("growth:")
    for engine in ("duckdb", "spark"):
        print("\n".join(growth([r for r in rows if r["engine"] == engine])))
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
