"""Shared demo company for the demo tests: generated once per session, read back from disk."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from keepwell.demo.service import DemoSummary, generate_demo

END_MONTH = date(2026, 3, 1)
MONTHS = 36
ACCOUNTS = 300
SEED = int(os.environ.get("KEEPWELL_DEMO_TEST_SEED", "11"))  # to check other seeds by hand


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def month_start(index: int) -> date:
    """First day of month ``index`` of the window (0 = first month)."""
    k = END_MONTH.year * 12 + END_MONTH.month - 1 - (MONTHS - 1) + index
    return date(k // 12, k % 12 + 1, 1)


@dataclass
class Company:
    summary: DemoSummary
    tables: dict[str, list[dict[str, str]]]
    truth: dict[str, list[dict[str, str]]]
    events: pa.Table
    account_ids: list[str]
    mrr: np.ndarray  # (accounts, months): MRR on the last day of each month, per metrics.md

    @property
    def start(self) -> date:
        return month_start(0)


def month_end_mrr(lines: list[dict[str, str]], account_ids: list[str]) -> np.ndarray:
    """MRR on the last day of each month of the window, from subscription lines."""
    index = {a: i for i, a in enumerate(account_ids)}
    ends = [month_start(m + 1) - timedelta(days=1) for m in range(MONTHS)]
    mrr = np.zeros((len(account_ids), MONTHS))
    for line in lines:
        starts = date.fromisoformat(line["starts_on"])
        stop = date.fromisoformat(line["ends_on"]) if line["ends_on"] else date.max
        for m, day in enumerate(ends):
            if starts <= day < stop:
                mrr[index[line["account_id"]], m] += float(line["mrr"])
    return mrr


@pytest.fixture(scope="session")
def company(tmp_path_factory: pytest.TempPathFactory) -> Company:
    out = tmp_path_factory.mktemp("demo")
    summary = generate_demo(out, accounts=ACCOUNTS, months=MONTHS, seed=SEED, end_month=END_MONTH)
    tables = {name: read_csv(path) for name, path in summary.files.items() if path.suffix == ".csv"}
    truth = {p.stem: read_csv(p) for p in sorted((out / "truth").glob("*.csv"))}
    account_ids = [row["account_id"] for row in tables["accounts"]]
    mrr = month_end_mrr(tables["subscriptions"], account_ids)
    return Company(summary, tables, truth, pq.read_table(summary.files["events"]), account_ids, mrr)
