"""Exactly once under concurrency, against PostgreSQL:

- two ``keepwell run`` processes started together create each CTA once and send each
  email once (to a real SMTP server);
- four processes opening the same matches at the same instant (no lease, straight
  into the unique index) create each CTA once, with its tasks and notifications once.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from keepwell.core.database import transaction
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace
from keepwell.success import ctas
from keepwell.success.cycle import load_rules
from keepwell.success.matching import evaluate_rules
from tests.conftest import make_workspace
from tests.notify.receivers import http_server, smtp_server
from tests.success.company import AS_OF, OWNER_A, OWNER_B, load_company

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
PROCESSES = 4
NOW = datetime(2025, 7, 31, 23, 0, tzinfo=UTC)


def _counts(ws: Workspace) -> tuple[int, int, int, int]:
    with ws.engine.connect() as conn:

        def count(sql: str) -> int:
            return int(conn.execute(sa.text(sql)).scalar_one())

        return (
            count("SELECT count(*) FROM success_ctas"),
            count("SELECT count(DISTINCT open_key) FROM success_ctas"),
            count("SELECT count(*) FROM success_cta_tasks"),
            count("SELECT count(*) FROM notifications"),
        )


def test_two_keepwell_run_processes_create_each_cta_and_email_once(
    tmp_path: Path, postgres_url: str
) -> None:
    root = tmp_path / "ws"
    ws = make_workspace(root, postgres_url)
    load_company(ws, tmp_path)
    ws.close()
    with smtp_server() as smtp, http_server() as receiver:
        env = {
            **os.environ, "KEEPWELL_HOME": str(root), "KEEPWELL_DATABASE_URL": postgres_url,
            "KEEPWELL_SMTP_HOST": "127.0.0.1", "KEEPWELL_SMTP_PORT": str(smtp.port),
            "KEEPWELL_WEBHOOK_URL": f"{receiver.url}/hook",
            "KEEPWELL_SLACK_WEBHOOK_URL": f"{receiver.url}/slack",
        }  # fmt: skip
        command = [sys.executable, "-m", "keepwell", "run", "--as-of", AS_OF.isoformat()]
        runs = [
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)
        ]
        outputs = [run.communicate(timeout=300) for run in runs]
        for run, (_out, err) in zip(runs, outputs, strict=True):
            assert run.returncode == 0, err.decode()
        received = Counter(str(m["To"]) for m in smtp.messages)
    ws = Workspace.at(root, Settings(home=root, database_url=postgres_url))
    ctas_, keys, tasks, notifications = _counts(ws)
    ws.close()
    assert (ctas_, keys) == (3, 3)  # sponsor-left:A, renewal-due:A, late-invoice:B
    assert tasks == 2 + 1 + 2
    # CTA emails to their owners, tech-touch emails to B's two admins: each once
    assert received == {OWNER_A: 1, OWNER_B: 1, "ad@beta.example": 1,
                        "ad2@beta.example": 1}  # fmt: skip
    assert notifications == 4


def _opener(root: str, url: str, start: Any, results: Any) -> None:
    ws = Workspace.at(Path(root), Settings(home=Path(root), database_url=url))
    rules, playbooks = load_rules(ws)
    rows = [
        {"account_id": "A", "segment": "high-touch", "owner": OWNER_A, "has_sponsor": 0,
         "key_contact_left_90d": 1, "days_to_renewal": 62, "open_renewal_ctas": 0,
         "max_days_past_due": 0},
        {"account_id": "B", "segment": "tech-touch", "owner": "b@example.com", "has_sponsor": 1,
         "key_contact_left_90d": 0, "days_to_renewal": None, "open_renewal_ctas": 0,
         "max_days_past_due": 45},
    ]  # fmt: skip
    matches, _problems = evaluate_rules([r for r in rules.rules if r.cta], rows)
    start.wait(60)
    outcomes = []
    for match in matches:
        book = playbooks.playbooks.get(match.rule.cta.playbook or "") if match.rule.cta else None
        with transaction(ws.engine) as session:
            opening = ctas.open_cta(session, match, assignment=rules.assignment,
                                    playbook=book, as_of=AS_OF, now=NOW)  # fmt: skip
        outcomes.append(opening.outcome)
    results.put(outcomes)
    ws.close()


def test_processes_opening_the_same_ctas_at_once_create_each_once(
    tmp_path: Path, postgres_url: str
) -> None:
    root = tmp_path / "ws"
    ws = make_workspace(root, postgres_url)
    load_company(ws, tmp_path)
    ws.close()
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(PROCESSES), context.Queue()
    processes = [
        context.Process(target=_opener, args=(str(root), postgres_url, start, results))
        for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    outcomes = Counter(o for _ in processes for o in results.get(timeout=120))
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    assert outcomes == {"opened": 3, "already_open": 3 * (PROCESSES - 1)}
    ws = Workspace.at(root, Settings(home=root, database_url=postgres_url))
    assert _counts(ws) == (3, 3, 5, 2)  # 2 CTA emails (sponsor-left, late-invoice)
    ws.close()
