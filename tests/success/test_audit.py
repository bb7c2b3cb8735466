"""The audit trail covers every write, recorded by the services whatever the face: CTA
and task changes, plans, notes, references, settings, rules and scorecard files, imports
and users; filtered by user, account, kind and day, and exported as CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from keepwell.auth import service as auth_service
from keepwell.core.workspace import Workspace
from keepwell.success import service
from tests.cli_runner import Result, run_cli
from tests.success.company import AS_OF, Clock, load_company
from tests.web.helpers import make_app
from tests.web.pages_helpers import add_person, csrf_of, sign_in

TODAY = datetime.now(UTC).date()


@pytest.fixture
def company(sqlite_workspace: Workspace, tmp_path: Path) -> Workspace:
    load_company(sqlite_workspace, tmp_path)
    service.run_cycle(sqlite_workspace, AS_OF, clock=Clock(), deliver=False)
    return sqlite_workspace


def _cli(ws: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def cli(*args: str) -> Result:
        result = run_cli(list(args), ws.root, capsys, monkeypatch)
        assert result.code == 0, result.err
        return result

    return cli


def test_audit_kind_cta_lists_a_cta_closed_from_the_cli_and_from_the_web_page(
    company: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the CLI left no row at all, the page only a bare ``POST /work/...``."""
    cli = _cli(company, capsys, monkeypatch)
    live = service.list_ctas(company, as_of=AS_OF)
    by_cli, by_page = live[0], live[1]
    cli("ctas", "close", str(by_cli["cta_id"]), "--outcome", "saved", "--reason", "met")
    add_person(company, "boss@example.com", "admin")
    boss = sign_in(make_app(company), "boss@example.com")
    account = by_page["account_id"]
    outcome = next(iter(by_page["outcomes"]))
    form = {"csrf_token": csrf_of(boss.get(f"/ctas/{by_page['cta_id']}").text),
            "outcome": outcome, "comment": "met", "confirm": "yes"}  # fmt: skip
    answer = boss.post(f"/ctas/{by_page['cta_id']}/close", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text

    rows = json.loads(cli("audit", "--kind", "cta", "--format", "json").out)
    opened = [r for r in rows if r["action"] == "cta.open"]  # by the cycle that opened them
    assert len(opened) == len(service.list_ctas(company, as_of=AS_OF, status="all"))
    rows = [r for r in rows if r["action"] != "cta.open"]
    assert [(r["actor"], r["action"], r["account_id"]) for r in rows] == [
        ("boss@example.com", "cta.close", account),
        (auth_service.cli_actor(), "cta.close", by_cli["account_id"]),
    ]
    assert rows[1]["details"]["after"] == {
        "status": "closed",
        "outcome": "saved",
        "close_reason": "met",
    }
    assert rows[1]["details"]["before"]["status"] == by_cli["status"]
    table = cli("audit", "--kind", "cta").out
    assert table.count("cta.close") == 2
    assert table.count("cta.open") == len(opened)
    assert "closed" in table
    assert auth_service.list_audit(company, kind="http") == []  # no bare duplicate rows


def test_every_kind_of_write_is_recorded_and_filtered_and_exported(
    company: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cli = _cli(company, capsys, monkeypatch)
    cta = service.list_ctas(company, as_of=AS_OF, account_id="A")[0]
    task = service.cta_detail(company, cta["cta_id"], as_of=AS_OF)["tasks"][0]["task_id"]
    cli("tasks", "complete", str(task))
    cli("notes", "add", "A", "--body", "QBR went well")
    cli("plans", "create", "A")
    cli("references", "flag", "A")
    cli("settings", "set", "base_currency", "EUR")
    cli("users", "add", "vera@example.com", "--role", "viewer")
    accounts = tmp_path / "more.csv"
    accounts.write_text("account_id,name\nC,Gamma\n", encoding="utf-8")
    cli("import", "accounts", str(accounts))
    rules = company.root / "rules.yaml"
    rules.write_text(rules.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    service.run_cycle(company, AS_OF, clock=Clock(), deliver=False)

    kinds = {r["kind"] for r in auth_service.list_audit(company, None)}
    assert {"task", "note", "plan", "reference", "settings", "user", "import", "rules",
            "playbooks", "scorecard"} <= kinds  # fmt: skip
    [imported] = [r for r in auth_service.list_audit(company, kind="import")
                  if r["target"] == str(accounts)]  # fmt: skip
    assert imported["details"] == {"file": str(accounts), "read": 1, "new": 1, "updated": 0,
                                   "unchanged": 0, "rejected": 0}  # fmt: skip
    rules_rows = auth_service.list_audit(company, kind="rules")
    assert len(rules_rows) == 2  # first use, then the edit; an unchanged file adds none
    assert rules_rows[0]["details"]["before"] == rules_rows[1]["details"]["after"]
    [setting] = auth_service.list_audit(company, kind="settings")
    assert setting["details"]["after"] == {"base_currency": "EUR"}

    on_a = json.loads(cli("audit", "--account", "A", "--format", "json").out)
    # the CTAs the cycle opened on A are there too (kind cta, action cta.open)
    assert {r["kind"] for r in on_a} == {"cta", "task", "note", "plan", "reference"}
    mine = auth_service.list_audit(company, None, actor=auth_service.cli_actor())
    assert len(mine) == len(auth_service.list_audit(company, None))
    assert auth_service.list_audit(company, None, until=date(2020, 1, 1)) == []
    assert len(auth_service.list_audit(company, None, since=TODAY)) == len(mine)
    exported = list(csv.DictReader(io.StringIO(cli("audit", "--format", "csv").out)))
    assert len(exported) == len(mine)  # every row, not the table's --limit
    assert json.loads(next(r for r in exported if r["kind"] == "import")["details"])["new"] == 1
