"""Web pages benchmark: every page of the app with 50,000 accounts and a team's work.

Seeds a workspace, kept under ``--keep`` and reused (marked by READY and WORK files):
1. the accounts (200 CSMs owning ~250 each; a subscription line ending within two
   years, a contact with an email and a role, an invoice, 1 in 40 unpaid; tickets,
   NPS answers and meetings for some; a feature request noted on 1 in 75; product
   events for every 10th account), health scored (~30 s at 50,000);
2. the team's work, through the services (``pages_workload.py``): 10 teams of 20 CSMs,
   a success plan for every 125th account, the real cycle run once (its default rules
   open ~14,000 CTAs with their playbook tasks at 50,000 accounts), the feature
   requests, 20 shared plan links and a survey campaign's sends (~7 minutes, most of
   it the 400 plans);
3. history: the cycle run once 200 days earlier and its CTAs closed with outcomes a
   month later, so playbook effectiveness matches them against comparable accounts.
Then it starts the real server (Uvicorn, one process) on it, signs in through the login
form (an admin, and a CSM for My work) and times, from this process, every page: each
GET route of every slice's ``pages.py`` that answers HTML (found by walking the
routers, so a page added later is timed too). Path parameters come from the seeded
work: a random account, CTA, feature request, shared plan or survey link (the public
pages are asked from a different client address each time, as customers do; they are
limited per address); the accounts page cycles through filters, sorts and pages, the
team queue through filters, a team and deep pages. The
first request of each page is reported apart (cold: it builds the account directory or
computes figures kept for 5 minutes); then ``--requests`` warm requests per page,
whose p50 and p95 are printed with the load average.

Goal (issue 19 item 7): every page's p95 under 300 ms warm with 50,000 accounts.

    .venv/bin/python bench/bench_pages.py [--accounts 50000] [--requests 40] [--keep DIR]
        [--only /accounts/{account_id} ...]
"""

from __future__ import annotations

import argparse
import csv
import importlib
import os
import pkgutil
import random
import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute

import keepwell
import pages_workload as workload
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


ROLES = ["champion"] * 7 + ["sponsor", "admin", "billing"]
REQUESTS = [
    f"Feature request {n}: {topic}"
    for n, topic in enumerate(
        [
            "SSO with Okta",
            "export to Excel",
            "dark mode",
            "audit log API",
            "custom fields",
            "Salesforce sync",
            "bulk edit",
            "mobile app",
            "webhooks retry",
            "EU data residency",
        ]
    )
]


def seed(root: Path, accounts: int) -> None:
    """The workspace (see the module docstring)."""
    ws = init_workspace(root, settings=Settings(home=root))
    rng = random.Random(7)
    ids = [f"A{i:06d}" for i in range(accounts)]
    files = {
        "accounts": _write(root / "accounts.csv",
            ["account_id", "name", "industry", "country", "employees", "owner"],
            ([a, f"Company {a}", rng.choice(INDUSTRIES), rng.choice(["DE", "FR", "US"]),
              rng.randint(5, 5000), workload.csm(i)] for i, a in enumerate(ids))),
        "subscriptions": _write(root / "subscriptions.csv",
            ["line_id", "account_id", "product", "mrr", "starts_on", "ends_on"],
            ([f"L{a}", a, "core", rng.randint(50, 5000), "2025-01-01",
              str(AS_OF + timedelta(days=rng.randint(1, 700)))] for a in ids)),
        "contacts": _write(root / "contacts.csv",
            ["contact_id", "account_id", "name", "role", "email"],
            ([f"C{a}", a, f"Person {a}", ROLES[i % len(ROLES)], f"person.{a.lower()}@example.com"]
             for i, a in enumerate(ids))),
        "invoices": _write(root / "invoices.csv",
            ["invoice_id", "account_id", "amount", "issued_on", "due_on", "paid_on"],
            ([f"I{a}", a, 1200, "2026-01-01", "2026-01-31", "" if i % 40 == 0 else "2026-01-20"]
             for i, a in enumerate(ids))),
        "tickets": _write(root / "tickets.csv",
            ["ticket_id", "account_id", "opened_at", "priority", "csat"],
            ([f"T{a}", a, f"{AS_OF - timedelta(days=rng.randint(1, 180))}T09:00:00Z",
              rng.choice(["low", "normal", "high"]), rng.randint(1, 5)] for a in ids[::4])),
        "surveys": _write(root / "surveys.csv",
            ["response_id", "account_id", "contact_id", "responded_at", "kind", "score"],
            ([f"R{a}", a, f"C{a}", f"{AS_OF - timedelta(days=rng.randint(1, 300))}T12:00:00Z",
              "nps", rng.randint(0, 10)] for a in ids[::5])),
        "activities": _write(root / "activities.csv",
            ["activity_id", "account_id", "occurred_at", "kind", "author", "subject", "tags"],
            ([f"N{a}", a, f"{AS_OF - timedelta(days=rng.randint(1, 200))}T15:00:00Z",
              "note" if i % 25 == 0 else "meeting", workload.csm(i * 3),
              rng.choice(REQUESTS) if i % 25 == 0 else "Monthly check-in",
              "feature_request" if i % 25 == 0 else ""] for i, a in enumerate(ids[::3]))),
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


def sign_in(base: str, email: str = "bench@example.com") -> httpx.Client:
    http = httpx.Client(base_url=base, timeout=120)
    token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text)
    assert token is not None
    answer = http.post("/login", data={"email": email, "password": PASSWORD,
                                       "csrf_token": token.group(1)})  # fmt: skip
    assert answer.status_code in (200, 303), answer.text
    return http


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _time(http: httpx.Client, path: str, params: dict[str, str], headers: dict[str, str]) -> float:
    start = time.perf_counter()
    answer = http.get(path, params=params, headers=headers)
    elapsed = (time.perf_counter() - start) * 1000
    assert answer.status_code == 200, (path, answer.status_code)
    return elapsed


