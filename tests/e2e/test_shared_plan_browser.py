"""A shared success plan in a real browser (Debian Chromium through Playwright, the real
server on a free port): the customer opens the link, marks their milestone done and adds
a comment, with JavaScript off (the public pages need none); the vendor signs in and
sees both on the account's timeline under the customer's name."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import uvicorn

from keepwell.success import service as success_service
from keepwell.voice import service as voice_service
from tests.conftest import make_workspace
from tests.e2e.test_browser import ARGS, ARTIFACTS, CHROMIUM, _free_port, _require_chromium
from tests.voice.conftest import load_company
from tests.web.helpers import PASSWORD, make_app, make_settings
from tests.web.pages_helpers import add_person

pytestmark = pytest.mark.slow
CUSTOMER = "Dana O'Neil <Acme>"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    _require_chromium()
    ws = make_workspace(tmp_path_factory.mktemp("shared") / "ws")
    load_company(ws)
    now = datetime.now(UTC)
    success_service.create_plan(
        ws, "A", as_of=now.date() - timedelta(days=40), template="mid-touch"
    )
    add_person(ws, "lead@example.com", "admin")
    port = _free_port()
    settings = make_settings(restrict_csm=False, base_url=f"http://127.0.0.1:{port}")
    share = voice_service.share_plan(ws, "A", shared_with=CUSTOMER, email="dana@acme.example",
                                     days=30, now=now, settings=settings)  # fmt: skip
    app = make_app(ws, restrict_csm=False, base_url=f"http://127.0.0.1:{port}")
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started, "the server did not start"
    yield {"url": f"http://127.0.0.1:{port}", "link": share["url"]}
    uv.should_exit = True
    thread.join(timeout=10)
    ws.close()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_customer_marks_done_and_comments_vendor_sees_both(server: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    comment = f"Setup finished, <b>thanks</b> {datetime.now(UTC):%H%M%S}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            customer = browser.new_context(java_script_enabled=False).new_page()
            customer.goto(server["link"])
            customer.wait_for_selector("h1:has-text('Success plan')")
            _shot(customer, "20-shared-plan")
            row = customer.locator("tr", has_text="Admin completes the setup")
            row.locator("button:has-text('Mark done')").click()
            customer.wait_for_selector("text=The milestone is marked done.")
            assert "done" in row.inner_text()
            assert row.locator("button").count() == 0
            customer.fill("textarea[name=comment]", comment)
            customer.click("button:has-text('Add comment')")
            customer.wait_for_selector("text=Your comment is added.")
            assert comment in customer.locator(".comment").first.inner_text()
            _shot(customer, "21-shared-plan-updated")

            vendor = browser.new_context().new_page()
            vendor.goto(f"{server['url']}/login")
            vendor.fill("input[name=email]", "lead@example.com")
            vendor.fill("input[name=password]", PASSWORD)
            vendor.click("button[type=submit]")
            vendor.wait_for_selector("h1")
            vendor.goto(f"{server['url']}/accounts/A#timeline")
            items = vendor.locator("#timeline li")
            texts = [items.nth(i).inner_text() for i in range(items.count())]
            _shot(vendor, "22-vendor-timeline")
        finally:
            browser.close()
    mine = [t for t in texts if CUSTOMER in t]
    assert any("Milestone done" in t and "Admin completes the setup" in t for t in mine), texts
    assert any(comment in t for t in mine), texts
