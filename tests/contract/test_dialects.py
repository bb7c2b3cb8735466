"""Spreadsheet dialects (issue 16 item 1): a CSV saved by a comma-decimal spreadsheet
imports with --decimal , --date-order dmy and gives the right MRR to the cent; without
the flags the import stops naming the flag and loads nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from keepwell.contract.dialect import (
    Dialect,
    MissingFlagError,
    date_text,
    number_text,
    sniff_delimiter,
)
from tests.cli_runner import run_cli

ACCOUNTS = (
    "\ufeffaccount_id;name;category_budget\r\n\r\n"
    'A1;Acme GmbH;12.000,00\r\nA2;"Bäckerei;\nMüller";\r\n'
)
SUBSCRIPTIONS = (
    "\ufeffline_id;account_id;product;mrr;starts_on;ends_on\r\n"
    "L1;A1;Pro;1.234,50;03/04/2025;\r\n"
    "\r\n"
    "L2;A2;Basic;99,99;01/02/2025;01/05/2025\r\n"
    "L3;A1;Seats;1.000;15/05/2025;\r\n"
)


@pytest.fixture
def home(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path / "ws"
    assert run_cli(["init", str(home)], home, capsys, monkeypatch).code == 0
    return home


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _mrr(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Decimal]:
    result = run_cli(
        ["metrics", "mrr", "--from", "2025-01", "--to", "2025-06", "--format", "json"],
        home, capsys, monkeypatch,
    )  # fmt: skip
    assert result.code == 0, result.err
    return {r["month"]: Decimal(str(r["ending_mrr"])) for r in json.loads(result.out)}


def test_comma_decimal_spreadsheet_imports_with_the_flags_and_mrr_is_exact(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts = _write(tmp_path / "accounts.csv", ACCOUNTS)
    subs = _write(tmp_path / "subs.csv", SUBSCRIPTIONS)
    flags = ["--decimal", ",", "--date-order", "dmy"]

    first = run_cli(["import", "accounts", str(accounts), *flags], home, capsys, monkeypatch)
    second = run_cli(["import", "subscriptions", str(subs), *flags], home, capsys, monkeypatch)

    assert first.code == 0, first.err
    assert "read 2, loaded 2" in first.out
    assert second.code == 0, second.err
    assert "read 3, loaded 3" in second.out
    # L1 from April (3 April), L2 February to April (ends 1 May), L3 from May
    assert _mrr(home, capsys, monkeypatch) == {
        "2025-01": Decimal("0"),
        "2025-02": Decimal("99.99"),
        "2025-03": Decimal("99.99"),
        "2025-04": Decimal("1334.49"),
        "2025-05": Decimal("2234.50"),
        "2025-06": Decimal("2234.50"),
    }


@pytest.mark.parametrize(
    ("flags", "named", "where"),
    [
        ([], "--decimal", "line 2, column mrr"),
        (["--decimal", ","], "--date-order", "line 2, column starts_on"),
    ],
)
def test_without_the_flag_the_import_stops_naming_it_and_loads_nothing(
    home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    flags: list[str],
    named: str,
    where: str,
) -> None:
    accounts = _write(tmp_path / "accounts.csv", ACCOUNTS)
    assert (
        run_cli(
            ["import", "accounts", str(accounts), "--decimal", ","], home, capsys, monkeypatch
        ).code
        == 0
    )
    subs = _write(tmp_path / "subs.csv", SUBSCRIPTIONS)

    result = run_cli(["import", "subscriptions", str(subs), *flags], home, capsys, monkeypatch)

    assert result.code == 2
    assert "Traceback" not in result.err
    assert named in result.err
    assert where in result.err
    assert "nothing was loaded" in result.err
    assert not any(_mrr(home, capsys, monkeypatch).values())


def test_a_thousands_only_amount_never_loads_before_the_comma_is_seen(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``1.000`` (one thousand in this file) comes before ``1.234,50``: it must not load
    as 1.000 while the import goes on."""
    accounts = _write(tmp_path / "accounts.csv", "account_id,name\nA1,Acme\n")
    assert run_cli(["import", "accounts", str(accounts)], home, capsys, monkeypatch).code == 0
    subs = _write(
        tmp_path / "subs.csv",
        "line_id;account_id;product;mrr;starts_on\nL3;A1;Seats;1.000;2025-01-01\n"
        "L1;A1;Pro;1.234,50;2025-01-01\n",
    )
    result = run_cli(["import", "subscriptions", str(subs)], home, capsys, monkeypatch)
    assert result.code == 2
    assert "--decimal" in result.err
    assert "line 3" in result.err
    assert not any(_mrr(home, capsys, monkeypatch).values())


