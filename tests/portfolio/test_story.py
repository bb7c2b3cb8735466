"""The whole-story timeline (issue 23 item 4): one service function assembles
activities and notes, tickets, surveys, CTAs, plan check-ins and milestones, messages
sent, health band changes, renewals and MRR changes, newest first and filterable by
kind; the CLI ``keepwell timeline ACCOUNT --kind ...`` and Account 360 show it."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from keepwell.contract.service import import_file
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.workspace import Workspace
from keepwell.health.models import HealthScore
from keepwell.notify.models import Notification
from keepwell.portfolio import service, story
from keepwell.success import service as success_service
from keepwell.success.models import Cta
from tests.cli_runner import run_cli
from tests.factories import make_row, write_rows
from tests.web.helpers import make_app
from tests.web.pages_helpers import add_person, sign_in

AS_OF = date(2026, 3, 31)


def _import(ws: Workspace, tmp_path: Path, entity: str, rows: list[dict[str, Any]]) -> None:
    report = import_file(ws, entity, write_rows(tmp_path / f"{entity}.csv", rows))
    assert report.rejected == 0, report.examples


def _cta(n: int, opened: date, closed: date | None, outcome: str | None) -> Cta:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return Cta(account_id="0042", rule="r", key=f"k{n}", open_key=None if closed else f"o{n}",
               type="risk", priority="high", title=f"Risk {n}", reason="usage fell",
               trigger_values={}, owner="csm@example.com", status="closed" if closed else "open",
               opened_on=opened, due_on=None, outcome=outcome, close_reason="saved" if closed
               else None, closed_on=closed, created_at=at, updated_at=at)  # fmt: skip


def _score(day: date, band: str, score: float) -> HealthScore:
    return HealthScore(as_of=day, account_id="0042", segment="high-touch", scorecard="default",
                       stage="adoption", score=score, band=band, details={})  # fmt: skip


def _company(ws: Workspace, tmp_path: Path) -> None:
    _import(ws, tmp_path, "accounts", [make_row("accounts")])
    _import(ws, tmp_path, "contacts", [make_row("contacts")])
    _import(ws, tmp_path, "subscriptions", [
        make_row("subscriptions"),  # 1000.50 a month in 2025, then renewed smaller
        make_row("subscriptions", line_id="l2", mrr="800.00", starts_on="2026-01-01",
                 ends_on="2027-01-01"),
    ])  # fmt: skip
    _import(ws, tmp_path, "tickets", [make_row("tickets")])
    _import(ws, tmp_path, "surveys", [make_row("surveys")])
    _import(ws, tmp_path, "activities", [
        make_row("activities"),
        make_row("activities", activity_id="a2", occurred_at="2026-04-20T09:00:00Z",
                 subject="After as_of"),
    ])  # fmt: skip
    with Session(ws.engine) as session, session.begin():
        session.add_all([
            _cta(1, date(2026, 2, 1), date(2026, 2, 10), "retained"),
            _cta(2, date(2026, 3, 1), None, None),
            _score(date(2026, 1, 31), "green", 80), _score(date(2026, 2, 28), "green", 75),
            _score(date(2026, 3, 31), "red", 30),
            Notification(dedupe_key="n1", channel="email", target="ann@acme.example",
                         subject="Your renewal", body="b", account_id="0042", status="sent",
                         sent_at=datetime(2026, 3, 5, 8, 0, tzinfo=UTC)),
            Notification(dedupe_key="n2", channel="slack", target="#cs", subject="Pending",
                         body="b", account_id="0042", status="pending"),
        ])  # fmt: skip
    plan = success_service.create_plan(ws, "0042", as_of=date(2026, 1, 10), template="high-touch")
    first = plan["milestones"][0]
    success_service.update_milestone(ws, first["milestone_id"], "done", date(2026, 2, 15))
    success_service.record_checkin(ws, "0042", date(2026, 3, 10), "on track")


def test_the_story_has_every_kind_newest_first(workspace: Workspace, tmp_path: Path) -> None:
    _company(workspace, tmp_path)
    entries = service.account_story(workspace, "0042", AS_OF, scope=None, limit=None)
    kinds = {e["kind"] for e in entries}
    assert kinds == {"meeting", "ticket", "survey", "cta", "checkin", "milestone", "message",
                     "band", "renewal", "revenue"}  # fmt: skip
    ats = [e["at"] for e in entries]
    assert ats == sorted(ats, reverse=True)
    assert all(a.tzinfo is not None for a in ats)
    titles = [e["title"] for e in entries]
    assert "After as_of" not in titles  # nothing after the end of as_of
    assert titles[0] == "health band green -> red"  # 2026-03-31, the newest
    assert "health first scored green" in titles
    assert sum(t.startswith("health band") for t in titles) == 1  # green -> green is no change
    assert "closed CTA 1 Risk 1 (risk, high): retained" in titles
    assert "opened CTA 2 Risk 2 (risk, high)" in titles
    assert [t for t in titles if "sent:" in t] == ["email sent: Your renewal"]  # not pending
    assert {"opened ticket t1: Export fails", "closed ticket t1: Export fails"} <= set(titles)
    assert "NPS 9" in titles
    assert "Core contracted" in titles
    revenue = [e for e in entries if e["kind"] == "revenue"]
    assert [(e["title"], e["detail"]) for e in revenue] == [
        ("contraction 2026-01", "MRR 1,000.50 -> 800.00"),
        ("new business 2025-01", "MRR 0.00 -> 1,000.50"),
    ]
    checkin = next(e for e in entries if e["kind"] == "checkin")
    assert checkin["at"] == datetime(2026, 3, 10, tzinfo=UTC)
    assert checkin["detail"] == "on track"


def test_revenue_entries_are_the_same_from_the_kept_directory(
    workspace: Workspace, tmp_path: Path
) -> None:
    """Account 360 reads revenue's story from the day's directory (built once for every
    account) rather than one book per account: both give the same entries."""
    _company(workspace, tmp_path)
    _import(workspace, tmp_path, "accounts", [make_row("accounts", account_id="0043", name="B")])
    _import(workspace, tmp_path, "subscriptions", [
        make_row("subscriptions", line_id="b1", account_id="0043", mrr="10.00",
                 starts_on="2025-06-01", ends_on="2026-02-01"),
    ])  # fmt: skip
    service.forget(workspace)
    kinds = ["renewal", "revenue"]
    alone = {a: service.account_story(workspace, a, AS_OF, scope=None, kinds=kinds, limit=None)
             for a in ("0042", "0043")}  # fmt: skip
    assert not service.cache.holds((workspace.key, AS_OF))  # each from its own lines
    kept = service.directory(workspace, AS_OF).histories
    assert set(kept) == {"0042", "0043"}
    for account, entries in alone.items():
        assert entries  # both accounts have revenue entries
        again = service.account_story(workspace, account, AS_OF, scope=None, kinds=kinds,
                                      limit=None)  # fmt: skip
        assert again == entries
    assert kept["0043"]["renewals"][0]["outcome"] == "churned"
    service.forget(workspace)


def test_the_story_filters_by_kind_and_limits(workspace: Workspace, tmp_path: Path) -> None:
    _company(workspace, tmp_path)
    only = service.account_story(workspace, "0042", AS_OF, scope=None, kinds=["cta", "Band"])
    assert {e["kind"] for e in only} == {"cta", "band"}
    assert len(only) == 5  # CTA 1 opened and closed, CTA 2 opened, two band entries
    assert len(service.account_story(workspace, "0042", AS_OF, scope=None, limit=3)) == 3
    with pytest.raises(InputError, match="unknown timeline kind 'lunch'"):
        service.account_story(workspace, "0042", AS_OF, scope=None, kinds=["lunch"])
    with pytest.raises(NotFoundError):
        service.account_story(workspace, "0042", AS_OF, scope="other@example.com")


def test_revenue_changes_name_each_movement() -> None:
    rows = [
        {"month": date(2025, 1, 1), "prev": Decimal(0), "curr": Decimal(10)},
        {"month": date(2025, 3, 1), "prev": Decimal(10), "curr": Decimal(15)},
        {"month": date(2025, 5, 1), "prev": Decimal(15), "curr": Decimal(0)},
        {"month": date(2025, 9, 1), "prev": Decimal(0), "curr": Decimal(5)},
        {"month": date(2025, 10, 1), "prev": Decimal(5), "curr": Decimal(5)},
    ]
    titles = [e["title"] for e in story.revenue_changes(rows)]
    assert titles == ["new business 2025-01", "expansion 2025-03", "churn 2025-05",
                      "reactivation 2025-09"]  # fmt: skip


def test_cli_timeline_by_kind(
    sqlite_workspace: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _company(sqlite_workspace, tmp_path)
    home = sqlite_workspace.root
    args = ["timeline", "0042", "--kind", "ticket", "--kind", "survey", "--as-of", "2026-03-31"]
    shown = run_cli([*args, "--format", "json"], home, capsys, monkeypatch)
    assert shown.code == 0, shown.err
    assert [r["title"] for r in json.loads(shown.out)] == [
        "NPS 9", "closed ticket t1: Export fails", "opened ticket t1: Export fails"
    ]  # fmt: skip
    bad = run_cli(["timeline", "0042", "--kind", "lunch"], home, capsys, monkeypatch)
    assert bad.code == 2
    assert "unknown timeline kind 'lunch'" in bad.err


def test_account_360_shows_the_story_filtered_by_kind(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    _company(sqlite_workspace, tmp_path)
    add_person(sqlite_workspace, "boss@example.com", "admin")
    boss = sign_in(make_app(sqlite_workspace), "boss@example.com")
    page = boss.get("/accounts/0042").text
    shown = set(re.findall(r'<li data-kind="([a-z_]+)"', page))
    assert shown == {"meeting", "ticket", "survey", "cta", "checkin", "milestone", "message",
                     "band", "renewal", "revenue"}  # fmt: skip
    filtered = boss.get("/accounts/0042", params=[("kind", "band"), ("kind", "message")]).text
    assert set(re.findall(r'<li data-kind="([a-z_]+)"', filtered)) == {"band", "message"}
    assert 'value="band" checked' in filtered
    assert "health band green -&gt; red" in filtered
    assert boss.get("/accounts/0042", params={"kind": "lunch"}).status_code == 400
