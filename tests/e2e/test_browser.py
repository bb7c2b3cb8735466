"""The web app in a real browser: headless Debian Chromium driven by Playwright against
the real server (Uvicorn on a free port) over a small demo workspace.

One journey: sign in -> overview -> an account -> add a note -> close a CTA -> download
the business review. Each page is saved as a screenshot in ``tests/e2e/artifacts/``; no
page may log a console error; the PDF must have pages. Without Chromium the test is
skipped on a developer machine and fails under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pypdf import PdfReader

from keepwell.core import periods
from keepwell.core.workspace import Workspace
from keepwell.demo.pipeline import run_demo
from tests.conftest import make_workspace
from tests.web.helpers import PASSWORD, make_app
from tests.web.pages_helpers import add_person

pytestmark = pytest.mark.slow
CHROMIUM = os.environ.get("KEEPWELL_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
END_MONTH = date(2026, 10, 1)


def _require_chromium() -> None:
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return
    message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _account_with_a_cta(ws: Workspace, as_of: date) -> str:
    """Run the success cycle (rules open CTAs) and return an account with a live CTA."""
    from keepwell.success import service as success_service

    success_service.run_cycle(ws, as_of, clock=lambda: datetime.now(UTC), deliver=False)
    ctas = success_service.list_ctas(ws, as_of=as_of)
    assert ctas, "the demo's rules opened no CTA"
    return str(sorted(c["account_id"] for c in ctas)[0])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The real server on a 30-account demo workspace, and the account to visit."""
    _require_chromium()
    root = tmp_path_factory.mktemp("e2e")
    ws = make_workspace(root / "ws")
    run_demo(
        ws, root / "data", accounts=30, months=13, seed=7, end_month=END_MONTH, churn_model=False
    )
    add_person(ws, "lead@example.com", "admin")
    account = _account_with_a_cta(ws, periods.month_end(END_MONTH))
    port = _free_port()
    config = uvicorn.Config(make_app(ws, restrict_csm=False), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="on")  # fmt: skip
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started, "the server did not start"
    yield {"url": f"http://127.0.0.1:{port}", "account": account}
    uv.should_exit = True
    thread.join(timeout=10)
    ws.close()


def test_journey_sign_in_to_business_review(server: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1360, "height": 900}
        )
        page = context.new_page()
        page.on(
            "console",
            lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
        try:
            _journey(page, server)
        finally:
            browser.close()
    assert errors == []


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _journey(page: Any, server: dict[str, Any]) -> None:
    url, account = server["url"], server["account"]
    page.goto(f"{url}/")
    assert page.url.startswith(f"{url}/login")
    _shot(page, "01-login")
    page.fill("input[name=email]", "lead@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Portfolio overview')")
    page.wait_for_selector("#bridge.drawn .main-svg")
    assert "admin" in page.locator(".who").inner_text().lower()
    _shot(page, "02-overview")
    page.goto(f"{url}/accounts?sort=-arr")
    _shot(page, "03-accounts")
    page.goto(f"{url}/accounts/{account}")
    page.wait_for_selector("#score-trend.drawn .main-svg")
    _shot(page, "04-account")
    note = f"Agreed next steps <b>{datetime.now(UTC):%H%M%S}</b>"
    page.fill("textarea[name=body]", note)
    page.click("button:has-text('Add note')")
    page.wait_for_selector(f"#timeline li:has-text('{note}')")
    _shot(page, "05-note-added")
    before = page.locator("button[data-action=close]").count()
    assert before >= 1
    page.locator("button[data-action=close]").first.click()
    page.wait_for_load_state()
    assert page.locator("button[data-action=close]").count() == before - 1
    _shot(page, "06-cta-closed")
    with page.expect_download() as download:
        page.click("text=Download QBR (PDF)")
    pdf = ARTIFACTS / "qbr.pdf"
    download.value.save_as(str(pdf))
    assert len(PdfReader(pdf).pages) >= 1
    others = {"/renewals": "07-renewals", "/cohorts": "08-cohorts", "/survival": "09-survival",
              "/simulator": "10-simulator", "/my-work": "11-my-work", "/evidence": "12-evidence",
              "/feedback": "13-feedback", f"/accounts/{account}/qbr": "14-qbr"}  # fmt: skip
    for path, name in others.items():
        page.goto(f"{url}{path}")
        _shot(page, name)
    _team_pages(page, url)


def _team_pages(page: Any, url: str) -> None:
    """The team pages: "why did it move" from an overview headline figure, the team's
    books, a CSM's book and the targets, each with its chart drawn."""
    page.goto(f"{url}/")
    page.locator("a[href^='/explain?metric=nrr']").first.click()
    page.wait_for_selector("h1:has-text('Why did it move?')")
    assert "went from" in page.locator("#explain-summary").inner_text()
    _shot(page, "15-explain")
    page.goto(f"{url}/team")
    page.wait_for_selector("#book-arr.drawn .main-svg")
    _shot(page, "16-team")
    page.locator("a[href^='/team/book?csm=']").first.click()
    page.wait_for_selector("h1:has-text('Book of')")
    assert page.locator("td.name a").count() >= 1
    _shot(page, "17-my-book")
    page.goto(f"{url}/targets")
    page.wait_for_selector("#attainment-history.drawn .main-svg")
    _shot(page, "18-targets")
