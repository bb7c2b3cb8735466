"""Sending limits and claims at volume: the daily cap and the per-domain rate hold
emails back to their next window (no attempt lost), one SMTP connection carries a
whole run, and a claim walks the outbox from a cursor in key order."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from keepwell.core.database import transaction
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace
from keepwell.notify import outbox, service
from keepwell.notify.limits import SendLimits, by_domain, day_start, domain_of, minute_start
from tests.notify.receivers import SmtpSink

NOW = datetime(2026, 3, 2, 9, 0, 30, tzinfo=UTC)


def _queue(ws: Workspace, targets: list[str], channel: str = "email") -> None:
    with transaction(ws.engine) as session:
        for i, target in enumerate(targets):
            service.enqueue(session, channel=channel, target=target, subject=f"s{i}",
                            body=f"b{i}", dedupe_key=f"{channel}-{i}-{target}")  # fmt: skip


def test_limits_are_pure_values() -> None:
    assert domain_of("Ann@Big.Example ") == "big.example"
    assert day_start(NOW) == datetime(2026, 3, 2, tzinfo=UTC)
    assert minute_start(NOW) == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert by_domain([(1, "a@x.io"), (2, "b@y.io"), (3, "c@X.io")]) == {"x.io": [1, 3], "y.io": [2]}
    limits = SendLimits(domain_rate=5, domain_rates={"big.example": 50, "free.example": 0})
    assert (
        limits.rate_of("big.example"),
        limits.rate_of("other"),
        limits.rate_of("free.example"),
    ) == (50, 5, 0)
    assert not SendLimits().active
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        Settings(email_daily_cap=-1)


def test_daily_cap_holds_emails_to_the_next_day(
    workspace: Workspace, smtp: SmtpSink, settings: Settings
) -> None:
    capped = settings.model_copy(update={"email_daily_cap": 3})
    _queue(workspace, [f"user{i}@acme.example" for i in range(5)])
    first = service.deliver_pending(workspace, now=NOW, settings=capped)
    assert (first.claimed, first.sent, first.deferred, first.pending_total) == (5, 3, 2, 2)
    later = service.deliver_pending(workspace, now=NOW + timedelta(hours=12), settings=capped)
    assert (later.claimed, later.sent) == (0, 0)  # the day's cap is spent, across runs
    held = service.list_notifications(workspace, status="pending")
    assert {r["next_attempt_at"] for r in held} == {datetime(2026, 3, 3, tzinfo=UTC)}
    assert {r["attempts"] for r in held} == {0}  # held back, not failed
    tomorrow = service.deliver_pending(workspace, now=datetime(2026, 3, 3, 0, 0, 1, tzinfo=UTC),
                                       settings=capped)  # fmt: skip
    assert (tomorrow.sent, tomorrow.pending_total, tomorrow.failed_total) == (2, 0, 0)
    assert len(smtp.messages) == 5


def test_domain_rate_per_minute_with_overrides(
    workspace: Workspace, smtp: SmtpSink, settings: Settings
) -> None:
    limited = settings.model_copy(
        update={"email_domain_rate": 2, "email_domain_rates": {"Big.Example": 3}}
    )
    _queue(workspace, [f"u{i}@small.example" for i in range(4)]
           + [f"u{i}@big.example" for i in range(4)])  # fmt: skip
    _queue(workspace, [""], channel="webhook")  # other channels are not limited
    first = service.deliver_pending(workspace, now=NOW, settings=limited)
    assert (first.sent, first.deferred) == (2 + 3 + 1, 3)  # and the webhook
    domains = Counter(str(m["To"]).split("@")[1] for m in smtp.messages)
    assert domains == {"small.example": 2, "big.example": 3}
    same_minute = service.deliver_pending(
        workspace, now=NOW + timedelta(seconds=20), settings=limited
    )
    assert same_minute.sent == 0
    next_minute = service.deliver_pending(
        workspace, now=NOW + timedelta(seconds=30), settings=limited
    )
    assert (next_minute.sent, next_minute.pending_total) == (3, 0)  # 2 small, 1 big
    assert len(smtp.messages) == 8


def test_one_smtp_connection_carries_a_run(
    workspace: Workspace, smtp: SmtpSink, settings: Settings
) -> None:
    _queue(workspace, [f"user{i}@acme.example" for i in range(12)])
    report = service.deliver_pending(workspace, now=NOW, settings=settings)
    assert report.sent == 12
    assert len(set(smtp.peers)) == 1  # one connection, not one per email


def test_a_refused_email_does_not_stop_the_others_on_the_connection(
    workspace: Workspace, smtp: SmtpSink, settings: Settings
) -> None:
    answers = iter([True, False, True, True])
    smtp.before_accept = lambda: next(answers)
    _queue(workspace, [f"user{i}@acme.example" for i in range(4)])
    report = service.deliver_pending(workspace, now=NOW, settings=settings)
    assert (report.sent, report.retrying) == (3, 1)
    assert "451" in report.errors[0][1]


def test_claims_walk_from_the_cursor_in_key_order(workspace: Workspace) -> None:
    _queue(workspace, [f"user{i}@acme.example" for i in range(10)])
    lease = timedelta(minutes=10)
    with transaction(workspace.engine) as session:
        first, cursor = outbox.claim_batch(
            session, token="t1", now=NOW, lease=lease, limit=4, after=0
        )
    with transaction(workspace.engine) as session:  # t1's worker dies with its claims
        second, cursor2 = outbox.claim_batch(
            session, token="t2", now=NOW, lease=lease, limit=4, after=cursor
        )
    ids = [m.notification_id for m in first + second]
    assert ids == sorted(ids)
    assert len(set(ids)) == 8
    assert cursor2 == ids[-1]
    later = NOW + lease
    with transaction(workspace.engine) as session:  # abandoned claims first, then the rest
        taken, _ = outbox.claim_batch(
            session, token="t3", now=later, lease=lease, limit=20, after=0
        )
    assert [m.notification_id for m in taken] == [
        m.notification_id for m in first + second
    ] + sorted(set(range(ids[0], ids[0] + 10)) - set(ids))


def test_the_sqlite_claim_reads_the_index_from_the_cursor(sqlite_workspace: Workspace) -> None:
    """The candidates of a claim are read in key order from the (status, key) index,
    starting at the cursor: no scan of the whole backlog, no sort of it."""
    from keepwell.notify.models import Notification

    query = outbox.select_candidates(outbox.waiting(NOW), 200, Notification.notification_id > 1000)
    sql = str(query.compile(sqlite_workspace.engine, compile_kwargs={"literal_binds": True}))
    with sqlite_workspace.engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}")))
    assert "ix_notifications_status_id (status=? AND notification_id>?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
