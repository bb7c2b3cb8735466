"""``keepwell import`` as a user meets it: exit codes 0/1/2 and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tests.factories import make_account, write_rows


@pytest.fixture
def home(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path / "ws"
    assert run_cli(["init", str(home)], home, capsys, monkeypatch).code == 0
    return home


def test_exit_0_when_every_row_loads(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_rows(tmp_path / "a.csv", [make_account()])
    result = run_cli(["import", "accounts", str(path)], home, capsys, monkeypatch)

    assert result.code == 0
    assert "read 1, loaded 1 (new 1, updated 0, unchanged 0), rejected 0" in result.out


def test_exit_1_with_line_column_reason_when_rows_are_rejected(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_rows(
        tmp_path / "a.csv", [make_account(), make_account(account_id="2", country="Germany")]
    )
    result = run_cli(
        ["import", "accounts", str(path), "--format", "json"], home, capsys, monkeypatch
    )

    assert result.code == 1
    summary = json.loads(result.out)
    assert (summary["read"], summary["loaded"], summary["rejected"]) == (2, 1, 1)
    assert summary["rejects"][0]["line"] == 3
    assert summary["rejects"][0]["reason"].startswith("country: expected an ISO 3166")
    assert Path(summary["rejects_file"]).name == "a.rejects.csv"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "widgets", "x.csv"], "error: unknown entity 'widgets'"),
        (["import", "accounts", "missing.csv"], "error: missing.csv: no such file"),
    ],
)
def test_exit_2_with_one_line_and_no_traceback(
    home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    result = run_cli(args, home, capsys, monkeypatch)

    assert result.code == 2
    assert result.err.startswith(message)
    assert "Traceback" not in result.err + result.out


def test_exit_2_for_a_missing_required_column(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "subs.csv"
    path.write_text("line_id,account_id\n1,2\n")
    result = run_cli(["import", "subscriptions", str(path)], home, capsys, monkeypatch)

    assert result.code == 2
    assert "missing required columns product, mrr, starts_on for subscriptions" in result.err


def test_dry_run_says_so_and_writes_nothing(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_rows(tmp_path / "a.csv", [make_account()])
    dry = run_cli(["import", "accounts", str(path), "--dry-run"], home, capsys, monkeypatch)
    real = run_cli(["import", "accounts", str(path)], home, capsys, monkeypatch)

    assert "would load 1" in dry.out
    assert "dry run" in dry.out
    assert "new 1" in real.out


def test_commands_outside_a_workspace_say_how_to_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(["import", "accounts", "a.csv"], tmp_path / "none", capsys, monkeypatch)

    assert result.code == 2
    assert "no Keepwell workspace" in result.err
    assert "keepwell init" in result.err


def test_settings_show_and_set(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli(["settings", "set", "base_currency", "eur"], home, capsys, monkeypatch).code == 0
    shown = run_cli(["settings", "show", "--format", "json"], home, capsys, monkeypatch)
    assert json.loads(shown.out) == {
        "base_currency": "EUR",
        "timezone": "UTC",
        "reference_window_days": "365",
    }
    bad = run_cli(["settings", "set", "timezone", "Nowhere/Land"], home, capsys, monkeypatch)
    assert bad.code == 2
    assert "unknown time zone" in bad.err


@pytest.mark.parametrize("quiet", [False, True])
def test_progress_bar_with_rows_per_second_on_a_terminal_unless_quiet(
    home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    quiet: bool,
) -> None:
    import io

    from rich.console import Console

    from keepwell.contract import cli

    terminal = io.StringIO()
    monkeypatch.setattr(cli, "err", Console(file=terminal, force_terminal=True, width=120))
    path = write_rows(tmp_path / "a.csv", [make_account(account_id=str(i)) for i in range(50)])
    args = ["import", "accounts", str(path), *(["--quiet"] if quiet else [])]

    assert run_cli(args, home, capsys, monkeypatch).code == 0
    assert ("rows/s" in terminal.getvalue()) is not quiet
