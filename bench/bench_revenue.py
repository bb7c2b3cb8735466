"""Benchmark: ``metrics mrr`` + ``metrics summary`` service calls on a generated book of
50,000 accounts and 150,000 lines over 36 months, against a pandas
implementation of the same movements vectorised over (accounts x months) arrays (the
baseline, below; checked equal, month by month and movement by movement, to Keepwell's
figures and to the first, month-looping pandas baseline, which is not timed).

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


def pandas_loop_baseline(subs: pd.DataFrame, last: int) -> pd.DataFrame:
    """The first, month-looping baseline (kept to check the vectorised one against):
    per account and month, MRR at month end by filtering the lines active that month,
    then the five movements, summed per month."""
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


def pandas_baseline(subs: pd.DataFrame, last: int) -> pd.DataFrame:
    """The baseline timed: the same figures as :func:`pandas_loop_baseline`, vectorised
    as a pandas/NumPy user would write them. Each line adds its MRR (in integer cents,
    so that a start and an end cancel exactly) to its account at its first month and
    takes it away at its end month; a cumulative sum along months gives every
    account's MRR at every month end in one pass; the movements are array masks over
    the whole (accounts x months) ledger at once."""
    first_day = pd.to_datetime(subs["starts_on"])
    last_day = pd.to_datetime(subs["ends_on"])
    s = (first_day.dt.year * 12 + first_day.dt.month - 1).to_numpy()
    e = (last_day.dt.year * 12 + last_day.dt.month - 1).fillna(10**6).to_numpy().astype(np.int64)
    cents = np.rint(subs["mrr"].astype(float).to_numpy() * 100).astype(np.int64)
    first = int(s.min())
    months = last - first + 1
    codes, _accounts = pd.factorize(subs["account_id"])
    live = (s <= last) & (e > s)  # active in at least one month of the range
    delta = np.zeros((len(_accounts), months + 1), dtype=np.int64)
    np.add.at(delta, (codes[live], s[live] - first), cents[live])
    ends = live & (e <= last)
    np.add.at(delta, (codes[ends], e[ends] - first), -cents[ends])
    c = delta[:, :months].cumsum(axis=1)
    p = np.zeros_like(c)
    p[:, 1:] = c[:, :-1]
    had = np.zeros_like(c, dtype=bool)
    had[:, 1:] = np.maximum.accumulate(c > 0, axis=1)[:, :-1]
    up, down = (p == 0) & (c > 0), (p > 0) & (c == 0)
    figures = {
        "starting": p.sum(axis=0),
        "new": np.where(up & ~had, c, 0).sum(axis=0),
        "reactivation": np.where(up & had, c, 0).sum(axis=0),
        "expansion": np.where((p > 0) & (c > p), c - p, 0).sum(axis=0),
        "contraction": np.where((c > 0) & (c < p), c - p, 0).sum(axis=0),
        "churn": -np.where(down, p, 0).sum(axis=0),
        "ending": c.sum(axis=0),
    }
    frame = pd.DataFrame({k: v / 100 for k, v in figures.items()}, index=range(first, last + 1))
    frame["logo_churn"] = down.sum(axis=0) / np.maximum((p > 0).sum(axis=0), 1)
    return frame


def clock() -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process over all its threads)."""
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> tuple[float, float]:
    now = clock()
    return now[0] - start[0], now[1] - start[1]


def run_keepwell(
    subs: pa.Table, acc: pa.Table, fx: pa.Table, as_of: date
) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
    """(wall, CPU) seconds to load a fresh book, for ``metrics mrr`` + ``metrics
    summary`` on it, and for ``metrics mrr`` alone (the baseline's scope) on another
    fresh book (no result kept between runs)."""
    t0 = clock()
    book = book_from_arrow(subs, acc, fx, "USD")
    load = since(t0)
    t1 = clock()
    mrr_movements(None, START, as_of, book=book)  # type: ignore[arg-type]
    portfolio_summary(None, as_of, book=book)  # type: ignore[arg-type]
    both = since(t1)
    book = book_from_arrow(subs, acc, fx, "USD")
    t2 = clock()
    mrr_movements(None, START, as_of, book=book)  # type: ignore[arg-type]
    return load, both, since(t2)


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
    looped = pandas_loop_baseline(subs.to_pandas(), 2025 * 12 + 11)
    same = np.allclose(baseline.to_numpy(), looped.loc[baseline.index].to_numpy(), atol=0.01)
    assert same, "the vectorised baseline differs from the month-looping one"
    check = {
        "starting_mrr": "starting", "new": "new", "reactivation": "reactivation",
        "expansion": "expansion", "contraction": "contraction", "churn": "churn",
        "ending_mrr": "ending",
    }  # fmt: skip
    months = {f"{m // 12}-{m % 12 + 1:02d}": m for m in baseline.index}
    for row in rows:
        for ours, theirs in check.items():
            expected = baseline.loc[months[row["month"]], theirs]
            assert abs(float(row[ours]) - expected) < 0.01, (row["month"], ours, expected)

    load_before = os.getloadavg()[0]
    runs = [run_keepwell(subs, acc, fx, as_of) for _ in range(args.repeat)]
    load, keepwell = best([r[0] for r in runs]), best([r[1] for r in runs])
    movements = best([r[2] for r in runs])
    pandas = best([run_pandas(subs) for _ in range(args.repeat)])
    print(f"book: {args.accounts:,} accounts, {args.lines:,} lines, {MONTHS} months")
    load_avg = f"{load_before:.2f} -> {os.getloadavg()[0]:.2f}"
    print(f"best of {args.repeat} runs; load average {load_avg} on {os.cpu_count()} cpus")
    print("                                   wall s   CPU s (all threads)")
    print(f"load (arrow -> converted lines):  {load[0]:6.2f}  {load[1]:6.2f}")
    print(f"keepwell first call (compiles):   {first[0]:6.2f}  {first[1]:6.2f}")
    print(f"keepwell metrics mrr + summary:   {keepwell[0]:6.2f}  {keepwell[1]:6.2f}")
    print(f"keepwell metrics mrr alone:       {movements[0]:6.2f}  {movements[1]:6.2f}")
    print(f"pandas baseline (vectorised):     {pandas[0]:6.2f}  {pandas[1]:6.2f}")
    ratio = f"{pandas[0] / keepwell[0]:5.1f}x  {pandas[1] / keepwell[1]:5.1f}x"
    print(f"ratio baseline / keepwell:        {ratio}   (mrr + summary)")
    alone = f"{pandas[0] / movements[0]:5.1f}x  {pandas[1] / movements[1]:5.1f}x"
    print(f"ratio baseline / keepwell:        {alone}   (mrr alone, the same scope)")
    print(f"(MRR as of {as_of}: {summary.mrr:,.2f})")


if __name__ == "__main__":
    main()
