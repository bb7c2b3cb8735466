"""The timeline: imported activities and notes written in Keepwell, newest first, with
tags; the CLI commands ``keepwell timeline`` and ``keepwell notes add``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from keepwell.contract.service import import_file, load_rows
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.workspace import Workspace
from keepwell.success.timeline import account_timeline, add_note, clean_tags
from tests.cli_runner import run_cli
from tests.factories import write_rows

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _load(ws: Workspace, tmp_path: Path) -> None:
    load_rows(ws, "accounts", [{"account_id": "A", "name": "Acme"},
                               {"account_id": "B", "name": "Beta"}])  # fmt: skip
    rows = [
        {"activity_id": "a1", "account_id": "A", "occurred_at": "2026-01-05T09:00:00Z",
         "kind": "meeting", "author": "csm@x.example", "subject": "Kick-off", "body": "Goals",
         "tags": "onboarding"},
        {"activity_id": "a2", "account_id": "A", "occurred_at": "2026-02-01T09:00:00Z",
         "kind": "call", "subject": "Escalation", "tags": "risk;support"},
        {"activity_id": "b1", "account_id": "B", "occurred_at": "2026-02-02T09:00:00Z",
         "kind": "email", "subject": "Hello"},
    ]  # fmt: skip
    report = import_file(ws, "activities", write_rows(tmp_path / "activities.csv", rows))
    assert report.rejected == 0


def test_timeline_merges_imported_activities_and_notes(
    workspace: Workspace, tmp_path: Path
) -> None:
    _load(workspace, tmp_path)
    note = add_note(workspace, "A", "csm@x.example", "  Sponsor is leaving in May ",
                    "risk; sponsor ;risk", "note", AT)  # fmt: skip
    assert note["tags"] == ["risk", "sponsor"]
    timeline = account_timeline(workspace, "A", 10)
    assert [e["activity_id"] for e in timeline] == [note["activity_id"], "a2", "a1"]
    assert timeline[0]["body"] == "Sponsor is leaving in May"
    assert timeline[0]["occurred_at"] == AT
    assert timeline[1]["tags"] == ["risk", "support"]
    assert [e["activity_id"] for e in account_timeline(workspace, "A", 1)] == [note["activity_id"]]
    risky = account_timeline(workspace, "A", 10, tag="RISK")
    assert [e["activity_id"] for e in risky] == [note["activity_id"], "a2"]
    assert [e["activity_id"] for e in account_timeline(workspace, "B", 10)] == ["b1"]


def test_bad_notes_are_refused_with_reasons(workspace: Workspace, tmp_path: Path) -> None:
    _load(workspace, tmp_path)
    with pytest.raises(NotFoundError, match="no account 'Z'"):
        add_note(workspace, "Z", None, "text", None, "note", AT)
    with pytest.raises(NotFoundError):
        account_timeline(workspace, "Z", 10)
    with pytest.raises(InputError, match="kind"):
        add_note(workspace, "A", None, "text", None, "lunch", AT)
    with pytest.raises(InputError, match="needs a body"):
        add_note(workspace, "A", None, "   ", None, "note", AT)
    assert len(account_timeline(workspace, "A", None)) == 2


def test_clean_tags() -> None:
    assert clean_tags("a; b;;a ") == ["a", "b"]
    assert clean_tags(["x", " ", "y", "x"]) == ["x", "y"]
    assert clean_tags(None) == []


def test_cli_notes_and_timeline(
    sqlite_workspace: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _load(sqlite_workspace, tmp_path)
    home = sqlite_workspace.root
    added = run_cli(["notes", "add", "A", "--body", "QBR booked", "--tags", "qbr;renewal",
                     "--kind", "meeting", "--at", "2026-03-01T10:00:00Z",
                     "--author", "me@x.example"], home, capsys, monkeypatch)  # fmt: skip
    assert added.code == 0, added.err
    assert "added meeting" in added.out
    shown = run_cli(["timeline", "A", "--format", "json"], home, capsys, monkeypatch)
    entries = json.loads(shown.out)
    assert entries[0]["detail"] == "QBR booked #qbr #renewal"
    assert entries[0]["who"] == "me@x.example"
    assert [e["title"] for e in entries[1:]] == ["Escalation", "Kick-off"]
    table = run_cli(["timeline", "A", "--tag", "risk"], home, capsys, monkeypatch)
    assert "Escalation" in table.out
    assert "Kick-off" not in table.out
    csv_out = run_cli(["timeline", "A", "--format", "csv"], home, capsys, monkeypatch)
    assert "#qbr #renewal" in csv_out.out
    missing = run_cli(["timeline", "NOPE"], home, capsys, monkeypatch)
    assert missing.code == 2
    assert "no account 'NOPE'" in missing.err
    bad = run_cli(["notes", "add", "A", "--body", "x", "--kind", "lunch"], home, capsys,
                  monkeypatch)  # fmt: skip
    assert bad.code == 2
    assert "kind" in bad.err
