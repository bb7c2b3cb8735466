"""``--format csv`` prints one pure CSV table, also from commands that print several
tables in a terminal (issue 23): the first by default, another with ``--table NAME``,
the others named on standard error only."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from keepwell.core.workspace import Workspace
from tests.cli_runner import run_cli


def one_table(text: str) -> tuple[list[str], list[list[str]]]:
    """The header and rows of ``text``, which must be exactly one CSV table."""
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header, text
    assert all(len(r) == len(header) for r in rows), text
    assert header not in rows
    return header, rows


def test_simulate_csv_is_one_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run_cli(["simulate", "--format", "csv"], tmp_path, capsys, monkeypatch)
    assert first.code == 0, first.err
    header, rows = one_table(first.out)
    assert header == ["figure", "a", "b", "a - b"]
    assert "also: sensitivity (--table NAME)" in first.err
    second = run_cli(["simulate", "--format", "csv", "--table", "sensitivity"], tmp_path, capsys,
                     monkeypatch)  # fmt: skip
    header, rows = one_table(second.out)
    assert header[0] == "company"
    assert len(rows) >= 2
    bad = run_cli(["simulate", "--format", "csv", "--table", "nope"], tmp_path, capsys, monkeypatch)
    assert bad.code == 2
    assert "not a table of this command" in bad.err


def test_score_csv_is_one_table(
    sqlite_workspace: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.health.test_service_cli import FIRST, SECOND, _load

    _load(sqlite_workspace, tmp_path)
    home = sqlite_workspace.root
    assert run_cli(["score", "--as-of", str(FIRST)], home, capsys, monkeypatch).code == 0
    scored = run_cli(["score", "--as-of", str(SECOND), "--format", "csv"], home, capsys,
                     monkeypatch)  # fmt: skip
    assert scored.code == 0, scored.err
    header, rows = one_table(scored.out)
    assert header == ["band", "accounts"]
    movers = run_cli(["score", "--as-of", str(SECOND), "--format", "csv", "--table", "movers"],
                     home, capsys, monkeypatch)  # fmt: skip
    header, rows = one_table(movers.out)
    assert header[:2] == ["account_id", "score_before"]
    assert rows[0][0] == "A"
    shown = run_cli(["health", "show", "A", "--format", "csv", "--table", "change"], home, capsys,
                    monkeypatch)  # fmt: skip
    header, rows = one_table(shown.out)
    assert header[0] == "measure"