@pytest.mark.parametrize(
    ("encoding", "flag"),
    [("cp1252", ["--encoding", "cp1252"]), ("utf-16", ["--encoding", "utf-16"])],
)
def test_named_encodings_read_and_unnamed_ones_are_named_in_the_error(
    home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    encoding: str,
    flag: list[str],
) -> None:
    path = _write(tmp_path / "a.csv", "account_id\tname\r\nA1\tCafé Müller\r\n", encoding)

    refused = run_cli(["import", "accounts", str(path)], home, capsys, monkeypatch)
    loaded = run_cli(
        ["import", "accounts", str(path), *flag, "--format", "json"], home, capsys, monkeypatch
    )

    if encoding == "utf-16":
        assert refused.code == 2
        assert "--encoding utf-16" in refused.err
    else:  # the header is ASCII: the row is rejected with the encoding named
        assert refused.code == 1
        assert "not valid UTF-8" in refused.err
    assert loaded.code == 0, loaded.err
    assert json.loads(loaded.out)["loaded"] == 1


def test_quoted_newlines_and_pipes_are_read() -> None:
    assert sniff_delimiter('a|b|"c,d"') == "|"
    assert sniff_delimiter("a;b,c;d") == ";"
    assert sniff_delimiter("a\tb") == "\t"
    assert sniff_delimiter("single") == ","


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        ("1.234,50", ",", "1234.50"),
        ("-1 234,5", ",", "-1234.5"),
        ("1,234.50", ".", "1234.50"),
        ("99", ",", "99"),
        ("12.5", None, "12.5"),
    ],
)
def test_numbers_in_a_dialect(text: str, decimal: str | None, expected: str) -> None:
    assert number_text(text, decimal) == expected


@pytest.mark.parametrize(("text", "decimal"), [("1.23,4", ","), ("12,34,5", "."), ("1.2.3", ",")])
def test_numbers_that_break_their_grouping_are_refused(text: str, decimal: str) -> None:
    with pytest.raises(ValueError, match="expected a number"):
        number_text(text, decimal)


def test_a_comma_without_the_flag_names_it() -> None:
    with pytest.raises(MissingFlagError) as caught:
        number_text("1.234,50", None)
    assert caught.value.flag == "--decimal"


@pytest.mark.parametrize(
    ("text", "dialect", "expected"),
    [
        ("03/04/2025", Dialect(date_order="dmy"), "2025-04-03"),
        ("03/04/2025", Dialect(date_order="mdy"), "2025-03-04"),
        ("2025.04.03", Dialect(date_order="ymd"), "2025-04-03"),
        ("3.4.25", Dialect(date_order="dmy"), "2025-04-03"),
        ("03.04.2025", Dialect(date_format="%d.%m.%Y"), "2025-04-03"),
        ("2025-04-03", Dialect(), "2025-04-03"),
    ],
)
def test_dates_in_a_dialect(text: str, dialect: Dialect, expected: str) -> None:
    assert date_text(text, dialect) == expected


def test_a_numeric_date_without_the_order_names_the_flag() -> None:
    with pytest.raises(MissingFlagError) as caught:
        date_text("03/04/2025", Dialect())
    assert caught.value.flag == "--date-order"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--decimal", ";"], "decimal must be"),
        (["--date-order", "dym"], "date order must be"),
        (["--encoding", "klingon"], "unknown encoding"),
        (["--delimiter", "x"], "delimiter must be"),
        (["--date-format", "dd/mm"], "has no % field"),
    ],
)
def test_bad_dialect_flags_are_one_line_errors(
    home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    flags: list[str],
    message: str,
) -> None:
    path = _write(tmp_path / "a.csv", "account_id,name\nA1,Acme\n")
    result = run_cli(["import", "accounts", str(path), *flags], home, capsys, monkeypatch)
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.err


def test_a_value_that_breaks_the_dialect_is_a_rejected_row_with_line_and_column(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts = _write(tmp_path / "accounts.csv", "account_id,name\nA1,Acme\n")
    assert run_cli(["import", "accounts", str(accounts)], home, capsys, monkeypatch).code == 0
    subs = _write(
        tmp_path / "subs.csv",
        "line_id;account_id;product;mrr;starts_on\nL1;A1;Pro;1.234,50;03/04/2025\n"
        "L2;A1;Pro;1,2,3;03/04/2025\nL3;A1;Pro;5;31/02/2025\n",
    )
    result = run_cli(
        ["import", "subscriptions", str(subs), "--decimal", ",", "--date-order", "dmy",
         "--format", "json"],
        home, capsys, monkeypatch,
    )  # fmt: skip
    summary = json.loads(result.out)
    assert result.code == 1
    assert (summary["read"], summary["loaded"], summary["rejected"]) == (3, 1, 2)
    assert [r["line"] for r in summary["rejects"]] == [3, 4]
    assert summary["rejects"][0]["reason"].startswith("mrr: expected a number like 1.234,50")
    assert summary["rejects"][1]["reason"].startswith("starts_on:")
    rejects = Path(summary["rejects_file"]).read_text()
    assert "L2;A1;Pro;1,2,3" in rejects.replace('"', "")


def test_a_year_first_date_needs_no_order_flag() -> None:
    assert date_text("2025/4/3", Dialect()) == "2025/4/3"  # left to the contract's parser
    assert date_text("2025/4/3", Dialect(date_order="dmy")) == "2025-04-03"
