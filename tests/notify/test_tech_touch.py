"""Tech-touch emails end to end: templates to the contacts of a role, once per campaign,
the frequency cap, the unsubscribe link followed over HTTP, and real SMTP delivery."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from keepwell.core.database import transaction
from keepwell.core.errors import ConfigurationError, NotFoundError
from keepwell.core.settings import DEVELOPMENT_SECRET, Mode, Settings
from keepwell.core.workspace import Workspace
from keepwell.notify import service
from keepwell.notify.templating import render_tech_touch, template_names
from keepwell.server.app import create_app
from tests.notify.conftest import SECRET_KEY
from tests.notify.receivers import SmtpSink

DAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LINK = re.compile(r"https://cs\.example\.com/unsubscribe/(\S+)")


def _touch(ws: Workspace, settings: Settings, campaign: str, as_of: date, **kw: object) -> int:
    with transaction(ws.engine) as session:
        return service.send_tech_touch(
            session, account_id=str(kw.pop("account_id", "A")), role=str(kw.pop("role", "admin")),
            template=str(kw.pop("template", "adoption_tip")), campaign=campaign, as_of=as_of,
            settings=settings, context={"feature": "dashboards"},
        )  # fmt: skip


def test_templates_render_with_the_unsubscribe_footer() -> None:
    assert template_names() == ["adoption_tip", "onboarding_nudge", "renewal_reminder"]
    for name in template_names():
        email = render_tech_touch(
            name, {"account_name": "Acme", "contact_name": None, "unsubscribe_url": "https://u/x"}
        )
        assert "Acme" in email.subject
        assert email.body.rstrip().endswith("Unsubscribe from these emails: https://u/x")
        assert "Hello there" in email.body
    renewal = render_tech_touch(
        "renewal_reminder",
        {"account_name": "Acme", "contact_name": "Ann", "unsubscribe_url": "u",
         "renewal_date": "2026-04-01"},
    )  # fmt: skip
    assert renewal.subject == "Acme: your subscription renews on 2026-04-01"
    with pytest.raises(NotFoundError, match="no tech-touch template 'nope'"):
        render_tech_touch("nope", {})


def test_tech_touch_reaches_active_contacts_of_the_role_once(
    people: Workspace, smtp: SmtpSink, settings: Settings
) -> None:
    assert _touch(people, settings, "tips-march", DAY) == 2  # Ann and Bob; not the inactive one
    assert _touch(people, settings, "tips-march", DAY) == 0  # a re-run sends nothing
    report = service.deliver_pending(people, now=NOW, settings=settings)
    assert report.sent == 2
    assert sorted(m["To"] for m in smtp.messages) == ["ann@acme.example", "bob@acme.example"]
    ann = next(m for m in smtp.messages if m["To"] == "ann@acme.example")
    assert ann["Subject"] == "A tip for Acme: dashboards"
    text = ann.get_content()
    assert "Hello Ann," in text
    match = LINK.search(text)
    assert match is not None
    assert ann["List-Unsubscribe"] == f"<{match.group(0)}>"


def test_frequency_cap_per_contact(people: Workspace, settings: Settings) -> None:
    assert _touch(people, settings, "c1", DAY) == 2
    assert _touch(people, settings, "c2", DAY + timedelta(days=6)) == 0  # within 7 days
    # the same address at another account is the same person
    assert _touch(people, settings, "c3", DAY + timedelta(days=3), account_id="B") == 0
    assert _touch(people, settings, "c4", DAY + timedelta(days=7)) == 2
    wider = settings.model_copy(update={"tech_touch_cap_days": 30})
    assert _touch(people, wider, "c5", DAY + timedelta(days=20)) == 0
    assert _touch(people, settings, "c6", DAY, role="sponsor") == 1


def test_unsubscribe_link_is_honoured(
    people: Workspace,
    smtp: SmtpSink,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEEPWELL_SECRET_KEY", SECRET_KEY)
    _touch(people, settings, "welcome", DAY, template="onboarding_nudge")
    service.deliver_pending(people, now=NOW, settings=settings)
    ann = next(m for m in smtp.messages if m["To"] == "ann@acme.example")
    match = LINK.search(ann.get_content())
    assert match is not None
    client = TestClient(create_app(people, Settings(cookie_secure=False)))
    first = client.get(f"/unsubscribe/{match.group(1)}")
    assert first.status_code == 200
    assert "ann@acme.example will receive no more" in first.text
    assert client.post(f"/unsubscribe/{match.group(1)}").status_code == 200  # idempotent
    assert client.get("/unsubscribe/forged-token").status_code == 400
    later = DAY + timedelta(days=30)
    assert _touch(people, settings, "tips-april", later) == 1  # Bob only
    assert _touch(people, settings, "tips-april-b", later, account_id="B") == 0  # Ann again
    with transaction(people.engine) as session:
        assert service.is_unsubscribed(session, "ANN@acme.example")
        assert not service.is_unsubscribed(session, "bob@acme.example")


def test_a_worker_refuses_the_development_secret_outside_development(
    people: Workspace, settings: Settings
) -> None:
    """The secret signs the unsubscribe links: the development default (known to all)
    would let anyone unsubscribe anyone, so it is refused outside development mode."""
    unsafe = settings.model_copy(
        update={"mode": Mode.PRODUCTION, "secret_key": SecretStr(DEVELOPMENT_SECRET)}
    )
    with pytest.raises(ConfigurationError, match="KEEPWELL_SECRET_KEY is the default"):
        _touch(people, unsafe, "tips-prod", DAY)
    assert service.list_notifications(people) == []  # nothing queued
    safe = settings.model_copy(update={"mode": Mode.PRODUCTION})  # its own 32+ char secret
    assert _touch(people, safe, "tips-prod", DAY) == 2


RAW_UNSUBSCRIBE = re.compile(
    rb"^List-Unsubscribe: <(https://cs\.example\.com/unsubscribe/\S+)>\r?$", re.M
)


def test_one_click_unsubscribe_headers_go_out_raw_and_the_post_unsubscribes(
    people: Workspace,
    smtp: SmtpSink,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """RFC 8058: the URL must reach the mail client as it is (an RFC 2047 encoded word,
    ``=?utf-8?q?=3Chttps...``, is not a URL to it), beside ``List-Unsubscribe-Post``;
    the client then POSTs ``List-Unsubscribe=One-Click`` to that URL."""
    monkeypatch.setenv("KEEPWELL_SECRET_KEY", SECRET_KEY)
    _touch(people, settings, "welcome", DAY, template="onboarding_nudge")
    service.deliver_pending(people, now=NOW, settings=settings)
    raw = next(r for r in smtp.raw if b"To: ann@acme.example" in r)
    headers = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n")
    assert b"=?utf-8?" not in headers
    assert re.search(rb"^List-Unsubscribe-Post: List-Unsubscribe=One-Click$", headers, re.M)
    match = RAW_UNSUBSCRIBE.search(headers)
    assert match is not None, headers.decode()
    path = match.group(1).decode().removeprefix("https://cs.example.com")
    client = TestClient(create_app(people, Settings(cookie_secure=False)))
    answer = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    with transaction(people.engine) as session:
        assert service.is_unsubscribed(session, "ann@acme.example")


def test_a_newline_in_an_account_name_is_folded_out_of_the_subject(
    workspace: Workspace, smtp: SmtpSink, settings: Settings
) -> None:
    """A header cannot hold a newline: unfolded, every delivery failed and was retried."""
    with transaction(workspace.engine) as session:
        service.enqueue(
            session, channel="email", target="ann@acme.example",
            subject="Acme\r\nBcc: everyone@example.com: health fell", body="b", dedupe_key="nl",
        )  # fmt: skip
    report = service.deliver_pending(workspace, now=NOW, settings=settings)
    assert (report.sent, report.retrying) == (1, 0)
    [message] = smtp.messages
    assert message["Subject"] == "Acme Bcc: everyone@example.com: health fell"
    assert message["Bcc"] is None
