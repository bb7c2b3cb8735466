"""Mapped-import benchmark: the same N subscription lines (default 1 million) imported
once contract-shaped and once as a billing export through a mapping, in one process.

The export has Stripe's dashboard shape (``Customer ID``, ``Amount``, ``Interval``,
``Quantity``, ``Cancel At Period End``...); the mapping renames, computes MRR with an
expression (yearly prices to a month, quantity x price), takes the end of a line from
two columns, converts timestamps to dates and filters rows. The contract-shaped file
holds the lines that mapping makes, so both imports load the same rows. ``ratio`` is
the mapped import's time over the contract-shaped one's (issue 16: within 1.5x).

    .venv/bin/python bench/bench_mapped_import.py [--rows 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

MAPPING = """
entity: subscriptions
where: "Status not in ('trialing', 'incomplete')"
let:
  per_year: {column: Interval, map: {month: 12, year: 1}}
columns:
  line_id: id
  account_id: "Customer ID"
  product: Product
  quantity: Quantity
  currency: Currency
  mrr: {expr: "Amount * Quantity * per_year / 12"}
  starts_on: {column: "Start Date (UTC)", date_format: "%Y-%m-%d %H:%M"}
  ends_on:
    first:
      - {column: "Ended At (UTC)", date_format: "%Y-%m-%d %H:%M"}
      - column: "Current Period End (UTC)"
        date_format: "%Y-%m-%d %H:%M"
        when: "\\"Cancel At Period End\\" = 'true'"
attributes:
  plan: Plan
"""
PRODUCTS = ["Basic", "Pro", "Team", "Enterprise"]


def write_files(folder: Path, rows: int, accounts: int = 5000) -> tuple[Path, Path, Path]:
    """The accounts, the export and the same lines contract-shaped (seeded)."""
    rng = np.random.default_rng(16)
    account_file = folder / "accounts.csv"
    account_file.write_text(
        "account_id,name\n" + "".join(f"cus_{a:05d},Account {a}\n" for a in range(accounts))
    )
    export, contract = folder / "export.csv", folder / "contract.csv"
    with export.open("w") as ex, contract.open("w") as co:
        ex.write(
            "id,Customer ID,Plan,Product,Quantity,Currency,Interval,Amount,Status,"
            "Start Date (UTC),Current Period End (UTC),Cancel At Period End,Ended At (UTC)\n"
        )
        co.write("line_id,account_id,product,quantity,currency,mrr,starts_on,ends_on,plan\n")
        chunk = 100_000
        for offset in range(0, rows, chunk):
            n = min(chunk, rows - offset)
            acct = rng.integers(0, accounts, n)
            product = rng.integers(0, len(PRODUCTS), n)
            qty = rng.integers(1, 20, n)
            yearly = rng.random(n) < 0.3
            cents = rng.integers(1000, 500000, n)
            start = rng.integers(0, 700, n)
            fate = rng.random(n)
            ex_lines, co_lines = [], []
            for i in range(n):
                sid = f"sub_{offset + i:08d}"
                amount = Decimal(int(cents[i])) / 100
                interval = "year" if yearly[i] else "month"
                day = np.datetime64("2024-01-01") + int(start[i])
                end = day + 365
                ended = f"{end} 00:00" if fate[i] < 0.1 else ""
                at_end = "true" if 0.1 <= fate[i] < 0.2 else "false"
                ends_on = str(end) if fate[i] < 0.2 else ""
                per_year = 1 if yearly[i] else 12
                mrr = amount * int(qty[i]) * per_year / 12
                mrr = mrr.quantize(Decimal("0.000001"))
                ex_lines.append(
                    f"{sid},cus_{acct[i]:05d},price_{product[i]}_{interval},"
                    f"{PRODUCTS[product[i]]},{qty[i]},usd,{interval},{amount},active,"
                    f"{day} 09:30,{end} 09:30,{at_end},{ended}\n"
                )
                co_lines.append(
                    f"{sid},cus_{acct[i]:05d},{PRODUCTS[product[i]]},{qty[i]},USD,{mrr},"
                    f"{day},{ends_on},price_{product[i]}_{interval}\n"
                )
            ex.write("".join(ex_lines))
            co.write("".join(co_lines))
    return account_file, export, contract


def main() -> None:
    from keepwell.contract.mapping import load_mapping
    from keepwell.contract.service import import_file
    from keepwell.core.settings import Settings
    from keepwell.core.workspace import init_workspace

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="kw-bench-mapped-"))
    work.mkdir(parents=True, exist_ok=True)
    accounts, export, contract = write_files(work, args.rows)
    mapping = load_mapping(MAPPING, "bench mapping")
    print(f"subscriptions import, {args.rows:,} rows: contract-shaped vs mapped export")
    print(f"{'import':16} {'rows/s':>10} {'seconds':>8} {'cpu s':>8} {'loaded':>10} {'load':>5}")
    timings, cpu = {}, {}
    for name, path, chosen in (("contract-shaped", contract, None), ("mapped", export, mapping)):
        root = work / f"ws-{name}"
        ws = init_workspace(root, settings=Settings(home=root))
        import_file(ws, "accounts", accounts)
        started, cpu_started = time.perf_counter(), time.process_time()
        report = import_file(ws, "subscriptions", path, mapping=chosen)
        elapsed = time.perf_counter() - started
        cpu[name] = time.process_time() - cpu_started
        ws.close()
        assert report.loaded == args.rows, f"{name}: loaded {report.loaded} of {args.rows}"
        timings[name] = elapsed
        print(
            f"{name:16} {args.rows / elapsed:>10,.0f} {elapsed:>8.1f} {cpu[name]:>8.1f} "
            f"{report.loaded:>10,} "
            f"{os.getloadavg()[0]:>5.1f}"
        )
    ratio = timings["mapped"] / timings["contract-shaped"]
    cpu_ratio = cpu["mapped"] / cpu["contract-shaped"]
    print(
        f"ratio mapped / contract-shaped: {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU "
        "(target: within 1.5x; on a loaded machine the CPU ratio is the steadier one)"
    )


if __name__ == "__main__":
    main()
