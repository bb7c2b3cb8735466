"""Surveys end to end with a real SMTP server: a campaign queues one email per eligible
contact through the outbox, exactly once across two concurrent cycles (PostgreSQL),
honours throttling and unsubscribe; the one-click link stores one ``surveys`` row
(answering again updates it), the answer shows on the timeline, and a detractor opens
one CTA through the rules."""

from __future__ import annotations

import re
import threading
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from keepwell.contract.service import read_table
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace
from keepwell.notify import service as notify_service
from keepwell.portfolio import service as portfolio_service
from keepwell.server.app import create_app
from keepwell.success import service as success_service
from keepwell.voice import service
from keepwell.voice.campaigns import Campaign
from tests.conftest import make_workspace
from tests.notify.receivers import SmtpSink
from tests.voice.conftest import AS_OF, load_company
from tests.web.helpers import make_settings

NOW = datetime.combine(AS_OF, time(9), tzinfo=UTC)


def nps(name: str = "nps-q", throttle: int = 30, every: int | None = 180, **kw: object) -> Campaign:
    values: dict[str, object] = {"name": name, "kind": "nps", "role": "admin", "segment": None,
        "question": "How likely are you to recommend us to a friend?", "every_days": every,
        "throttle_days": throttle, "created_on": AS_OF, **kw}  # fmt: skip
    return Campaign(**values)  # type: ignore[arg-type]


def _deliver(ws: Workspace, settings: Settings, at: datetime = NOW) -> int:
    return notify_service.deliver_pending(ws, now=at, settings=settings).sent


def _recipients(smtp: SmtpSink) -> Counter[str]:
    return Counter(str(m["To"]) for m in smtp.messages)


def test_a_campaign_sends_once_per_contact_throttles_and_honours_unsubscribe(
    company: Workspace, settings: Settings, smtp: SmtpSink
) -> None:
    ws = company
    service.define_campaign(ws, nps())
    counts = service.run_campaigns(ws, AS_OF, settings)
    # Ann (A) and Bob; not the inactive admin, not the sponsor, Ann's address once
    assert counts == {"queued": 3, "throttled": 0, "unsubscribed": 0, "already": 0}
    assert _deliver(ws, settings) == 3
    assert _recipients(smtp) == {"ann@acme.example": 1, "bob@acme.example": 1,
                                 "zed@beta.example": 1}  # fmt: skip
    body = smtp.messages[0].get_content()
    assert re.search(r"https://cs\.example\.com/s/\S+/10", body)
    assert smtp.messages[0]["List-Unsubscribe"]

    again = service.run_campaigns(ws, AS_OF + timedelta(days=1), settings)
    assert again["already"] == 3
    assert again["queued"] == 0
    # another campaign the same month: every contact was asked within 30 days
    service.define_campaign(ws, nps("csat-q", kind="csat", every=None))
    assert service.run_campaigns(ws, AS_OF + timedelta(days=10), settings)["throttled"] == 3
    assert _deliver(ws, settings) == 0

    bob = next(m for m in smtp.messages if m["To"] == "bob@acme.example")
    token = re.search(r"/unsubscribe/(\S+)", bob.get_content())
    assert token is not None
    notify_service.unsubscribe(
        ws, token.group(1), at=NOW, secret=settings.secret_key.get_secret_value()
    )
    later = service.run_campaigns(ws, AS_OF + timedelta(days=40), settings)
    assert later == {"queued": 2, "throttled": 0, "unsubscribed": 1, "already": 3}
    assert _deliver(ws, settings) == 2
    assert _recipients(smtp)["bob@acme.example"] == 1
    (rate,) = [c for c in service.list_campaigns(ws) if c["name"] == "csat-q"]
    assert (rate["sends"], rate["answers"], rate["response_rate"]) == (2, 0, 0.0)


def _worker(root: Path, url: str, settings: Settings, barrier: threading.Barrier,
            out: list[int]) -> None:  # fmt: skip
    ws = Workspace.at(root, Settings(home=root, database_url=url))
    try:
        barrier.wait(30)
        queued = service.run_campaigns(ws, AS_OF, settings)["queued"]
        out.append(queued + 1000 * _deliver(ws, settings))
    finally:
        ws.close()


