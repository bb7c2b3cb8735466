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
   ``--claimed`` of them are claimed in batches (each batch then marked sent, not
   timed): the cost per message must not grow with the backlog. The baseline, in the
   same process and store, is the claim before issue 24 (10 at a time, every due row
   read and sorted per claim) over the next ``--baseline-claimed`` messages.

    .venv/bin/python bench/bench_cycle.py [--accounts 50000] [--keep DIR]
        [--claim 1K,10K,100K] [--claimed 5000] [--baseline-claimed 1000]
        [--postgres URL] [--skip-cycle]

The load average is printed beside each figure (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

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


class SmtpCounter:
    """An aiosmtpd handler that keeps only what the figures need: the dedupe key of each
    message (parsing whole messages would make the server the bottleneck)."""

    def __init__(self) -> None:
        self.keys: list[bytes] = []
        self.peers: set[Any] = set()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content: bytes = envelope.content
        start = content.find(b"X-Keepwell-Dedupe-Key: ")
        end = content.find(b"\r\n", start)
        self.keys.append(content[start + 23 : end] if start >= 0 else b"")
        self.peers.add(session.peer)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_sink() -> tuple[ThreadingHTTPServer, list[str]]:
    """A local HTTP server answering 200 to every POST (Slack and webhooks)."""
    received: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", _free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, received


def run_cycle(workspace: Path, scratch: Path) -> dict[str, Any]:
    """``keepwell run`` on a copy of ``workspace``, delivering to local servers."""
    from aiosmtpd.controller import Controller

    root = scratch / "run"
    shutil.rmtree(root, ignore_errors=True)
    started = time.perf_counter()
    shutil.copytree(workspace, root)
    print(f"  workspace copied in {time.perf_counter() - started:.0f} s", flush=True)
    handler = SmtpCounter()
    smtp = Controller(handler, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    http, posts = http_sink()
    env = {
        **os.environ, "KEEPWELL_HOME": str(root), "KEEPWELL_SMTP_HOST": "127.0.0.1",
        "KEEPWELL_SMTP_PORT": str(smtp.port),
        "KEEPWELL_WEBHOOK_URL": f"http://127.0.0.1:{http.server_address[1]}/hook",
        "KEEPWELL_SLACK_WEBHOOK_URL": f"http://127.0.0.1:{http.server_address[1]}/slack",
        "KEEPWELL_WEBHOOK_SECRET": "bench-secret",
    }  # fmt: skip
    env.pop("KEEPWELL_DATABASE_URL", None)
    env.pop("KEEPWELL_ANALYTICS_URL", None)
    command = [sys.executable, "-m", "keepwell", "run", "--as-of", AS_OF.isoformat(),
               "--format", "json"]  # fmt: skip
    load_before = os.getloadavg()[0]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    load_after = os.getloadavg()[0]
    smtp.stop()
    http.shutdown()
    if done.returncode != 0:
        raise SystemExit(f"keepwell run failed ({done.returncode}):\n{done.stderr}")
    report = json.loads(done.stdout)
    keys = handler.keys
    return {
        "seconds": seconds, "cpu": cpu, "report": report, "emails": len(keys),
        "distinct_emails": len(set(keys)), "connections": len(handler.peers),
        "posts": len(posts), "load": f"{load_before:.2f} -> {load_after:.2f}",
    }  # fmt: skip


def print_cycle(accounts: int, result: dict[str, Any]) -> None:
    report = result["report"]
    print(f"keepwell run, {accounts:,} accounts as of {AS_OF} (first cycle), "
          f"load average {result['load']} on {os.cpu_count()} cpus")  # fmt: skip
    print(f"  total (command, start to exit)  {result['seconds']:8.1f} s wall, "
          f"{result['cpu']:.1f} s CPU (all threads)")  # fmt: skip
    cpu = report.get("cpu_seconds", {})
    for step, value in report.get("seconds", {}).items():
        print(f"    {step:<30} {value:8.1f} s wall, {cpu.get(step, float('nan')):6.1f} s CPU")
    print(f"  matches {report['matches']:,}, CTAs opened {report['opened']:,}, "
          f"tech-touch emails {report['tech_touch_emails']:,}, "
          f"CTA notifications {report['notifications']:,}")  # fmt: skip
    print(f"  delivered: {report['delivered']}")
    print(f"  SMTP server received {result['emails']:,} emails "
          f"({result['distinct_emails']:,} distinct) over {result['connections']} "
          f"connection(s); HTTP receiver {result['posts']:,} posts")  # fmt: skip


def old_claim(session: Any, token: str, now: datetime, lease: timedelta) -> list[Any]:
    """The claim before issue 24 (the baseline): 10 at a time, candidates chosen by one
    query over pending and abandoned rows (an OR of two statuses) sorted by key, then
    the claimed rows read back by token."""
    import sqlalchemy as sa

    from keepwell.notify.models import Notification as N  # noqa: N817
    from keepwell.notify.models import Status

    due = sa.or_(
        sa.and_(N.status == Status.PENDING.value,
                sa.or_(N.next_attempt_at.is_(None), N.next_attempt_at <= now)),
        sa.and_(N.status == Status.SENDING.value, N.claimed_at <= now - lease),
    )  # fmt: skip
    candidates = sa.select(N.notification_id).where(due).order_by(N.notification_id).limit(10)
    picked: Any = candidates.scalar_subquery()
    if session.get_bind().dialect.name == "postgresql":
        picked = list(session.execute(candidates.with_for_update(skip_locked=True)).scalars())
    session.execute(
        sa.update(N).where(N.notification_id.in_(picked), due)
        .values(status=Status.SENDING.value, claim_token=token, claimed_at=now)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    rows = session.execute(
        sa.select(N).where(N.claim_token == token, N.status == Status.SENDING.value)
    ).scalars()
    return sorted(rows, key=lambda r: r.notification_id)


def _timed_claims(engine: Any, claimed: int, now: datetime, old: bool) -> tuple[float, float]:
    """Seconds per message to claim the first ``claimed`` messages, and to record each
    sent as delivery does (one transaction per message; the old claim's batches are
    marked sent in one untimed statement instead)."""
    import sqlalchemy as sa

    from keepwell.core.database import transaction
    from keepwell.notify import outbox
    from keepwell.notify.models import Notification as N  # noqa: N817
    from keepwell.notify.service import CLAIM_BATCH

    lease = timedelta(minutes=10)
    spent = recording = 0.0
    done, cursor = 0, 0
    while done < claimed:
        token = uuid.uuid4().hex
        t0 = time.perf_counter()
        with transaction(engine) as session:
            if old:
                ids = [r.notification_id for r in old_claim(session, token, now, lease)]
            else:
                batch, cursor = outbox.claim_batch(
                    session, token=token, now=now, lease=lease, limit=CLAIM_BATCH, after=cursor
                )
                ids = [m.notification_id for m in batch]
        t1 = time.perf_counter()
        spent += t1 - t0
        if not ids:
            break
        if old:
            with transaction(engine) as session:
                session.execute(
                    sa.update(N).where(N.notification_id.in_(ids))
                    .values(status="sent", claim_token=None)
                    .execution_options(synchronize_session=False)
                )  # fmt: skip
        else:
            for message in batch:
                with transaction(engine) as session:
                    outbox.commit_without_waiting(session)
                    outbox.record_sent(session, message, now)
            recording += time.perf_counter() - t1
        done += len(ids)
    return spent / max(done, 1), recording / max(done, 1)


def claim_costs(sizes: list[int], claimed: int, baseline: int, url: str | None) -> None:
    """Microseconds per message to claim the first ``claimed`` of ``size`` pending
    notifications (and with the old claim, the first ``baseline``), for each size."""
    import sqlalchemy as sa

    from keepwell.core.database import make_engine, migrate
    from keepwell.notify.models import Notification
    from keepwell.notify.service import CLAIM_BATCH

    now = datetime(2026, 3, 31, 9, tzinfo=UTC)
    label = "PostgreSQL" if url else "SQLite"
    print(f"claim cost per message, {label}: batches of {CLAIM_BATCH} from a cursor (first "
          f"{claimed:,} of the backlog) against the old claim, 10 at a time (first "
          f"{baseline:,})", flush=True)  # fmt: skip
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            if url:
                admin = sa.create_engine(url)
                with admin.begin() as conn:
                    conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
                target = (
                    sa.engine.make_url(url)
                    .update_query_dict({"options": f"-csearch_path={schema}"})
                    .render_as_string(hide_password=False)
                )
            else:
                target = f"sqlite:///{Path(tmp) / 'outbox.db'}"
            engine = make_engine(target)
            migrate(engine)
            rows = [{"dedupe_key": f"k{i}", "channel": "email", "status": "pending",
                     "target": f"u{i}@x{i % 997}.example", "subject": "s", "body": "b" * 400,
                     "attempts": 0} for i in range(size)]  # fmt: skip
            with engine.begin() as conn:
                for chunk in range(0, size, 10_000):
                    conn.execute(sa.insert(Notification), rows[chunk : chunk + 10_000])
                if url:
                    conn.execute(sa.text("ANALYZE notifications"))
            load_before = os.getloadavg()[0]
            new, record = _timed_claims(engine, min(claimed, size // 2), now, old=False)
            old, _ = _timed_claims(engine, min(baseline, size // 2), now, old=True)
            engine.dispose()
            if url:
                with admin.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
        print(f"  {size:>9,} queued: claim {new * 1e6:8.1f} us/message; old claim "
              f"{old * 1e6:9.1f} us/message ({old / new:6.1f}x); record sent "
              f"{record * 1e6:7.1f} us/message "
              f"(load {load_before:.2f} -> {os.getloadavg()[0]:.2f})", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--keep", type=Path,
                        default=Path(tempfile.gettempdir()) / "keepwell-bench-cycle")  # fmt: skip
    parser.add_argument("--claim", default="1K,10K,100K")
    parser.add_argument("--claimed", type=int, default=5_000)
    parser.add_argument("--baseline-claimed", type=int, default=1_000)
    parser.add_argument("--postgres", default=None, help="also measure claims on this URL")
    parser.add_argument("--skip-cycle", action="store_true")
    args = parser.parse_args()
    args.keep.mkdir(parents=True, exist_ok=True)
    if not args.skip_cycle:
        print(f"free memory before: {_free_gb():.1f} GB", flush=True)
        workspace = prepare(args.keep, args.accounts)
        print_cycle(args.accounts, run_cycle(workspace, args.keep))
    sizes = [parse_size(s) for s in args.claim.split(",") if s]
    if sizes:
        claim_costs(sizes, args.claimed, args.baseline_claimed, None)
        if args.postgres:
            claim_costs(sizes, args.claimed, args.baseline_claimed, args.postgres)


def _free_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024 / 1024
    return float("nan")


if __name__ == "__main__":
    main()
