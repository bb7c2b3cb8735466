"""The vendor's page of the customer's voice: measures and readings, a shared link
created and revoked, the narrative saved and in the customer's PDF; another CSM's
account is not found; forms need the CSRF token."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

from pypdf import PdfReader

from keepwell.core.workspace import Workspace
from keepwell.success import service as success_service
from keepwell.voice import service
from tests.voice.conftest import load_company
from tests.web.helpers import make_app
from tests.web.pages_helpers import add_person, csrf_of, sign_in


def test_vendor_page_measures_links_narrative_and_customer_pdf(
    sqlite_workspace: Workspace,
) -> None:
    ws = sqlite_workspace  # pages only: one backend is enough
    load_company(ws)
    today = datetime.now(UTC).date()
    success_service.create_plan(ws, "A", as_of=today - timedelta(days=40), template="mid-touch")
    add_person(ws, "csm-a@vendor.example", "csm")
    add_person(ws, "csm-b@vendor.example", "csm")
    app = make_app(ws, restrict_csm=True)
    http = sign_in(app, "csm-a@vendor.example")
    page = http.get("/accounts/A/voice")
    assert page.status_code == 200
    assert "No success measure yet." in page.text
    token = csrf_of(page.text)
    assert http.post("/accounts/A/voice/measures", data={"name": "Hours", "unit": "h",
                     "baseline": "0", "target": "40", "target_on": str(today + timedelta(days=9))},
                     follow_redirects=False).status_code == 403  # no CSRF token  # fmt: skip
    added = http.post("/accounts/A/voice/measures", data={
        "name": "Hours <saved>", "unit": "h", "baseline": "0", "target": "40",
        "target_on": str(today + timedelta(days=90)), "csrf_token": token})  # fmt: skip
    assert added.status_code == 200
    assert "Hours &lt;saved&gt; (h)" in added.text
    (measure,) = service.account_measures(ws, "A", today)
    http.post(f"/accounts/A/voice/measures/{measure['measure_id']}/readings",
              data={"value": "10", "csrf_token": token})  # fmt: skip
    assert service.account_measures(ws, "A", today)[0]["progress"] == 0.25

    shared = http.post("/accounts/A/voice/shares",
                       data={"shared_with": "Dana", "days": "30", "csrf_token": token})  # fmt: skip
    link = re.search(r"<code>(http[^<]+/p/[^<]+)</code>", shared.text)
    assert link is not None
    path = link.group(1).split("testserver")[-1].replace("http://localhost:8000", "")
    assert http.get(path).status_code == 200
    (share,) = service.list_shares(ws, "A", datetime.now(UTC))
    http.post(f"/accounts/A/voice/shares/{share['share_id']}/revoke", data={"csrf_token": token})
    assert http.get(path).status_code == 410

    http.post("/accounts/A/voice/narrative/summary",
              data={"text": "A strong quarter for your team.", "csrf_token": token})  # fmt: skip
    pdf = http.get("/accounts/A/qbr-customer.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "A strong quarter for your team." in " ".join(text.split())

    other = sign_in(app, "csm-b@vendor.example")
    assert other.get("/accounts/A/voice").status_code == 404
    assert other.get("/accounts/A/qbr-customer.pdf").status_code == 404
