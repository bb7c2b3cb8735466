"""Delivery through real receivers: SMTP (aiosmtpd), Slack and signed webhooks over HTTP,
failures, retries with backoff, giving up, and the list of failed notifications."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from keepwell.core.database import transaction
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace
from keepwell.notify import service
from tests.notify.conftest import WEBHOOK_SECRET
from tests.notify.receivers import HttpSink, SmtpSink

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _enqueue(
    ws: Workspace, key: str, channel: str = "email", target: str = "ann@acme.example", **kw: Any
) -> bool:
    with transaction(ws.engine) as session:
        return service.enqueue(
            session, channel=channel, target=target,
            subject=f"Subject {key}", body=f"Body of {key}", dedupe_key=key, **kw,
        )  # fmt: skip


def test_enqueue_is_once_per_dedupe_key(workspace: Workspace) -> None:
    assert _enqueue(workspace, "k1") is True
    assert _enqueue(workspace, "k1") is False
    assert _enqueue(workspace, "k2", account_id="A") is True
    rows = service.list_notifications(workspace)
    assert sorted(r["dedupe_key"] for r in rows) == ["k1", "k2"]
    assert {r["status"] for r in rows} == {"pending"}


def test_enqueue_rolls_back_with_the_callers_transaction(workspace: Workspace) -> None:
    def failing_caller() -> None:
        with transaction(workspace.engine) as session:
            service.enqueue(session, channel="email", target="a@b.example", subject="s",
                            body="b", dedupe_key="gone")  # fmt: skip
            raise RuntimeError("the caller failed")

    with pytest.raises(RuntimeError):
        failing_caller()
    assert service.list_notifications(workspace) == []
    with pytest.raises(InputError, match="channel"), transaction(workspace.engine) as session:
        service.enqueue(session, channel="fax", target="1", subject="s", body="b", dedupe_key="x")


def test_email_arrives_at_the_smtp_server(
    workspace: Workspace, smtp: SmtpSink, settings: Settings
) -> None:
    _enqueue(workspace, "mail-1", payload={"unsubscribe_url": "https://cs.example.com/u/T"})
    report = service.deliver_pending(workspace, now=NOW, settings=settings)
    assert (report.claimed, report.sent, report.failed_total) == (1, 1, 0)
    [message] = smtp.messages
    assert message["Subject"] == "Subject mail-1"
    assert message["To"] == "ann@acme.example"
    assert message["From"] == "success@keepwell.example"
    assert message["List-Unsubscribe"] == "<https://cs.example.com/u/T>"
    assert message["X-Keepwell-Dedupe-Key"] == "mail-1"
    assert message.get_content().strip() == "Body of mail-1"
    again = service.deliver_pending(workspace, now=NOW + timedelta(hours=1), settings=settings)
    assert again.claimed == 0
    assert len(smtp.messages) == 1
    [row] = service.list_notifications(workspace, status="sent")
    assert row["sent_at"] == NOW
    assert row["attempts"] == 1


def test_slack_gets_its_text_format(
    workspace: Workspace, receiver: HttpSink, settings: Settings
) -> None:
    _enqueue(workspace, "s-default", channel="slack", target="")
    _enqueue(workspace, "s-url", channel="slack", target=f"{receiver.url}/other")
    report = service.deliver_pending(workspace, now=NOW, settings=settings)
    assert report.sent == 2
    by_path = {r.path: r for r in receiver.requests}
    assert json.loads(by_path["/slack"].body) == {"text": "*Subject s-default*\nBody of s-default"}
    assert by_path["/slack"].headers["Content-Type"] == "application/json"
    assert "/other" in by_path


def _verify(secret: str, header: str, body: bytes) -> int:
    """The receiver's own check of X-Keepwell-Signature (independent of keepwell code)."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(
        secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(expected, fields["v1"]), "bad signature"
    return int(fields["t"])


def test_outbound_webhook_is_signed(
    workspace: Workspace, receiver: HttpSink, settings: Settings
) -> None:
    _enqueue(workspace, "w-1", channel="webhook", target="", account_id="A",
             payload={"cta": 7, "reason": "band changed to red"})  # fmt: skip
    assert service.deliver_pending(workspace, now=NOW, settings=settings).sent == 1
    [request] = receiver.requests
    assert request.path == "/hook"
    stamp = _verify(WEBHOOK_SECRET, request.headers["X-Keepwell-Signature"], request.body)
    assert stamp == int(NOW.timestamp())
    document = json.loads(request.body)
    assert document["id"] == "w-1"
    assert document["account_id"] == "A"
    assert document["payload"] == {"cta": 7, "reason": "band changed to red"}
    assert request.headers["X-Keepwell-Delivery"] == "w-1"
    with pytest.raises(AssertionError, match="bad signature"):
        _verify("another-secret", request.headers["X-Keepwell-Signature"], request.body)


