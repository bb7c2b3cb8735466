"""Benchmark: ``metrics mrr`` + ``metrics summary`` service calls on a generated book of
50,000 accounts and 150,000 lines over 36 months, against a straightforward pandas
implementation of the same movements (the baseline, below).

Run: .venv/bin/python bench/bench_revenue.py [--accounts 50000] [--lines 150000] [--repeat 3]

Both sides are timed best of ``--repeat`` runs (the machine may be shared), in wall
seconds and in CPU seconds of the process (all threads: DuckDB uses every core, pandas
one; on a loaded machine the CPU ratio is the steadier figure). Every Keepwell run
loads a fresh book, so no result of one run helps the next; the SQL of the queries is
compiled once per process (``keepwell.core.compiled``), so the first call, timed
apart, also pays for compiling it.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa

from keepwell.revenue.service import book_from_arrow, mrr_movements, portfolio_summary

START = date(2023, 1, 1)
MONTHS = 36


def generate(accounts: int, lines: int, seed: int = 7) -> tuple[pa.Table, pa.Table, pa.Table]:
    rng = np.random.default_rng(seed)
    account = rng.integers(0, accounts, lines)
    start = rng.integers(0, MONTHS * 30, lines)
    length = rng.choice([None, 30, 90, 365, 400, 730], lines)  # type: ignore[arg-type]
    cents = rng.integers(1_000, 500_000, lines)
    starts = [START + timedelta(days=int(d)) for d in start]
    ends = [
        None if n is None else s + timedelta(days=int(n))
        for s, n in zip(starts, length, strict=True)
    ]
    subs = pa.table(
        {
            "line_id": [f"l{i}" for i in range(lines)],
            "account_id": [f"a{a}" for a in account],
            "product": rng.choice(["core", "addon", "support"], lines).tolist(),
            "mrr": pa.array([Decimal(int(c)) / 100 for c in cents], pa.decimal128(18, 6)),
            "currency": pa.array([None] * lines, pa.string()),
            "quantity": pa.array([None] * lines, pa.int64()),
            "starts_on": pa.array(starts, pa.date32()),
            "ends_on": pa.array(ends, pa.date32()),
            "auto_renew": rng.choice([True, False], lines).tolist(),
        }
    )
    acc = pa.table(
        {
            "account_id": [f"a{i}" for i in range(accounts)],
            "industry": rng.choice(["retail", "media", "health"], accounts).tolist(),
            "category_budget": pa.array([None] * accounts, pa.decimal128(18, 6)),
        }
    )
    fx = pa.table(
        {
            "currency": pa.array([], pa.string()),
            "month": pa.array([], pa.date32()),
            "rate": pa.array([], pa.decimal128(18, 8)),
        }
    )
    return subs, acc, fx


def pandas_baseline(subs: pd.DataFrame, last: int) -> pd.DataFrame:
    """Per account and month: MRR at month end by expanding every line over its months,
    then the five movements, summed per month (the straightforward way)."""
    df = subs.copy()
    df["mrr"] = df["mrr"].astype(float)
    s = pd.to_datetime(df["starts_on"])
    e = pd.to_datetime(df["ends_on"])
    df["s"] = s.dt.year * 12 + s.dt.month - 1
    df["e"] = (e.dt.year * 12 + e.dt.month - 1).fillna(10**6).astype(int)
    first = int(df["s"].min())
    rows = []
    for m in range(first, last + 1):
        active = df[(df["s"] <= m) & (df["e"] > m)]
        rows.append(active.groupby("account_id")["mrr"].sum().rename(m))
    ledger = pd.concat(rows, axis=1).fillna(0.0)
    prev = ledger.shift(1, axis=1).fillna(0.0)
    seen = (ledger > 0).cummax(axis=1).shift(1, axis=1, fill_value=False)
    out = {}
    for m in ledger.columns:
        p, c, had = prev[m], ledger[m], seen[m]
        out[m] = {
            "starting": p.sum(),
            "new": c[(p == 0) & (c > 0) & ~had].sum(),
            "reactivation": c[(p == 0) & (c > 0) & had].sum(),
            "expansion": (c - p)[(p > 0) & (c > p)].sum(),
            "contraction": (c - p)[(c > 0) & (c < p)].sum(),
            "churn": -p[(p > 0) & (c == 0)].sum(),
            "ending": c.sum(),
            "logo_churn": ((p > 0) & (c == 0)).sum() / max((p > 0).sum(), 1),
        }
    return pd.DataFrame(out).T


def clock() -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process over all its threads)."""
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> tuple[float, float]:
    now = clock()
    return now[0] - start[0], now[1] - start[1]


