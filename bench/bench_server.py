"""Server benchmark: sustained ingestion through ``/v1/batch``, read latency, and
ingestion while the server's scheduled cycle runs.

Starts the real server (``keepwell serve``, one process, its scheduled cycle on) on a
fresh workspace holding N accounts (default 50,000), then from separate load processes:

1. ingestion: W workers (threads in P processes) each POST batches of B track events
   to ``/v1/batch`` for D seconds; prints events/s and the p50/p99 latency of a batch
   (a 200 means the events are committed);
2. reads: the accounts list (a page of 50 under several sorts, filters and offsets)
   and the account detail of random accounts; prints p50/p99 of each;
3. ingestion during a cycle: the same load while the server's own scheduled cycle
   (score, rules, CTAs, emails) runs on every account: the cycle is made due (its last
   run moved back a day) and the batches answered while it runs are counted, beside
   the idle figure of step 1 (``--no-cycle`` skips it).

Goals (issue 5): at least 20,000 events/s on one server process; p99 under 200 ms
for reads. Issue 17: batch p99 under 1 s while a cycle runs. ``--preload N`` first
imports N events (today, over the same accounts, users and event names), to measure
ingestion into a store that already holds many events.
The machine's load average is printed with the figures.

    .venv/bin/python bench/bench_server.py [--accounts 50000] [--seconds 20]
        [--batch 500] [--workers 8] [--processes 2] [--preload 0] [--no-cycle]
        [--keep DIR] [--stalls FILE]

``--keep DIR`` seeds the workspace into ``DIR/ws-N`` once and reuses it on later runs
(seeding 50,000 accounts takes minutes); each run adds the events it sends.
``--stalls FILE`` starts the server under ``bench/server_stalls.py``: the stacks of
every thread whenever a request thread would be held off (GIL or scheduling) for
more than 250 ms go to FILE, a profile of the writer and cycle threads to FILE.samples.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import multiprocessing as mp
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from keepwell.auth import service as auth_service
from keepwell.contract.service import import_file
from keepwell.core.settings import Settings
from keepwell.core.workspace import init_workspace
from keepwell.ingest import service as ingest_service

INDUSTRIES = ["Software", "Retail", "Finance", "Health", "Education", "Logistics"]
EVENTS = ["login", "report_created", "dashboard_viewed", "export_run"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(root: Path, accounts: int) -> tuple[str, str]:
    """A workspace with ``accounts`` accounts and a line each; returns (write key, token)."""
    ws = init_workspace(root, settings=Settings(home=root))
    rng = random.Random(7)
    acc_path, sub_path = root / "accounts.csv", root / "subscriptions.csv"
    with acc_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["account_id", "name", "industry", "country", "employees", "owner"])
        for i in range(accounts):
            w.writerow([f"A{i:06d}", f"Company {i:06d}", rng.choice(INDUSTRIES),
                        rng.choice(["DE", "FR", "US", "GB"]), rng.randint(5, 5000),
                        f"csm{i % 40}@example.com"])  # fmt: skip
    with sub_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["line_id", "account_id", "product", "mrr", "starts_on"])
        for i in range(accounts):
            w.writerow([f"L{i:06d}", f"A{i:06d}", "core", rng.randint(50, 5000), "2025-01-01"])
    import_file(ws, "accounts", acc_path)
    import_file(ws, "subscriptions", sub_path)
    now = datetime.now(UTC)
    key = ingest_service.add_source(ws, "bench", now=now, actor="bench")
    auth_service.add_user(ws, "bench@example.com", "admin", password=None, now=now, actor="b")
    token = auth_service.create_token(ws, "bench@example.com", "read", now=now, actor="bench")
    ws.close()
    return key, token


def preload(root: Path, events: int, accounts: int) -> None:
    """Import ``events`` random events of today into the workspace at ``root``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from keepwell.core.workspace import open_workspace

    rng = np.random.default_rng(3)
    path, writer = root / "preload.parquet", None
    for start in range(0, events, 1_000_000):
        n = min(1_000_000, events - start)
        acct = np.char.add("A", np.char.zfill(rng.integers(0, accounts, n).astype(str), 6))
        users = np.char.add(np.char.add(acct, "-u"), rng.integers(0, 20, n).astype(str))
        table = pa.table({
            "timestamp": pa.array(np.full(n, np.datetime64(datetime.now(UTC).date(), "us"))),
            "account_id": acct, "user_id": users,
            "event": np.array(EVENTS)[rng.integers(0, len(EVENTS), n)],
            "message_id": np.char.add("pre-", np.arange(start, start + n).astype(str)),
        })  # fmt: skip
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()
        ws = open_workspace(Settings(home=root))
        import_file(ws, "events", path)
        ws.close()


