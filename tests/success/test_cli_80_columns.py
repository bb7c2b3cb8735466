"""The CLI reads well at 80 columns: ``ctas list`` names the account and its health on
one or a few lines per CTA, ``renewals`` shows whole ARR figures with the account's
name and health, risky accounts likewise; a note records who wrote it; rates print as
percentages; ``renewals --within -5`` is refused. Before: ``ctas list`` took about 13
lines per CTA, ARR was cut to "161,563.…", account ids only, rates as fractions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from keepwell.core.workspace import Workspace
from tests.cli_runner import Result, run_cli
from tests.success.company import AS_OF, load_company


@pytest.fixture
def company(
    sqlite_workspace: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Workspace:
    load_company(sqlite_workspace, tmp_path)
    ran = run_cli(["run", "--as-of", AS_OF.isoformat()], sqlite_workspace.root, capsys, monkeypatch)
    assert ran.code == 0, ran.err
    return sqlite_workspace


def _fits(result: Result) -> list[str]:
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert max(len(line) for line in lines) <= 80, result.out
    return lines


def test_ctas_list_fits_and_names_account_and_health(
    company: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    listed = run_cli(["ctas", "list", "--as-of", AS_OF.isoformat()], company.root, capsys,
                     monkeypatch)  # fmt: skip
    lines = _fits(listed)
    ctas = json.loads(
        run_cli(["ctas", "list", "--format", "json"], company.root, capsys, monkeypatch).out
    )
    assert len(lines) <= 5 + 3 * len(ctas)
    text = listed.out
    assert "account" in text
    assert "health" in text
    names = json.loads(
        run_cli(["metrics", "summary", "--format", "json"], company.root, capsys, monkeypatch).out
    )
    assert names["as_of"]  # the data's now, no error


def test_renewals_fit_with_whole_arr_and_refuse_negative_days(
    company: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    args = ["renewals", "--as-of", AS_OF.isoformat(), "--within", "365"]
    shown = run_cli(args, company.root, capsys, monkeypatch)
    lines = _fits(shown)
    rows = json.loads(run_cli([*args, "--format", "json"], company.root, capsys, monkeypatch).out)
    assert rows
    for row in rows:
        assert f"{round(row['arr']):,}" in shown.out  # never cut with an ellipsis
    assert "…" not in shown.out
    assert any("health" in line for line in lines[:4])
    refused = run_cli(["renewals", "--within", "-5"], company.root, capsys, monkeypatch)
    assert refused.code == 2
    assert "--within -5 must be a number of days >= 1" in refused.err


def test_summary_rates_are_percentages(
    company: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = run_cli(["metrics", "summary", "--as-of", AS_OF.isoformat()], company.root, capsys,
                    monkeypatch)  # fmt: skip
    rates = [line.split() for line in shown.out.splitlines() if "_rate " in line]
    values = [parts[1] for parts in rates if len(parts) == 2]  # undefined rates are empty
    assert values
    assert all(v.endswith("%") for v in values), values


def test_a_note_records_its_author(
    company: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account = json.loads(
        run_cli(["ctas", "list", "--format", "json"], company.root, capsys, monkeypatch).out
    )[0]["account_id"]
    added = run_cli(["notes", "add", account, "--body", "Called the sponsor"], company.root,
                    capsys, monkeypatch)  # fmt: skip
    assert added.code == 0, added.err
    shown = run_cli(["timeline", account, "--format", "json"], company.root, capsys, monkeypatch)
    note = next(e for e in json.loads(shown.out) if e["detail"] == "Called the sponsor")
    assert note["who"].startswith("cli")
