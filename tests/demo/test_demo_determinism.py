"""Same seed, same bytes; another seed, another company."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from keepwell.core.errors import InputError
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
