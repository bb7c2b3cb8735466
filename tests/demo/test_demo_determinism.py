"""Same seed, same bytes; another seed, another company."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keepwell.cli import app
from keepwell.core.errors import InputError
from keepwell.demo.catalog import Billing
from keepwell.demo.service import generate_demo


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _make(root: Path, seed: int) -> dict[str, bytes]:
    generate_demo(root, accounts=60, months=14, seed=seed, end_month=date(2025, 12, 1))
    return _files(root)


def test_same_seed_gives_the_same_bytes_in_every_file(tmp_path: Path) -> None:
    first, second = _make(tmp_path / "a", 5), _make(tmp_path / "b", 5)
    assert sorted(first) == sorted(second)
    assert "events.parquet" in first
    assert "truth/health.csv" in first
    for name in first:
        assert first[name] == second[name], name


def test_another_seed_gives_another_company(tmp_path: Path) -> None:
    first, other = _make(tmp_path / "a", 5), _make(tmp_path / "c", 6)
    differing = [name for name in first if first[name] != other.get(name)]
    assert {"accounts.csv", "subscriptions.csv", "events.parquet"} <= set(differing)


def test_end_month_must_be_a_first_day(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="first day of a month"):
        generate_demo(tmp_path, accounts=10, months=12, seed=1, end_month=date(2025, 12, 15))


def test_at_least_one_account(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="accounts"):
        generate_demo(tmp_path, accounts=0, months=12, seed=1, end_month=date(2025, 12, 1))


def _ends(subscriptions: bytes) -> list[str]:
    return [row.split(",")[7] for row in subscriptions.decode().splitlines()[1:]]


def test_monthly_billing_keeps_the_customers_and_drops_the_renewal_dates(tmp_path: Path) -> None:
    """``--billing monthly``: the same accounts (the same draws), every contract month
    to month: no line ends after the data's last day (a renewal date would)."""
    mixed = _make(tmp_path / "mixed", 5)
    end = date(2025, 12, 1)
    generate_demo(
        tmp_path / "monthly", accounts=60, months=14, seed=5, end_month=end, billing=Billing.MONTHLY
    )
    monthly = _files(tmp_path / "monthly")
    assert monthly["accounts.csv"] == mixed["accounts.csv"]
    assert b",annual," in mixed["truth/accounts.csv"]
    assert b",annual," not in monthly["truth/accounts.csv"]
    ends = _ends(monthly["subscriptions.csv"])
    assert ends.count("") > len(ends) // 2
    assert all(e <= "2025-12-31" for e in ends if e)
    assert any(e > "2025-12-31" for e in _ends(mixed["subscriptions.csv"]) if e)


def test_the_cli_takes_the_billing_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    args = ["demo", "generate", "--out", str(tmp_path / "d"), "--accounts", "20"]
    args += ["--months", "6", "--end", "2025-12"]
    result = CliRunner().invoke(app, [*args, "--billing", "monthly"])
    assert result.exit_code == 0, result.output
    truth = (tmp_path / "d" / "truth" / "accounts.csv").read_text(encoding="utf-8")
    assert ",monthly," in truth
    assert ",annual," not in truth
    wrong = CliRunner().invoke(app, [*args, "--billing", "yearly"])
    assert wrong.exit_code == 2
    assert "yearly" in wrong.output
