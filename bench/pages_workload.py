"""The work a CS team has in the pages benchmark's workspace (``bench_pages.py``).

Once the accounts are seeded and scored, the team's work is made the way a user's
workspace gets it, through the services: teams of CSMs, a success plan for some
accounts, the real cycle run once (the default rules open CTAs with their playbook
tasks for the owners), the feature requests taken from the tagged activities, shared
plan links, and a survey campaign's sends. What the pages with a path parameter other
than the account need (CTA ids, feature request ids, plan and survey tokens) is written
to ``links.json`` in the workspace.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from keepwell.auth import service as auth_service
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace
from keepwell.success import service as success_service
from keepwell.team import service as team_service
from keepwell.voice import links
from keepwell.voice import service as voice_service

#: CSMs, teams of them, and the CSM whose My work the bench times.
CSMS = 200
TEAMS = 10
CSM_USER = "csm7@example.com"
#: Every PLAN_EVERY-th account has a success plan (two per CSM at 50,000 accounts).
PLAN_EVERY = 125
#: Shared plan links and survey sends the bench opens.
SHARES = 20
SURVEY_LINKS = 50
#: The secret the server signs links with (the bench starts it with this key).
SECRET = "bench secret key, not for production use, 0123456789abcdef"
LINKS = "links.json"


def csm(i: int) -> str:
    """The owner of the ``i``-th account: CSMs own ~250 accounts each at 50,000."""
    return f"csm{i % CSMS}@example.com"


def settings(root: Path) -> Settings:
    return Settings(home=root, secret_key=SECRET)  # type: ignore[arg-type]


def _step(name: str, started: float) -> float:
    now = time.perf_counter()
    print(f"  {name} in {now - started:.1f} s", flush=True)
    return now


def seed_work(ws: Workspace, root: Path, accounts: int, as_of: date, password: str) -> None:
    """Teams, users, plans, one cycle, feature requests, shares and survey sends."""
    now = datetime.now(UTC)
    t = time.perf_counter()
    for team in range(TEAMS):
        team_service.add_team(ws, f"team-{team}", f"Team {team}",
                              manager=f"lead{team}@example.com")  # fmt: skip
    for i in range(CSMS):
        team_service.add_csm(ws, csm(i), f"team-{i % TEAMS}")
    auth_service.add_user(ws, CSM_USER, "csm", password=password, now=now, actor="bench")
    t = _step(f"{TEAMS} teams of {CSMS // TEAMS} CSMs", t)
    plans = [f"A{i:06d}" for i in range(0, accounts, PLAN_EVERY)]
    for account_id in plans:
        success_service.create_plan(ws, account_id, as_of=as_of)
    t = _step(f"{len(plans)} success plans", t)
    report = success_service.run_cycle(ws, as_of, clock=lambda: datetime.now(UTC),
                                       deliver=False)  # fmt: skip
    t = _step(f"the cycle ({len(report.opened_ids)} CTAs opened)", t)
    requests = success_service.sync_requests(ws, as_of)
    t = _step(f"feature requests from {requests} tagged activities", t)
    tokens = [_share(ws, root, account_id, now) for account_id in plans[:SHARES]]
    campaign = voice_service.Campaign(
        name="bench-nps", kind="nps", question="How likely are you to recommend us?",
        role="billing", segment=None, every_days=None, throttle_days=90, created_on=as_of,
    )  # fmt: skip
    voice_service.define_campaign(ws, campaign)
    counts = voice_service.run_campaigns(ws, as_of, settings(root))
    sends = voice_service.list_sends(ws, "bench-nps")[:SURVEY_LINKS]
    t = _step(f"{SHARES} shared plans, survey sends {counts}", t)
    ctas = success_service.list_ctas(ws, as_of=as_of)
    found = {
        "cta_ids": [c["cta_id"] for c in ctas[:: max(1, len(ctas) // 200)]],
        "request_ids": [r["request_id"] for r in success_service.list_requests(ws, as_of)],
        "plan_tokens": tokens,
        "survey_tokens": [links.survey_token(s["send_id"], SECRET) for s in sends],
    }
    (root / LINKS).write_text(json.dumps(found))
    print(f"  {len(ctas):,} live CTAs; links for the pages: "
          f"{ {k: len(v) for k, v in found.items()} }")  # fmt: skip


#: Days before the bench's day of the history cycle, whose CTAs are closed a month later:
#: their 180-day horizon has passed, so playbook effectiveness matches every opening.
HISTORY_DAYS = 200


def seed_history(ws: Workspace, as_of: date) -> None:
    """The cycle run once on an earlier day (its health snapshot scored by the cycle),
    and each CTA it opened closed a month later with one of its type's outcomes."""
    t = time.perf_counter()
    day = as_of - timedelta(days=HISTORY_DAYS)
    noon = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=12)
    report = success_service.run_cycle(ws, day, clock=lambda: noon, deliver=False)
    t = _step(f"the cycle of {day} ({len(report.opened_ids)} CTAs opened)", t)
    closed_at = noon + timedelta(days=30)
    for n, cta_id in enumerate(report.opened_ids):
        cta = success_service.cta_detail(ws, cta_id, as_of=day)
        outcomes = list(success_service.outcomes_for(cta["type"]))
        success_service.close_cta(ws, cta_id, outcome=outcomes[n % len(outcomes)],
                                  reason="bench history", now=closed_at)  # fmt: skip
    _step(f"{len(report.opened_ids)} CTAs closed with an outcome", t)


def _share(ws: Workspace, root: Path, account_id: str, now: datetime) -> str:
    share = voice_service.share_plan(
        ws, account_id, shared_with="Customer sponsor", email=None, days=365, now=now,
        settings=settings(root),
    )  # fmt: skip
    return str(share["url"]).rsplit("/p/", 1)[1]


def read_links(root: Path) -> dict[str, Any]:
    """What :func:`seed_work` wrote for the pages with a path parameter."""
    found: dict[str, Any] = json.loads((root / LINKS).read_text())
    return found