def seeded(root: Path, accounts: int, keep: bool) -> tuple[str, str]:
    """The workspace at ``root``: seeded now, or (``keep``) reused when a run before
    seeded it; returns (write key, token)."""
    marker = root.parent / f"{root.name}.keys.json"
    if keep and marker.exists() and root.exists():
        print(f"reusing the workspace at {root}")
        keys = json.loads(marker.read_text())
        return keys["key"], keys["token"]
    t0 = time.perf_counter()
    key, token = seed(root, accounts)
    print(f"seeded {accounts:,} accounts in {time.perf_counter() - t0:.1f} s")
    if keep:
        marker.write_text(json.dumps({"key": key, "token": token}))
    return key, token


def start_server(
    root: Path, port: int, env: dict[str, str] | None = None, stalls: str | None = None
) -> subprocess.Popen[bytes]:
    """``keepwell serve`` on the workspace at ``root`` in a process of its own (extra
    ``env``; its cycle every day, counted from a cycle recorded as just finished, so
    none is due until :func:`make_cycle_due`), once it answers /healthz."""
    _record_cycle(root, datetime.now(UTC))
    env = {"KEEPWELL_HOME": str(root), "KEEPWELL_CYCLE_EVERY": "1d", **(env or {})}
    launcher = ["-m", "keepwell"]
    if stalls:
        launcher = [str(Path(__file__).with_name("server_stalls.py")), stalls, "--"]
    proc = subprocess.Popen(
        [sys.executable, *launcher, "serve", "--port", str(port)],
        env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def _record_cycle(root: Path, finished: datetime) -> None:
    """Record a cycle as finished at ``finished`` (what the server's schedule counts from)."""
    from keepwell.core.database import transaction
    from keepwell.core.workspace import open_workspace
    from keepwell.success.models import CycleRun

    ws = open_workspace(Settings(home=root))
    with transaction(ws.engine) as session:
        session.add(CycleRun(as_of=finished.date(), holder="bench", started_at=finished,
                             finished_at=finished, summary={}))  # fmt: skip
    ws.close()


def make_cycle_due(root: Path) -> None:
    """Make the server's daily cycle due now: record the last one as a day old."""
    from keepwell.core.database import transaction
    from keepwell.core.workspace import open_workspace
    from keepwell.success.models import CycleRun

    ws = open_workspace(Settings(home=root))
    with transaction(ws.engine) as session:
        session.query(CycleRun).delete()
    ws.close()
    _record_cycle(root, datetime.now(UTC) - timedelta(days=1, minutes=1))


def _cycle_running(base: str) -> bool:
    return bool(httpx.get(f"{base}/readyz", timeout=30).json().get("cycle_running"))


def _template(rng: random.Random, size: int, accounts: int) -> bytes:
    """A batch body whose message ids carry the placeholder ``@PFX@``: replacing it
    gives a batch of fresh messages at the cost of one bytes.replace."""
    ts = datetime.now(UTC).isoformat()
    messages = []
    for i in range(size):
        account = f"A{rng.randrange(accounts):06d}"
        messages.append({
            "type": "track", "userId": f"{account}-u{rng.randrange(20)}",
            "event": rng.choice(EVENTS), "messageId": f"@PFX@-{i}", "timestamp": ts,
            "context": {"groupId": account, "library": {"name": "bench"}},
            "properties": {"plan": "pro", "n": rng.randrange(100)},
        })  # fmt: skip
    return json.dumps({"batch": messages}).encode()


def _ingest_process(
    args: tuple[str, str, int, int, float, int, int], out: Any, halt: Any = None
) -> None:
    base, key, workers, size, seconds, accounts, seed_ = args
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    lock = threading.Lock()
    latencies: list[tuple[float, float]] = []  # (wall time answered, seconds taken)
    statuses: dict[int, int] = {}
    stop = time.monotonic() + seconds

    def work(n: int) -> None:
        rng = random.Random(seed_ * 1000 + n)
        templates = [_template(rng, size, accounts) for _ in range(4)]
        with httpx.Client(base_url=base, timeout=60) as http:
            while time.monotonic() < stop and not (halt is not None and halt.is_set()):
                body = rng.choice(templates).replace(b"@PFX@", uuid.uuid4().hex.encode())
                t0 = time.perf_counter()
                try:
                    r = http.post("/v1/batch", content=body, headers={
                        "Authorization": auth, "Content-Type": "application/json"})  # fmt: skip
                except httpx.TransportError:  # e.g. a keep-alive connection closed under us
                    with lock:
                        statuses[0] = statuses.get(0, 0) + 1  # 0: no answer
                    continue
                took = time.perf_counter() - t0
                with lock:
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                    if r.status_code == 200:
                        latencies.append((time.time(), took))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put((latencies, statuses))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _memory(pid: int, field: str) -> str:
    """A memory figure of process ``pid`` from /proc (Linux), e.g. ``VmHWM`` (peak RSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return f"{int(line.split()[1]) / 1024:,.0f} MB"
    return "?"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` and its threads so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_ingest(
    base: str,
    key: str,
    opts: argparse.Namespace,
    server_pid: int,
    seconds: float | None = None,
    halt: Any = None,
) -> list[tuple[float, float]]:
    """Ingestion for ``seconds`` (default ``--seconds``, or until ``halt`` is set);
    prints its figures and returns each acknowledged batch's (wall time answered,
    latency)."""
    seconds = seconds or opts.seconds
    queue: Any = mp.Queue()
    per = max(1, opts.workers // opts.processes)
    procs = [
        mp.Process(target=_ingest_process,
                   args=((base, key, per, opts.batch, seconds, opts.accounts, i), queue, halt))
        for i in range(opts.processes)
    ]  # fmt: skip
    t0, cpu0 = time.perf_counter(), _cpu_seconds(server_pid)
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed, cpu = time.perf_counter() - t0, _cpu_seconds(server_pid) - cpu0
    samples = [x for lat, _ in results for x in lat]
    latencies = [took for _, took in samples]
    statuses: dict[int, int] = {}
    for _, st in results:
        for code, n in st.items():
            statuses[code] = statuses.get(code, 0) + n
    events = len(latencies) * opts.batch
    print(f"ingestion: {events:,} events in {elapsed:.1f} s = {events / elapsed:,.0f} events/s "
          f"({opts.workers} concurrent senders, batches of {opts.batch})")  # fmt: skip
    print(f"  batch latency p50 {_pct(latencies, 0.5):.1f} ms, p99 {_pct(latencies, 0.99):.1f} ms;"
          f" statuses {statuses}; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"  server CPU {cpu:.1f} s = {cpu / max(events, 1) * 1e6:.1f} us per event"
          " (the figure to compare on a busy machine)")  # fmt: skip
    return samples


def bench_cycle(root: Path, base: str, key: str, opts: argparse.Namespace, server_pid: int) -> None:
    """Ingestion while the server's scheduled cycle runs, against the idle figure."""
    make_cycle_due(root)
    t0 = time.monotonic()
    while not _cycle_running(base):
        if time.monotonic() - t0 > 120:
            raise SystemExit("the scheduled cycle did not start within 120 s")
        time.sleep(0.1)
    window: list[float] = [time.time()]
    halt = mp.Event()

    def watch() -> None:
        while _cycle_running(base):
            time.sleep(0.2)
        window.append(time.time())
        halt.set()

    watcher = threading.Thread(target=watch)
    watcher.start()
    print(f"ingestion while the scheduled cycle runs on {opts.accounts:,} accounts:")
    samples = bench_ingest(base, key, opts, server_pid, seconds=opts.cycle_seconds, halt=halt)
    watcher.join()
    start, end = window[0], window[-1]
    during = [took for at, took in samples if start <= at - took and at <= end]
    span = min(end, max(at for at, _ in samples)) - start
    events = len(during) * opts.batch
    print(f"  the cycle ran {end - start:.1f} s; batches sent and answered inside it: "
          f"{len(during)} = {events / max(span, 1e-9):,.0f} events/s, "
          f"p50 {_pct(during, 0.5):.1f} ms, p99 {_pct(during, 0.99):.1f} ms, "
          f"max {max(during) * 1000:.1f} ms (goal: p99 under 1 s); "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"  the server's cycle, by step: {_cycle_steps(root)}")
    print("  batches answered inside the cycle, by 10 s of it (count, p99, max ms): " + ", ".join(
        f"{int(t)}s {len(v)} {_pct(v, 0.99):.0f} {max(v) * 1000:.0f}"
        for t, v in _buckets([(at - start, took) for at, took in samples
                              if start <= at - took and at <= end], 10.0)
    ))  # fmt: skip


