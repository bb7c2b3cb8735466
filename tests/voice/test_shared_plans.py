"""Shared success plans through the public pages: what the customer sees and may do,
and everything a link must refuse (tampered 403, expired or revoked 410, another
account's milestone 404), escaping of hostile values, and the rate limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from keepwell.core.workspace import Workspace
from keepwell.server.app import create_app
from keepwell.success import service as success_service
from keepwell.voice import links, service
from keepwell.voice.pages import PUBLIC_LIMIT
from tests.web.helpers import add_user, make_settings

HOSTILE = "<script>alert('plan')</script> & \"Co\""


def _setup(ws: Workspace) -> dict[str, Any]:
    now = datetime.now(UTC)
    for account in ("A", "B"):
        success_service.create_plan(ws, account, as_of=now.date() - timedelta(days=40),
                                    template="mid-touch")  # fmt: skip
    with ws.engine.begin() as conn:
        conn.execute(sa.text("UPDATE success_plans SET title = :t WHERE account_id = 'A'"),
                     {"t": HOSTILE})  # fmt: skip
    settings = make_settings(restrict_csm=False)
    shares = {a: service.share_plan(ws, a, shared_with=f"Customer {a}", email=None, days=30,
                                    now=now, settings=settings) for a in ("A", "B")}  # fmt: skip
    app = create_app(ws, settings)
    return {"app": app, "web": TestClient(app, raise_server_exceptions=False),
            "shares": shares, "settings": settings}  # fmt: skip


def _path(share: dict[str, Any], base: str) -> str:
    return str(share["url"]).replace(base.rstrip("/"), "")


def _plan(ws: Workspace, account: str) -> dict[str, Any]:
    return success_service.show_plan(ws, account, datetime.now(UTC).date())


def test_the_customer_sees_only_their_plan_escaped_and_acts_on_their_milestones(
    company: Workspace,
) -> None:
    ws = company
    s = _setup(ws)
    web, base = s["web"], s["settings"].base_url
    a, b = _path(s["shares"]["A"], base), _path(s["shares"]["B"], base)
    page = web.get(a)
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#39;plan&#39;)&lt;/script&gt; &amp; &#34;Co&#34;" in page.text
    for secret in ("csm-a@vendor.example", "Beta", "csm-b@vendor.example", "Customer B"):
        assert secret not in page.text
    assert "Admin completes the setup" in page.text
    assert "Mark done" in page.text

    ours = next(m for m in _plan(ws, "A")["milestones"] if m["side"] == "us")
    theirs = next(m for m in _plan(ws, "A")["milestones"] if m["side"] == "customer")
    # our milestone, and A's milestone through B's link: refused, nothing changed
    assert web.post(f"{a}/milestones/{ours['milestone_id']}/done").status_code == 404
    crossed = web.post(f"{b}/milestones/{theirs['milestone_id']}/done")
    assert crossed.status_code == 404
    assert "Setup" not in crossed.text
    assert all(m["status"] != "done" for m in _plan(ws, "A")["milestones"])

    done = web.post(f"{a}/milestones/{theirs['milestone_id']}/done", follow_redirects=False)
    assert done.status_code == 303
    hostile = "<img src=x onerror=alert(1)> looks good"
    assert web.post(f"{a}/comments", data={"comment": hostile}).status_code == 200
    after = web.get(a).text
    assert "&lt;img src=x onerror=alert(1)&gt; looks good" in after
    assert "<img src" not in after
    status = {m["milestone_id"]: m["status"] for m in _plan(ws, "A")["milestones"]}
    assert status[theirs["milestone_id"]] == "done"
    timeline = success_service.account_timeline(ws, "A", tag="shared-plan")
    assert [(t["author"], t["subject"]) for t in timeline] == [
        ("Customer A", "Comment on the shared plan"),
        ("Customer A", "Milestone done"),
    ]
    assert success_service.account_timeline(ws, "B", tag="shared-plan") == []
    assert "looks good" not in web.get(b).text  # A's conversation is not on B's page


def test_tampered_expired_and_revoked_links_show_nothing(company: Workspace) -> None:
    ws = company
    s = _setup(ws)
    web, base, settings = s["web"], s["settings"].base_url, s["settings"]
    a = _path(s["shares"]["A"], base)
    token = a.rsplit("/", 1)[1]
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    forged = links.share_token(s["shares"]["A"]["share_id"], "guessed-nonce",
                               settings.secret_key.get_secret_value())  # fmt: skip
    other_key = links.share_token(s["shares"]["A"]["share_id"], "x", "another-secret-key")
    survey_kind = links.survey_token(1, settings.secret_key.get_secret_value())
    for bad in (tampered, forged, other_key, survey_kind, "nonsense"):
        page = web.get(f"/p/{bad}")
        assert page.status_code == 403, bad
        assert "Success plan" not in page.text
        assert "Customer A" not in page.text
        assert web.post(f"/p/{bad}/comments", data={"comment": "hi"}).status_code == 403

    admin = add_user(ws, "lead@example.com", "admin")
    api = TestClient(s["app"], headers={"Authorization": f"Bearer {admin}"})
    revoked = api.post(f"/api/v1/accounts/A/plan/shares/{s['shares']['A']['share_id']}/revoke")
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked"
    gone = web.get(a)
    assert gone.status_code == 410
    assert "Customer A" not in gone.text
    assert web.post(f"{a}/comments", data={"comment": "late"}).status_code == 410
    assert success_service.account_timeline(ws, "A", tag="shared-plan") == []

    b = _path(s["shares"]["B"], base)
    with ws.engine.begin() as conn:
        conn.execute(sa.text("UPDATE voice_plan_shares SET expires_at = :t WHERE account_id = 'B'"),
                     {"t": datetime.now(UTC) - timedelta(seconds=1)})  # fmt: skip
    expired = web.get(b)
    assert expired.status_code == 410
    assert "expired" in expired.text
    # another CSM cannot revoke or list A's links
    csm = add_user(ws, "csm-b@vendor.example", "csm")
    scoped = TestClient(create_app(ws, make_settings(restrict_csm=True)),
                        headers={"Authorization": f"Bearer {csm}"})  # fmt: skip
    assert scoped.get("/api/v1/accounts/A/plan/shares").status_code == 404
    assert scoped.get("/api/v1/accounts/B/plan/shares").status_code == 200


def test_public_pages_are_rate_limited(company: Workspace) -> None:
    s = _setup(company)
    web = s["web"]
    codes = [web.get("/p/nonsense").status_code for _ in range(PUBLIC_LIMIT + 1)]
    assert codes[:PUBLIC_LIMIT] == [403] * PUBLIC_LIMIT
    assert codes[-1] == 429
    limited = web.get("/s/nonsense/9")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
