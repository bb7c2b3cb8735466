"""Benchmark: ``keepwell run`` end to end on a demo-shaped company (issue 24), and the
cost of one outbox claim per message as the backlog grows.

1. The cycle: a demo company of ``--accounts`` accounts (36 months, seed 42) is
   generated and imported once into a workspace cached under ``--keep`` (default
   ``$TMPDIR/keepwell-bench-cycle``; generating and importing 50,000 accounts takes
   many minutes, so it is reused); each run copies that workspace and runs
   ``keepwell run --as-of <last day> --format json`` in a child process, as a user
   would, with its email delivered to a local aiosmtpd SMTP server in this process
   (its first cycle: every CTA and tech-touch email of the day). Printed: total wall
   time of the command, the cycle's own split (scoring, rules, CTAs and tech-touch,
   delivery) and what it sent.
2. The claim: ``--claim 1K,10K,100K`` pending notifications are queued in a fresh
   SQLite store (and PostgreSQL when ``--postgres URL`` is given), then the first
   ``--claimed`` of them are claimed in batches and recorded sent (no network): the
   cost per message must not grow with the backlog.

    .venv/bin/python bench/bench_cycle.py [--accounts 50000] [--keep DIR]
        [--claim 1K,10K,100K] [--claimed 5000] [--postgres URL] [--skip-cycle]

The load average is printed beside each figure (the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

END_MONTH = date(2026, 3, 1)
AS_OF = date(2026, 3, 31)
MONTHS = 36
SEED = 42
UNITS = {"K": 1_000, "M": 1_000_000}


def parse_size(text: str) -> int:
    """``10K`` -> 10_000 (K, M suffixes; a plain number is taken as is)."""
    text = text.strip().upper()
    if text and text[-1] in UNITS:
        return int(float(text[:-1]) * UNITS[text[-1]])
    return int(text)


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


BASE_ACCOUNTS = 2_000
#: Columns suffixed per copy (ids), by table, in an order that keeps foreign keys whole.
ID_COLUMNS = {
    "accounts": ("account_id", "parent_account_id"),
    "contacts": ("contact_id", "account_id"),
    "subscriptions": ("line_id", "account_id"),
    "invoices": ("invoice_id", "account_id"),
    "tickets": ("ticket_id", "account_id"),
    "surveys": ("response_id", "account_id", "contact_id"),
    "activities": ("activity_id", "account_id"),
}


def prepare_base(keep: Path, accounts: int) -> Path:
    """The workspace of a demo company of ``accounts`` accounts, imported and never
    cycled, generated once into ``keep`` and reused."""
    from keepwell.contract.service import import_file
    from keepwell.core.settings import Settings
    from keepwell.core.workspace import init_workspace
    from keepwell.demo.pipeline import IMPORT_ORDER
    from keepwell.demo.service import generate_demo

    root = keep / f"workspace-{accounts}"
    if (root / "READY").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    started = time.perf_counter()
    print(f"generating the demo company: {accounts:,} accounts x {MONTHS} months ...", flush=True)
    data = generate_demo(
        keep / f"data-{accounts}", accounts=accounts, months=MONTHS, seed=SEED,
        end_month=END_MONTH,
    )  # fmt: skip
    print(f"  generated in {time.perf_counter() - started:.0f} s ({load()})", flush=True)
    ws = init_workspace(root, settings=Settings(home=root))
    for entity in IMPORT_ORDER:
        step = time.perf_counter()
        report = import_file(ws, entity, data.files[entity])
        print(f"  imported {entity}: {report.loaded:,} rows in "
              f"{time.perf_counter() - step:.0f} s", flush=True)  # fmt: skip
    ws.close()
    (root / "READY").write_text(datetime.now(UTC).isoformat())
    print(f"workspace ready in {time.perf_counter() - started:.0f} s ({load()})", flush=True)
    return root


def _suffixed(column: str, k: int) -> str:
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE {column} || '-{k:02d}' END"


def prepare(keep: Path, accounts: int) -> Path:
    """A demo-shaped workspace of ``accounts`` accounts, cached in ``keep``.

    Up to 2,000 accounts it is the demo itself. Above, generating and importing the demo
    (12 M events per 2,000 accounts over 36 months) would take hours on two cores, so
    the 2,000-account demo is copied ``accounts / 2000`` times in the stores: every id
    suffixed per copy (``ACC-00042-07``), contacts' email domains made distinct per copy
    (``c07.<domain>``), the daily event rollup copied with its users; CSM owners are
    the demo's (each owns 25x the accounts). The raw event log is not copied (the cycle
    reads the rollup only)."""
    import sqlite3

    import duckdb

    if accounts <= BASE_ACCOUNTS:
        return prepare_base(keep, accounts)
    if accounts % BASE_ACCOUNTS:
        raise SystemExit(f"--accounts above {BASE_ACCOUNTS} must be a multiple of it")
    copies = accounts // BASE_ACCOUNTS
    root = keep / f"workspace-{accounts}"
    if (root / "READY").exists():
        return root
    base = prepare_base(keep, BASE_ACCOUNTS)
    started = time.perf_counter()
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    shutil.copy(base / "keepwell.yaml", root / "keepwell.yaml")
    shutil.copy(base / "keepwell.db", root / "keepwell.db")
    con = sqlite3.connect(root / "keepwell.db")
    for table, ids in ID_COLUMNS.items():
        columns = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
        for k in range(1, copies):
            select = []
            for column in columns:
                if column in ids:
                    select.append(_suffixed(column, k))
                elif column == "email":
                    at = "instr(email, '@')"
                    select.append(
                        f"substr(email, 1, {at}) || 'c{k:02d}.' || substr(email, {at} + 1)"
                    )
                elif table == "accounts" and column == "name":
                    select.append(f"name || ' #{k:02d}'")
                else:
                    select.append(column)
            con.execute(f'INSERT INTO "{table}" ({", ".join(columns)}) '
                        f'SELECT {", ".join(select)} FROM "{table}" '
                        f"WHERE {ids[0]} NOT LIKE '%-__'")  # fmt: skip
    con.commit()
    con.close()
    print(f"  operational store x{copies} in {time.perf_counter() - started:.0f} s", flush=True)
    duck = duckdb.connect(str(root / "analytics.duckdb"))
    duck.execute("SET threads = 2")
    duck.execute("SET memory_limit = '3GB'")
    duck.execute("SET preserve_insertion_order = false")
    duck.execute(f"ATTACH '{base / 'analytics.duckdb'}' AS base (READ_ONLY)")
    for table in ("events", "event_keys", "event_daily_delta"):
        duck.execute(f"CREATE TABLE {table} AS SELECT * FROM base.{table} LIMIT 0")
    duck.execute("CREATE TABLE event_daily AS SELECT * FROM base.event_daily")
    for k in range(1, copies):
        duck.execute(
            f"INSERT INTO event_daily SELECT day, account_id || '-{k:02d}', "
            f"user_id || '-{k:02d}', event, count FROM base.event_daily"
        )
    rows = duck.execute("SELECT count(*) FROM event_daily").fetchone()
    duck.close()
    (root / "READY").write_text(datetime.now(UTC).isoformat())
    print(f"workspace of {accounts:,} accounts ready ({rows[0] if rows else 0:,} rollup rows) in "
          f"{time.perf_counter() - started:.0f} s ({load()})", flush=True)  # fmt: skip
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument(
        "--keep", type=Path, default=Path(tempfile.gettempdir()) / "keepwell-bench-cycle"
    )
    parser.add_argument("--prepare-only", action="store_true")
    args = parser.parse_args()
    args.keep.mkdir(parents=True, exist_ok=True)
    prepare(args.keep, args.accounts)


if __name__ == "__main__":
    main()