def _buckets(points: list[tuple[float, float]], width: float) -> list[tuple[float, list[float]]]:
    """``(offset, value)`` points grouped by ``width`` seconds of offset, in order."""
    groups: dict[float, list[float]] = {}
    for offset, value in points:
        groups.setdefault(width * (offset // width), []).append(value)
    return sorted(groups.items())


def _cycle_steps(root: Path) -> str:
    """The seconds (wall, and CPU of the server's process) of each step of the last
    cycle the server ran, as it recorded them."""
    from keepwell.core.database import transaction
    from keepwell.core.workspace import open_workspace
    from keepwell.success.models import CycleRun

    ws = open_workspace(Settings(home=root))
    try:
        with transaction(ws.engine) as session:
            run = session.query(CycleRun).order_by(CycleRun.id.desc()).first()
            summary = dict(run.summary or {}) if run is not None else {}
    finally:
        ws.close()
    wall, cpu = summary.get("seconds", {}), summary.get("cpu_seconds", {})
    return ", ".join(f"{k} {v:.1f} s (CPU {cpu.get(k, 0):.1f} s)" for k, v in wall.items())


#: Seconds a read may take before the bench gives up on it (the first ones build the
#: server's kept directory: tens of seconds at 50,000 accounts on a loaded machine).
READ_TIMEOUT = 300.0


def _reads(base: str, token: str, accounts: int, n: int) -> dict[str, list[float]]:
    rng = random.Random(11)
    lists = [
        {"limit": 50}, {"limit": 50, "sort": "-employees"}, {"limit": 50, "industry": "Retail"},
        {"limit": 50, "search": "company 01"}, {"limit": 50, "offset": 25_000},
        {"limit": 50, "owner": "csm7@example.com", "sort": "-name"},
    ]  # fmt: skip
    timings: dict[str, list[float]] = {"list": [], "detail": []}
    headers = {"Authorization": f"Bearer {token}"}
    started = time.monotonic()

    def get(http: httpx.Client, kind: str, url: str, **params: Any) -> None:
        t0 = time.perf_counter()
        try:
            r = http.get(url, params=params)
        except httpx.TimeoutException:
            raise SystemExit(f"reads: GET {url} {params} took more than {READ_TIMEOUT:.0f} s "
                             f"(after {len(timings[kind])} {kind} reads)") from None  # fmt: skip
        timings[kind].append(time.perf_counter() - t0)
        if r.status_code != 200:
            raise SystemExit(f"reads: GET {url} {params} answered {r.status_code}: {r.text[:300]}")

    with httpx.Client(base_url=base, headers=headers, timeout=READ_TIMEOUT) as http:
        for i in range(n):
            get(http, "list", "/api/v1/accounts", **lists[i % len(lists)])
            get(http, "detail", f"/api/v1/accounts/A{rng.randrange(accounts):06d}")
            if (i + 1) % 50 == 0:
                print(f"  reads: {i + 1}/{n} pairs in {time.monotonic() - started:.0f} s",
                      flush=True)  # fmt: skip
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--preload", type=int, default=0)
    parser.add_argument("--no-cycle", dest="cycle", action="store_false")
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="Seed into DIR/ws-N once and reuse it on later runs.",
    )
    parser.add_argument(
        "--stalls", default=None, help="Write the server's stalls (thread stacks) to this file."
    )
    parser.add_argument("--no-reads", dest="reads_step", action="store_false")
    parser.add_argument("--cycle-seconds", type=float, default=600.0,
                        help="Most seconds of ingestion during the cycle.")  # fmt: skip
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="keepwell-bench-") as tmp:
        root = Path(tmp) / "ws"
        if opts.keep is not None:
            opts.keep.mkdir(parents=True, exist_ok=True)
            root = opts.keep / f"ws-{opts.accounts}"
        key, token = seeded(root, opts.accounts, opts.keep is not None)
        if opts.preload:
            t0 = time.perf_counter()
            preload(root, opts.preload, opts.accounts)
            print(f"preloaded {opts.preload:,} events in {time.perf_counter() - t0:.1f} s")
        port = free_port()
        t0 = time.perf_counter()
        server = start_server(root, port, stalls=opts.stalls)
        print(f"server ready in {time.perf_counter() - t0:.1f} s; load average "
              f"{os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            if opts.reads_step:
                timings = _reads(base, token, opts.accounts, opts.reads)
                for name, values in timings.items():
                    print(f"read {name} ({opts.accounts:,} accounts): p50 "
                          f"{_pct(values, 0.5):.1f} ms, p99 {_pct(values, 0.99):.1f} ms "
                          f"over {len(values)} requests (the first builds the kept "
                          f"directory: {values[0] * 1000:.0f} ms)")  # fmt: skip
            bench_ingest(base, key, opts, server.pid)
            if opts.reads_step:
                timings = _reads(base, token, opts.accounts, opts.reads // 3)
                for name, values in timings.items():
                    print(f"read {name} after ingestion: p50 {_pct(values, 0.5):.1f} ms,"
                          f" p99 {_pct(values, 0.99):.1f} ms")  # fmt: skip
            if opts.cycle:
                bench_cycle(root, base, key, opts, server.pid)
            print(f"server memory: peak {_memory(server.pid, 'VmHWM')}, now "
                  f"{_memory(server.pid, 'VmRSS')}")  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