@pytest.mark.postgres
def test_two_concurrent_cycles_send_each_survey_once(
    tmp_path: Path, postgres_url: str, settings: Settings, smtp: SmtpSink
) -> None:
    ws = make_workspace(tmp_path / "ws", postgres_url)
    load_company(ws)
    for i in range(3):  # three campaigns: the throttle must hold across them too
        service.define_campaign(ws, nps(f"nps-{i}"))
    ws.close()
    barrier, results = threading.Barrier(2), []  # type: ignore[var-annotated]
    args = (tmp_path / "ws", postgres_url, settings, barrier, results)
    threads = [threading.Thread(target=_worker, args=args) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == 2
    assert sum(r % 1000 for r in results) == 3  # queued once between them
    assert sum(r // 1000 for r in results) == 3  # delivered once between them
    assert _recipients(smtp) == {"ann@acme.example": 1, "bob@acme.example": 1,
                                 "zed@beta.example": 1}  # fmt: skip


def _link(smtp: SmtpSink, to: str) -> str:
    message = next(m for m in smtp.messages if m["To"] == to)
    found = re.search(r"comment: https://cs\.example\.com(/s/[^/\s]+)\s", message.get_content())
    assert found is not None
    return found.group(1)


def test_answers_update_one_row_show_on_the_timeline_and_a_detractor_opens_one_cta(
    company: Workspace, settings: Settings, smtp: SmtpSink
) -> None:
    ws = company
    # the public page reads the clock: the campaign runs today
    now = datetime.now(UTC)
    today = now.date()
    service.define_campaign(ws, nps(created_on=today))
    service.run_campaigns(ws, today, settings)
    _deliver(ws, settings, now)
    app = create_app(ws, make_settings(secret_key=settings.secret_key))
    web = TestClient(app, raise_server_exceptions=False)
    link = _link(smtp, "bob@acme.example")

    first = web.get(f"{link}/9")
    assert first.status_code == 200
    assert "your answer 9 is recorded" in first.text
    second = web.post(link, data={"score": "3", "comment": "Too slow <b>lately</b>"})
    assert second.status_code == 200
    assert "&lt;b&gt;" not in second.text  # the comment is not echoed at all
    rows = [r for r in read_table(ws, "surveys").to_pylist() if r["account_id"] == "A"]
    assert [(r["kind"], r["score"], r["comment"], r["contact_id"]) for r in rows] == [
        ("nps", 3, "Too slow <b>lately</b>", "c2")
    ]
    assert web.get(f"{link}/11").status_code == 400  # outside 0-10: nothing stored
    assert [r["score"] for r in read_table(ws, "surveys").to_pylist()] == [3]

    story = portfolio_service.account_story(ws, "A", today, scope=None)
    assert any(e["kind"] == "survey" and "3" in str(e) for e in story), story[:3]

    token = link.rsplit("/", 1)[1]
    tampered = web.get(f"/s/{token[:-3]}xyz/0")
    assert tampered.status_code == 403
    assert "recommend" not in tampered.text
    with ws.engine.begin() as conn:
        conn.execute(sa.text("UPDATE voice_survey_sends SET expires_on = :d"),
                     {"d": today - timedelta(days=1)})  # fmt: skip
    closed = web.get(f"{link}/0")
    assert closed.status_code == 410
    assert "recommend" not in closed.text
    assert [r["score"] for r in read_table(ws, "surveys").to_pylist()] == [3]

    report = success_service.run_cycle(ws, today, clock=lambda: now, deliver=False)
    assert report.problems == []
    ctas = [c for c in success_service.list_ctas(ws, as_of=today) if c["rule"] == "detractor"]
    assert [c["account_id"] for c in ctas] == ["A"]
    success_service.run_cycle(ws, today, clock=lambda: now, deliver=False)
    again = [c for c in success_service.list_ctas(ws, as_of=today) if c["rule"] == "detractor"]
    assert len(again) == 1
