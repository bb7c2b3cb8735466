"""Web face of business reviews: the review as a page and as a PDF download."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from keepwell.reports import service
from keepwell.web.deps import AnalyticsLock, WorkspaceDep
from keepwell.web.toolkit import PageUser, page_user, today

router = APIRouter(include_in_schema=False)
User = Annotated[PageUser, Depends(page_user)]


def _review(
    ws: WorkspaceDep, lock: AnalyticsLock, user: PageUser, account_id: str
) -> dict[str, Any]:
    return service.business_review(ws, account_id, today(), scope=user.owner_scope, lock=lock)


@router.get("/accounts/{account_id}/qbr", response_class=HTMLResponse)
def review_page(user: User, ws: WorkspaceDep, lock: AnalyticsLock, account_id: str) -> HTMLResponse:
    """The business review of the account as a printable page."""
    review = _review(ws, lock, user, account_id)
    html = service.review_html(review, generated_at=datetime.now(UTC))
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


def filename(account_id: str, day: object) -> str:
    """A safe download name: ``qbr-<id>-<day>.pdf`` with only [A-Za-z0-9._-]."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"qbr-{account_id}-{day}")[:120] + ".pdf"


@router.get("/accounts/{account_id}/qbr.pdf")
async def review_pdf(
    user: User, ws: WorkspaceDep, lock: AnalyticsLock, account_id: str
) -> Response:
    """The business review of the account as a PDF download."""
    review = await run_in_threadpool(_review, ws, lock, user, account_id)
    pdf = await run_in_threadpool(service.review_pdf, review, generated_at=datetime.now(UTC))
    headers = {
        "Content-Disposition": f'attachment; filename="{filename(account_id, review["as_of"])}"',
        "Cache-Control": "no-store",
    }
    return Response(pdf, media_type="application/pdf", headers=headers)
