"""Excel workbooks (issue 16 item 1): a sheet imports like a CSV (numbers exact, dates
as dates, the row number as the line); a broken workbook, a missing sheet or a row
longer than the header is a clear error, never a traceback. Needs python-calamine."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.cli_runner import Result, run_cli
from tests.contract.xlsx import write_xlsx


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    home = tmp_path / "ws"

    def run(*args: str) -> Result:
        return run_cli(list(args), home, capsys, monkeypatch)

    assert run("init", str(home)).code == 0
    return run


def test_a_workbook_imports_with_exact_numbers_dates_and_row_numbers(
    cli,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    accounts = write_xlsx(
        tmp_path / "accounts.xlsx",
        {
            "Kunden": [
                ["account_id", "name", "employees"],
                ["A1", "Acme", 120],
                [],
                ["A2", "Globex", 8],
            ]
        },
    )
    lines = write_xlsx(
        tmp_path / "lines.xlsx",
        {
            "Notes": [["nothing here"]],
            "Lines": [
                ["line_id", "account_id", "product", "mrr", "starts_on", "ends_on"],
                ["L1", "A1", "Pro", 1234.5, date(2025, 1, 15), None],
                ["L2", "A2", "Basic", 99.99, date(2025, 2, 1), date(2025, 4, 1)],
                ["L3", "A2", "Basic", "lots", date(2025, 2, 1), None],
            ],
        },
    )

    first = cli("import", "accounts", str(accounts), "--format", "json")
    second = cli("import", "subscriptions", str(lines), "--sheet", "Lines", "--format", "json")
    mrr = cli("metrics", "mrr", "--from", "2025-01", "--to", "2025-04", "--format", "json")

    assert first.code == 0, first.err
    assert json.loads(first.out)["loaded"] == 2
    summary = json.loads(second.out)
    assert second.code == 1
    assert (summary["read"], summary["loaded"], summary["rejected"]) == (3, 2, 1)
    assert summary["rejects"][0]["line"] == 4  # the sheet's row number
    assert summary["rejects"][0]["reason"].startswith("mrr: expected a number")
    assert Path(summary["rejects_file"]).name == "lines.rejects.csv"
    assert {r["month"]: Decimal(str(r["ending_mrr"])) for r in json.loads(mrr.out)} == {
        "2025-01": Decimal("1234.5"),
        "2025-02": Decimal("1334.49"),
        "2025-03": Decimal("1334.49"),
        "2025-04": Decimal("1234.5"),
    }


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (lambda p: p.write_bytes(b"PK\x03\x04 not really a zip"), [], "not a readable .xlsx"),
        (lambda p: p.write_bytes(b""), [], "not a readable .xlsx"),
        (
            lambda p: write_xlsx(p, {"S": [["account_id", "name"]]}),
            ["--sheet", "Nope"],
            "no sheet named 'Nope'",
        ),
        (
            lambda p: write_xlsx(p, {"S": [["account_id", "", "name"]]}),
            [],
            "row 1: column 2 has no name",
        ),
        (lambda p: write_xlsx(p, {"S": [[], []]}), [], "is empty"),
    ],
)
def test_a_bad_workbook_is_a_one_line_error(
    cli,
    tmp_path: Path,
    make,
    args: list[str],
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    path = tmp_path / "a.xlsx"
    make(path)
    result = cli("import", "accounts", str(path), *args)
    assert result.code == 2, result.out
    assert message in result.err
    assert "Traceback" not in result.err


def test_a_row_longer_than_the_header_is_rejected_and_kept(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_xlsx(
        tmp_path / "a.xlsx", {"S": [["account_id", "name"], ["A1", "Acme", "stray"], ["A2", "B"]]}
    )
    result = cli("import", "accounts", str(path), "--format", "json")
    summary = json.loads(result.out)
    assert (summary["read"], summary["loaded"], summary["rejected"]) == (2, 1, 1)
    assert summary["rejects"][0] == {"line": 2, "reason": "3 cells where the header has 2"}
    assert "A1,Acme" in Path(summary["rejects_file"]).read_text()