def test_failures_are_retried_with_backoff_then_sent(
    workspace: Workspace, receiver: HttpSink, settings: Settings
) -> None:
    receiver.statuses = [500, 503]
    _enqueue(workspace, "w-retry", channel="webhook", target="")
    first = service.deliver_pending(workspace, now=NOW, settings=settings)
    assert (first.sent, first.retrying, first.failed) == (0, 1, 0)
    assert "HTTP 500" in first.errors[0][1]
    [row] = service.list_notifications(workspace)
    assert row["next_attempt_at"] == NOW + timedelta(seconds=60)  # base x 2^0
    early = service.deliver_pending(workspace, now=NOW + timedelta(seconds=59), settings=settings)
    assert early.claimed == 0
    second = service.deliver_pending(workspace, now=NOW + timedelta(seconds=60), settings=settings)
    assert second.retrying == 1
    assert "HTTP 503" in second.errors[0][1]
    [row] = service.list_notifications(workspace)
    assert row["next_attempt_at"] == NOW + timedelta(seconds=60 + 120)  # base x 2^1
    third = service.deliver_pending(workspace, now=NOW + timedelta(seconds=180), settings=settings)
    assert third.sent == 1
    assert len(receiver.requests) == 1
    [row] = service.list_notifications(workspace)
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 3, None)


def test_max_attempts_marks_failed_and_lists_it(
    workspace: Workspace, smtp: SmtpSink, settings: Settings
) -> None:
    smtp.refuse = True
    _enqueue(workspace, "m-refused")
    now, reports = NOW, []
    for _ in range(settings.max_attempts):
        reports.append(service.deliver_pending(workspace, now=now, settings=settings))
        now += timedelta(hours=2)
    assert [r.retrying for r in reports] == [1, 1, 0]
    assert reports[-1].failed == 1
    assert reports[-1].failed_total == 1
    [failed] = service.list_notifications(workspace, status="failed")
    assert failed["attempts"] == 3
    assert "refused" in failed["last_error"]
    assert service.deliver_pending(workspace, now=now, settings=settings).failed_total == 1
    smtp.refuse = False
    service.retry_notification(workspace, failed["id"])
    assert service.deliver_pending(workspace, now=now, settings=settings).sent == 1
    assert len(smtp.messages) == 1
    with pytest.raises(InputError, match="is sent"):
        service.retry_notification(workspace, failed["id"])
    with pytest.raises(NotFoundError):
        service.retry_notification(workspace, 999)


def test_unreachable_receivers_and_missing_settings_are_failures_not_crashes(
    workspace: Workspace, settings: Settings
) -> None:
    dead = settings.model_copy(update={"smtp_port": 1, "webhook_secret": None})
    _enqueue(workspace, "m-dead")
    _enqueue(workspace, "w-unsigned", channel="webhook", target="")
    report = service.deliver_pending(workspace, now=NOW, settings=dead)
    assert report.retrying == 2
    errors = dict(report.errors)
    assert any("cannot reach the SMTP server 127.0.0.1:1" in e for e in errors.values())
    assert any("KEEPWELL_WEBHOOK_SECRET" in e for e in errors.values())


def test_an_abandoned_claim_is_taken_over_after_the_lease(
    workspace: Workspace, smtp: SmtpSink, settings: Settings
) -> None:
    from keepwell.notify import outbox

    _enqueue(workspace, "m-crash")
    lease = timedelta(seconds=settings.claim_lease_seconds)
    with transaction(workspace.engine) as session:  # a worker claims it, then dies
        assert len(outbox.claim(session, token="dead", now=NOW, lease=lease, limit=5)) == 1
    soon = service.deliver_pending(workspace, now=NOW + lease / 2, settings=settings)
    assert soon.claimed == 0
    later = service.deliver_pending(workspace, now=NOW + lease, settings=settings)
    assert later.sent == 1
    assert len(smtp.messages) == 1


def test_a_run_claims_no_more_than_its_limit(
    workspace: Workspace, receiver: HttpSink, settings: Settings
) -> None:
    for i in range(25):
        _enqueue(workspace, f"lim-{i}", channel="webhook", target="")
    first = service.deliver_pending(workspace, now=NOW, settings=settings, limit=3)
    assert (first.claimed, first.sent, first.pending_total) == (3, 3, 22)
    rest = service.deliver_pending(workspace, now=NOW, settings=settings)
    assert (rest.claimed, rest.sent, rest.pending_total) == (22, 22, 0)
    assert len(receiver.requests) == 25


def test_outcomes_are_recorded_a_few_at_a_time(
    workspace: Workspace, smtp: SmtpSink, settings: Settings
) -> None:
    """45 emails, sent and recorded in 3 transactions of at most 20 (a transaction per
    email cost more than sending it), every one sent once with one attempt counted."""
    for i in range(45):
        _enqueue(workspace, f"batch-{i:02d}", target=f"u{i}@acme.example")
    recorded: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        text = " ".join(statement.split()).lower()
        if text.startswith("update notifications set status") and "sent_at" in text:
            recorded.append(statement)

    sa.event.listen(workspace.engine, "before_cursor_execute", seen)
    try:
        report = service.deliver_pending(workspace, now=NOW, settings=settings)
    finally:
        sa.event.remove(workspace.engine, "before_cursor_execute", seen)
    assert (report.claimed, report.sent, report.lost_claims) == (45, 45, 0)
    assert len(recorded) == 3  # a record per 20 sent
    assert sorted(str(m["X-Keepwell-Dedupe-Key"]) for m in smtp.messages) == [
        f"batch-{i:02d}" for i in range(45)
    ]
    rows = service.list_notifications(workspace, status="sent")
    assert len(rows) == 45
    assert {r["attempts"] for r in rows} == {1}
