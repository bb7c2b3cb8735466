"""The server's scheduled cycle queues the survey emails due that day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from keepwell.core.schedule import CycleSchedule
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace
from keepwell.notify import service as notify_service
from keepwell.server.runtime import CycleScheduler, cycle_holder
from keepwell.voice import service
from keepwell.voice.campaigns import Campaign
from tests.voice.conftest import load_company


def test_a_scheduled_cycle_queues_the_surveys_due(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    load_company(ws)
    today = datetime.now(UTC).date()
    service.define_campaign(ws, Campaign("pulse", "csat", "How are we doing?", "admin", None,
                                         None, 30, today))  # fmt: skip
    settings = Settings(home=ws.root)
    every_hour = CycleSchedule(every=timedelta(hours=1), at=())
    scheduler = CycleScheduler(ws.root, settings, every_hour, cycle_holder(ws.root, 8000))
    assert scheduler.tick() is True
    keys = [n["dedupe_key"] for n in notify_service.list_notifications(ws, limit=100)]
    assert sorted(k for k in keys if k.startswith("survey:")) == [
        "survey:pulse:c1:once",
        "survey:pulse:c2:once",
        "survey:pulse:c6:once",
    ]