#: Query strings the accounts page cycles through (filters, sorts and pages).
ACCOUNT_LISTS: list[dict[str, str]] = [
    {}, {"sort": "-arr"}, {"sort": "renewal", "renewal": "90"},
    {"industry": "Retail", "page": "3"}, {"search": "0042"},
    {"owner": "csm7@example.com", "sort": "-score"}, {"band": "red", "page": "2"},
]  # fmt: skip


#: Query strings the team queue cycles through (filters, a team, deep pages).
QUEUE_LISTS: list[dict[str, str]] = [
    {}, {"team": "team-3"}, {"overdue": "true"}, {"page": "100"}, {"priority": "urgent"},
    {"owner": workload.CSM_USER}, {"type": "renewal", "page": "20"},
]  # fmt: skip
#: Query strings of pages timed with several (the first request of each takes the first).
LISTS = {"/accounts": ACCOUNT_LISTS, "/queue": QUEUE_LISTS}


def page_paths() -> list[str]:
    """Every GET route answering HTML in a slice's ``pages.py`` (path templates)."""
    paths = []
    for info in pkgutil.iter_modules(keepwell.__path__):
        if not info.ispkg:
            continue
        try:
            pages = importlib.import_module(f"keepwell.{info.name}.pages")
        except ModuleNotFoundError:
            continue
        for route in pages.router.routes:
            html = isinstance(route, APIRoute) and route.response_class is HTMLResponse
            if html and "GET" in route.methods and route.path not in paths:
                paths.append(route.path)
    return sorted(paths)


#: The seeded work each path parameter is taken from (``workload.read_links``).
PARAMS = {
    "/ctas/{cta_id}": ("cta_ids",), "/feedback/{request_id}": ("request_ids",),
    "/p/{token}": ("plan_tokens",), "/s/{token}": ("survey_tokens",),
    "/s/{token}/{score}": ("survey_tokens",),
}  # fmt: skip

#: Pages timed as the CSM of ``workload.CSM_USER`` (their own work); the others as an admin.
AS_CSM = {"/my-work"}


