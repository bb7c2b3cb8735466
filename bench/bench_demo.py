"""Benchmark: generate the demo company at 2000 accounts x 36 months.

Run: ``.venv/bin/python bench/bench_demo.py [--accounts 2000] [--months 36]``.
Prints wall-clock seconds and rows per entity; target under 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

from keepwell.demo.service import generate_demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        summary = generate_demo(
            Path(tmp), accounts=args.accounts, months=args.months, seed=args.seed,
            end_month=date(2026, 3, 1),
        )  # fmt: skip
        seconds = time.perf_counter() - started
    print(f"demo {args.accounts} accounts x {args.months} months: {seconds:.1f} s")
    for entity, rows in summary.rows.items():
        print(f"  {entity:<14} {rows:>12,}")


if __name__ == "__main__":
    main()