def run_keepwell(
    subs: pa.Table, acc: pa.Table, fx: pa.Table, as_of: date
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(wall, CPU) seconds to load a fresh book, and (wall, CPU) seconds for
    ``metrics mrr`` + ``metrics summary`` on it (no result kept between runs)."""
    t0 = clock()
    book = book_from_arrow(subs, acc, fx, "USD")
    load = since(t0)
    t1 = clock()
    mrr_movements(None, START, as_of, book=book)  # type: ignore[arg-type]
    portfolio_summary(None, as_of, book=book)  # type: ignore[arg-type]
    return load, since(t1)


def run_pandas(subs: pa.Table) -> tuple[float, float]:
    """(wall, CPU) seconds of the pandas baseline, from the Arrow table."""
    t0 = clock()
    pandas_baseline(subs.to_pandas(), 2025 * 12 + 11)
    return since(t0)


def best(runs: list[tuple[float, float]]) -> tuple[float, float]:
    """Best wall and best CPU time over ``runs``."""
    return min(r[0] for r in runs), min(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--lines", type=int, default=150_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs, both sides")
    args = parser.parse_args()
    subs, acc, fx = generate(args.accounts, args.lines)
    as_of = date(2025, 12, 31)

    first = run_keepwell(subs, acc, fx, as_of)[1]
    book = book_from_arrow(subs, acc, fx, "USD")
    rows = mrr_movements(None, START, as_of, book=book)  # type: ignore[arg-type]
    summary = portfolio_summary(None, as_of, book=book)  # type: ignore[arg-type]
    baseline = pandas_baseline(subs.to_pandas(), 2025 * 12 + 11)
    ours = {r["month"]: float(r["ending_mrr"]) for r in rows}
    assert abs(ours["2025-12"] - baseline["ending"].iloc[-1]) < 1.0, "results differ"

    load_before = os.getloadavg()[0]
    runs = [run_keepwell(subs, acc, fx, as_of) for _ in range(args.repeat)]
    load, keepwell = best([r[0] for r in runs]), best([r[1] for r in runs])
    pandas = best([run_pandas(subs) for _ in range(args.repeat)])
    print(f"book: {args.accounts:,} accounts, {args.lines:,} lines, {MONTHS} months")
    load_avg = f"{load_before:.2f} -> {os.getloadavg()[0]:.2f}"
    print(f"best of {args.repeat} runs; load average {load_avg} on {os.cpu_count()} cpus")
    print("                                   wall s   CPU s (all threads)")
    print(f"load (arrow -> converted lines):  {load[0]:6.2f}  {load[1]:6.2f}")
    print(f"keepwell first call (compiles):   {first[0]:6.2f}  {first[1]:6.2f}")
    print(f"keepwell metrics mrr + summary:   {keepwell[0]:6.2f}  {keepwell[1]:6.2f}")
    print(f"pandas baseline:                  {pandas[0]:6.2f}  {pandas[1]:6.2f}")
    ratio = f"{pandas[0] / keepwell[0]:5.1f}x  {pandas[1] / keepwell[1]:5.1f}x"
    print(f"ratio baseline / keepwell:        {ratio}")
    print(f"(MRR as of {as_of}: {summary.mrr:,.2f})")


if __name__ == "__main__":
    main()