def _get(
    path: str, n: int, accounts: int, rng: random.Random, found: dict[str, list[Any]]
) -> tuple[str, dict[str, str], dict[str, str]]:
    """The URL, query and headers of the ``n``-th request of the page at ``path``:
    path parameters from the seeded work (a random account, CTA, feature request, shared
    plan or survey link, score); the public pages (``/p/``, ``/s/``), limited per
    client address, are asked from a different address each time, as customers do."""
    values = {
        "{account_id}": f"A{rng.randrange(accounts):06d}",
        "{cta_id}": str(rng.choice(found["cta_ids"])),
        "{request_id}": str(rng.choice(found["request_ids"])),
        "{token}": rng.choice(found["survey_tokens" if path.startswith("/s/") else "plan_tokens"]),
        "{score}": str(rng.randint(0, 10)),
    }
    url = path
    for name, value in values.items():
        url = url.replace(name, value)
    lists = LISTS.get(path, [{}])
    params = lists[n % len(lists)]
    public = path.startswith(("/p/", "/s/"))
    headers = {"X-Forwarded-For": f"10.9.{n // 250}.{n % 250 + 1}"} if public else {}
    return url, params, headers


def measure(
    http: httpx.Client,
    path: str,
    accounts: int,
    n: int,
    rng: random.Random,
    found: dict[str, list[Any]],
) -> tuple[float, list[float]]:
    """The first (cold) request of the page at ``path`` and ``n`` warm ones, in ms."""
    cold = _time(http, *_get(path, n, accounts, rng, found))
    return cold, [_time(http, *_get(path, i, accounts, rng, found)) for i in range(n)]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f} on {os.cpu_count()} cores"


def workspace(keep: Path, accounts: int) -> Path:
    """The seeded workspace of ``accounts`` accounts kept in ``keep`` (seeded once, in
    three steps: the accounts, the team's work, its history; each marked done by a
    file)."""
    root = keep / f"ws-{accounts}"
    if not (root / "READY").exists():
        t0 = time.perf_counter()
        seed(root, accounts)
        (root / "READY").write_text("seeded")
        print(f"seeded and scored {accounts:,} accounts in {time.perf_counter() - t0:.1f} s")
    ws = init_workspace(root, settings=Settings(home=root))  # brought to this schema
    if not (root / "WORK").exists():
        t0 = time.perf_counter()
        workload.seed_work(ws, root, accounts, AS_OF, PASSWORD)
        (root / "WORK").write_text("seeded")
        print(f"seeded the team's work in {time.perf_counter() - t0:.1f} s")
    if not (root / "HISTORY").exists():
        workload.seed_history(ws, AS_OF)
        (root / "HISTORY").write_text("seeded")
    ws.close()
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=40, help="warm requests per page")
    parser.add_argument("--keep", type=Path, default=Path(tempfile.gettempdir()) / "kw-bench-pages")
    parser.add_argument("--only", nargs="*", default=None, help="time only these path templates")
    opts = parser.parse_args()
    root = workspace(opts.keep, opts.accounts)
    paths = [p for p in page_paths() if opts.only is None or p in opts.only]
    found = workload.read_links(root)
    missing = [p for p in paths if re.findall(r"{\w+}", p) and not all(
        found.get(k) for k in PARAMS.get(p, ()))]  # fmt: skip
    port = free_port()
    env = {"KEEPWELL_COOKIE_SECURE": "false", "KEEPWELL_SECRET_KEY": workload.SECRET}
    proc = start_server(root, port, env)
    try:
        base = f"http://127.0.0.1:{port}"
        clients = {"admin": sign_in(base), "csm": sign_in(base, workload.CSM_USER)}
        print(f"{len(paths)} pages, {opts.accounts:,} accounts, {opts.requests} warm requests "
              f"each ({load()}); {workload.CSM_USER} for {sorted(AS_CSM)}, "
              "an admin otherwise")  # fmt: skip
        print(f"{'page':<32} {'cold':>8} {'p50':>8} {'p95':>8} {'max':>8}  (ms)")
        slow = []
        rng = random.Random(11)
        for path in paths:
            if path in missing:
                print(f"skipped {path}: the seeded work has nothing for its path parameters")
                continue
            http = clients["csm" if path in AS_CSM else "admin"]
            cold, values = measure(http, path, opts.accounts, opts.requests, rng, found)
            p95 = _pct(values, 0.95)
            print(f"{path:<32} {cold:8.0f} {_pct(values, 0.5):8.1f} {p95:8.1f} "
                  f"{max(values):8.1f}  {load()}", flush=True)  # fmt: skip
            if p95 >= 300:
                slow.append(path)
        print("every page's p95 under 300 ms" if not slow else f"p95 >= 300 ms: {slow}")
        if missing:
            print(f"not timed: {missing}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
