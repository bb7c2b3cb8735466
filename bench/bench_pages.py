"""Web pages benchmark: the accounts page and Account 360 with 50,000 accounts.

Seeds a fresh workspace (N accounts with an owner, a subscription line ending within
two years, a contact, an invoice; product events for every 10th account; health scored),
starts the real server (Uvicorn, one process) and signs in through the login form. Then
it times, from this process, the accounts page under several filters, sorts and pages,
and Account 360 of random accounts; prints p50/p95 of each, the first (cold) request,
which builds the pages' account directory (rebuilt in the background every 5 minutes),
and the overview and renewals pages (their figures are computed on the first view, then
reused for 5 minutes).

Goal (issue 8): p95 under 300 ms for both pages with 50,000 accounts.

    .venv/bin/python bench/bench_pages.py [--accounts 50000] [--requests 200]
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench_server import free_port, start_server  # the same real server, started alike
from keepwell.auth import service as auth_service
from keepwell.contract.service import import_file
from keepwell.core.settings import Settings
from keepwell.core.workspace import init_workspace
from keepwell.health import service as health_service

INDUSTRIES = ["Software", "Retail", "Finance", "Health", "Education", "Logistics"]
EVENTS = ["login", "report_created", "dashboard_viewed", "export_run"]
PASSWORD = "bench password 12345"
AS_OF = datetime.now(UTC).date() - timedelta(days=1)


def _write(path: Path, header: list[str], rows: object) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)  # type: ignore[arg-type]
    return path


def seed(root: Path, accounts: int) -> None:
    """The workspace (see the module docstring)."""
    ws = init_workspace(root, settings=Settings(home=root))
    rng = random.Random(7)
    ids = [f"A{i:06d}" for i in range(accounts)]
    files = {
        "accounts": _write(root / "accounts.csv",
            ["account_id", "name", "industry", "country", "employees", "owner"],
            ([a, f"Company {a}", rng.choice(INDUSTRIES), rng.choice(["DE", "FR", "US"]),
              rng.randint(5, 5000), f"csm{i % 40}@example.com"] for i, a in enumerate(ids))),
        "subscriptions": _write(root / "subscriptions.csv",
            ["line_id", "account_id", "product", "mrr", "starts_on", "ends_on"],
            ([f"L{a}", a, "core", rng.randint(50, 5000), "2025-01-01",
              str(AS_OF + timedelta(days=rng.randint(1, 700)))] for a in ids)),
        "contacts": _write(root / "contacts.csv", ["contact_id", "account_id", "name", "role"],
            ([f"C{a}", a, f"Person {a}", "champion"] for a in ids)),
        "invoices": _write(root / "invoices.csv",
            ["invoice_id", "account_id", "amount", "issued_on", "due_on"],
            ([f"I{a}", a, 1200, "2026-01-01", "2026-01-31"] for a in ids)),
        "events": _write(root / "events.csv",
            ["timestamp", "account_id", "user_id", "event", "count"],
            ([f"{AS_OF - timedelta(days=d)}T10:00:00Z", a, f"u{u}", rng.choice(EVENTS), 3]
             for a in ids[::10] for d in range(0, 90, 9) for u in range(3))),
    }  # fmt: skip
    for entity, path in files.items():
        import_file(ws, entity, path)
    health_service.compute_scores(ws, AS_OF)
    now = datetime.now(UTC)
    auth_service.add_user(ws, "bench@example.com", "admin", password=PASSWORD, now=now, actor="b")
    ws.close()


def sign_in(base: str) -> httpx.Client:
    http = httpx.Client(base_url=base, timeout=120)
    token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text)
    assert token is not None
    answer = http.post("/login", data={"email": "bench@example.com", "password": PASSWORD,
                                       "csrf_token": token.group(1)})  # fmt: skip
    assert answer.status_code in (200, 303), answer.text
    return http


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _time(http: httpx.Client, path: str, params: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    answer = http.get(path, params=params)
    elapsed = (time.perf_counter() - start) * 1000
    assert answer.status_code == 200, (path, answer.status_code)
    return elapsed


def measure(http: httpx.Client, accounts: int, n: int) -> dict[str, list[float]]:
    rng = random.Random(11)
    lists = [{}, {"sort": "-arr"}, {"sort": "renewal", "renewal": "90"},
             {"industry": "Retail", "page": "3"}, {"search": "0042"},
             {"owner": "csm7@example.com", "sort": "-score"},
             {"band": "red", "page": "2"}]  # fmt: skip
    timings: dict[str, list[float]] = {"accounts page": [], "account 360": []}
    for i in range(n):
        timings["accounts page"].append(_time(http, "/accounts", lists[i % len(lists)]))
        timings["account 360"].append(_time(http, f"/accounts/A{rng.randrange(accounts):06d}"))
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=200)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kw-bench-pages-") as tmp:
        root = Path(tmp) / "ws"
        t0 = time.perf_counter()
        seed(root, opts.accounts)
        seconds = time.perf_counter() - t0
        print(f"seeded and scored {opts.accounts:,} accounts in {seconds:.1f} s")
        port = free_port()
        proc = start_server(root, port, {"KEEPWELL_COOKIE_SECURE": "false"})
        try:
            http = sign_in(f"http://127.0.0.1:{port}")
            cold = _time(http, "/accounts")
            print(f"first accounts page (builds the directory): {cold:.0f} ms")
            for path in ("/", "/renewals"):
                first = _time(http, path)
                again = _time(http, path)
                print(f"{path}: first {first:.0f} ms (computes the figures), then {again:.0f} ms")
            for name, values in measure(http, opts.accounts, opts.requests).items():
                print(f"{name} ({opts.accounts:,} accounts, {len(values)} requests): "
                      f"p50 {_pct(values, 0.5):.1f} ms, p95 {_pct(values, 0.95):.1f} ms, "
                      f"max {max(values):.1f} ms")  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
