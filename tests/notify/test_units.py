"""Pure parts of notifications: backoff, webhook signatures, unsubscribe tokens, Slack
text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from keepwell.core.errors import InputError
from keepwell.notify.retry import RetryPolicy
from keepwell.notify.signing import signature_header, verify
from keepwell.notify.slack import slack_text
from keepwell.notify.tokens import read_unsubscribe_token, unsubscribe_token, unsubscribe_url


def test_backoff_doubles_up_to_the_ceiling_then_gives_up() -> None:
    policy = RetryPolicy(max_attempts=8, base_seconds=60, max_seconds=600)
    assert [policy.delay(n).total_seconds() for n in range(1, 7)] == [60, 120, 240, 480, 600, 600]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert policy.next_attempt(1, now) == now + timedelta(minutes=1)
    assert policy.next_attempt(7, now) == now + timedelta(minutes=10)
    assert policy.next_attempt(8, now) is None


def test_signature_verifies_only_the_same_body_secret_and_recent_time() -> None:
    body = b'{"id":"k"}'
    header = signature_header("s3cret", 1_700_000_000, body)
    assert header.startswith("t=1700000000,v1=")
    assert verify("s3cret", header, body, now=1_700_000_100)
    assert not verify("s3cret", header, body + b" ", now=1_700_000_100)
    assert not verify("other", header, body, now=1_700_000_100)
    assert not verify("s3cret", header, body, now=1_700_001_000)  # too old: a replay
    assert not verify("s3cret", "garbage", body, now=1_700_000_000)


def test_unsubscribe_tokens_round_trip_and_refuse_forgeries() -> None:
    token = unsubscribe_token(" Ann@Acme.example ", "key-1")
    assert read_unsubscribe_token(token, "key-1") == "ann@acme.example"
    with pytest.raises(InputError, match="not valid"):
        read_unsubscribe_token(token, "key-2")
    with pytest.raises(InputError, match="not valid"):
        read_unsubscribe_token(token[:-2] + "xx", "key-1")
    url = unsubscribe_url("https://cs.example.com/", "a@b.example", "key-1")
    assert url.startswith("https://cs.example.com/unsubscribe/")


def test_slack_text_escapes_control_characters() -> None:
    assert slack_text("Acme <red>", "A & B") == "*Acme &lt;red&gt;*\nA &amp; B"
    assert slack_text("", "only body") == "only body"
