"""Benchmark: books of business, attainment and "why did it move" with 50,000 accounts
and 200 CSMs (issue 21).

Seeds a fresh workspace: N accounts (owner csm0..csm199@example.com, four industries,
three countries), a subscription line each from 2024 with a quarter of them ending
within the last year, every fifth expanding by a second line in the last six months,
an activity per account (its last touch); health scored as of the last day; teams per
health segment with the CSMs and a target of each kind for the company and a team.
Then times, in this process, each call three ways:

- cold: the first call (it builds the account directory and compiles the queries);
- memo: again, with the figures the faces keep for 5 minutes reused (as the overview's
  are) — NOT the goal's figure: nothing is computed;
- recomputed: those kept figures dropped (``keepwell.core.memo``), so the call reads
  the stores and computes every figure afresh, with imports done, the queries compiled
  and the account directory (the read model every page shares, rebuilt after imports)
  kept. **This is the goal's column**: each under 2 s at 50,000 accounts / 200 CSMs.
  Its CPU seconds (this process, engine threads included) are printed beside it, a
  figure the load of other processes barely moves.

- books: ``team.service.book_view`` of the company (every CSM's and team's book);
- attainment: ``team.service.attainment`` of the company and of one team;
- explain: ``team.service.explain_metric("nrr", last month)``.

Medians over ``--runs``; the load average is printed beside each figure.

    .venv/bin/python bench/bench_team.py [--accounts 50000] [--csms 200] [--runs 3]
        [--keep DIR]

With ``--keep DIR`` the seeded workspace is kept in ``DIR/ws-<accounts>-<csms>`` and
reused by later runs (seeding and scoring 50,000 accounts takes half a minute or more).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from keepwell.contract.service import import_file
from keepwell.core import memo as memo_module
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace, init_workspace
from keepwell.health import service as health_service
from keepwell.team import service as team_service

AS_OF = date(2026, 10, 31)
INDUSTRIES = ["Software", "Retail", "Finance", "Health"]


def _write(path: Path, header: list[str], rows: Any) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def seed(root: Path, accounts: int, csms: int) -> Workspace:
    """The workspace (see the module docstring)."""
    ws = init_workspace(root, settings=Settings(home=root))
    rng = random.Random(21)
    ids = [f"A{i:06d}" for i in range(accounts)]
    lines = []
    for i, a in enumerate(ids):
        mrr = rng.randint(50, 5000)
        ends = AS_OF - timedelta(days=rng.randint(1, 360)) if i % 4 == 0 else date(2027, 12, 31)
        lines.append([f"L{a}", a, "core", mrr, "2024-01-01", ends])
        if i % 5 == 1:
            start = AS_OF - timedelta(days=rng.randint(1, 180))
            lines.append([f"X{a}", a, "addon", rng.randint(20, 500), start, ""])
    files = {
        "accounts": _write(root / "accounts.csv",
            ["account_id", "name", "industry", "country", "employees", "owner"],
            ([a, f"Company {a}", rng.choice(INDUSTRIES), rng.choice(["DE", "FR", "US"]),
              rng.randint(5, 5000), f"csm{i % csms}@example.com"] for i, a in enumerate(ids))),
        "subscriptions": _write(root / "subscriptions.csv",
            ["line_id", "account_id", "product", "mrr", "starts_on", "ends_on"], lines),
        "activities": _write(root / "activities.csv",
            ["activity_id", "account_id", "occurred_at", "kind", "author", "subject"],
            ([f"T{a}", a, f"{AS_OF - timedelta(days=rng.randint(0, 90))}T10:00:00Z",
              rng.choice(["meeting", "call", "email"]), f"csm{i % csms}@example.com", "touch"]
             for i, a in enumerate(ids))),
    }  # fmt: skip
    for entity, path in files.items():
        import_file(ws, entity, path)
    health_service.compute_scores(ws, AS_OF)
    rows = team_service.customer_rows(ws, AS_OF)
    segments = sorted({r["segment"] or "(none)" for r in rows})
    for seg in segments:
        team_service.add_team(ws, seg, seg, segment=seg, accounts_per_csm=accounts // csms)
    home: dict[str, dict[str, int]] = {}
    for r in rows:
        counts = home.setdefault(r["owner"], {})
        counts[r["segment"] or "(none)"] = counts.get(r["segment"] or "(none)", 0) + 1
    for owner, counts in home.items():
        team = max(counts, key=lambda s: counts[s])
        team_service.add_csm(ws, owner, team, capacity_accounts=accounts // csms)
    for kind, ident in (("company", ""), ("team", segments[0])):
        for name, value in (("nrr", "1.05"), ("grr", "0.9"), ("logo_retention", "0.95"),
                            ("renewal_rate", "0.85"), ("cmrr", "1000000")):  # fmt: skip
            team_service.set_target(ws, "2026-Q4", name, Decimal(value), kind, ident)
    return ws


def workspace(root: Path, accounts: int, csms: int) -> Workspace:
    """The seeded workspace at ``root``: seeded when it is not there yet, else reused
    (brought to this Keepwell's schema)."""
    if (root / "READY").exists():
        return init_workspace(root, settings=Settings(home=root))
    started = time.perf_counter()
    ws = seed(root, accounts, csms)
    (root / "READY").write_text("seeded")
    print(f"seeded {accounts:,} accounts, {csms} CSMs in "
          f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
    return ws


def _forget() -> None:
    """Drop the figures the faces keep for 5 minutes (not the account directory): the
    next call recomputes them from the stores, with its queries already compiled."""
    memo_module._values.clear()


GOAL_SECONDS = 2.0


def timed(label: str, call: Callable[[], Any], runs: int) -> bool:
    """Print the cold, memo and recomputed times of ``call``; True when the recomputed
    median is under the goal."""
    start = time.perf_counter()
    call()
    cold = time.perf_counter() - start
    warm, recomputed, cpu = [], [], []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        warm.append(time.perf_counter() - start)
        _forget()
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        recomputed.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    load = os.getloadavg()[0]
    figure = statistics.median(recomputed)
    verdict = "under" if figure < GOAL_SECONDS else "OVER"
    print(f"{label:<28} {cold:6.2f} {statistics.median(warm):6.2f} {figure:11.2f} "
          f"{statistics.median(cpu):6.2f}  {verdict} {GOAL_SECONDS:.0f} s  (load {load:.2f})",
          flush=True)  # fmt: skip
    return figure < GOAL_SECONDS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--csms", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--keep", type=Path, default=None, help="keep (and reuse) the workspace here"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        keep = args.keep or Path(tmp)
        ws = workspace(keep / f"ws-{args.accounts}-{args.csms}", args.accounts, args.csms)
        team = sorted(t["team_id"] for t in team_service.list_teams(ws))[0]
        print(f"{'seconds':<28} {'cold':>6} {'memo':>6} {'recomputed':>11} {'cpu':>6}  "
              "(the goal: recomputed < 2 s)")  # fmt: skip
        met = []
        books = lambda: team_service.book_view(ws, AS_OF, "company", "")  # noqa: E731
        met.append(timed("books (company)", books, args.runs))
        company = lambda: team_service.attainment(ws, "2026-Q4", AS_OF)  # noqa: E731
        met.append(timed("attainment (company)", company, args.runs))
        of_team = lambda: team_service.attainment(ws, "2026-Q4", AS_OF, "team", team)  # noqa: E731
        met.append(timed(f"attainment (team {team})", of_team, args.runs))
        explain = lambda: team_service.explain_metric(ws, "nrr", date(2026, 10, 1))  # noqa: E731
        met.append(timed("explain nrr 2026-10", explain, args.runs))
        print("every figure recomputed under 2 s" if all(met) else "NOT every figure under 2 s")
        ws.close()


if __name__ == "__main__":
    main()
