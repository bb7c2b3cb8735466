"""Use case of the demo slice: write a whole demo company to a folder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from keepwell.core.errors import InputError
from keepwell.demo.catalog import Billing
from keepwell.demo.generator import ENTITIES, generate_company
from keepwell.demo.writer import write_csv, write_events

TRUTH_DIR = "truth"


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`generate_demo` wrote: entity name -> file and row count."""

    out_dir: Path
    files: dict[str, Path]
    rows: dict[str, int]
    truth_dir: Path | None = None


def generate_demo(
    out_dir: Path,
    *,
    accounts: int,
    months: int,
    seed: int,
    end_month: date,
    billing: Billing = Billing.MIXED,
) -> DemoSummary:
    """Generate a demo company into ``out_dir`` (created if missing).

    Writes ``<entity>.csv`` for the seven CSV entities, ``events.parquet`` for product
    usage, and ``truth/`` (latent health, churns with reasons, segments, shocks) which
    is never imported. The data covers the ``months`` calendar months ending with
    ``end_month`` (the first day of the last month). ``billing``: the default mixes
    month-to-month and annual contracts; ``Billing.MONTHLY`` bills every customer month
    to month (open-ended lines, no renewal dates). Same arguments, same bytes.
    """
    if accounts < 1:
        raise InputError(f"accounts must be at least 1, got {accounts}", hint="pass --accounts 300")
    company = generate_company(
        accounts=accounts, months=months, seed=seed, end_month=end_month, billing=billing
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_dir = out_dir / TRUTH_DIR
    truth_dir.mkdir(exist_ok=True)
    files: dict[str, Path] = {}
    rows: dict[str, int] = {}
    for entity in ENTITIES:
        files[entity] = out_dir / f"{entity}.csv"
        rows[entity] = write_csv(files[entity], company.tables[entity])
    files["events"] = out_dir / "events.parquet"
    rows["events"] = write_events(files["events"], company.events())
    for name, table in company.truth.items():
        write_csv(truth_dir / f"{name}.csv", table)
    return DemoSummary(out_dir=out_dir, files=files, rows=rows, truth_dir=truth_dir)
