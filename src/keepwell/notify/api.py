"""HTTP face of notifications: the public unsubscribe link of tech-touch emails.

``GET /unsubscribe/{token}`` (the link in the email) and ``POST /unsubscribe/{token}``
(RFC 8058 one-click, sent by mail clients from the ``List-Unsubscribe`` header) need no
sign-in: the token is the address signed with ``KEEPWELL_SECRET_KEY``. Both are
idempotent: the first unsubscribe is kept, later ones change nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from keepwell.core.errors import InputError
from keepwell.core.workspace import Workspace
from keepwell.notify import service
from keepwell.notify.settings import NotifySettings

public = APIRouter(tags=["notifications"])

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><main><h1>{title}</h1><p>{text}</p></main></body></html>
"""


def _page(title: str, text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=escape(title), text=escape(text)), status_code=status)


async def _unsubscribe(request: Request, token: str) -> HTMLResponse:
    workspace: Workspace = request.app.state.workspace
    secret = NotifySettings().secret_key.get_secret_value()
    try:
        email = await run_in_threadpool(
            service.unsubscribe, workspace, token, at=datetime.now(UTC), secret=secret
        )
    except InputError as exc:
        return _page("Invalid link", exc.message, status=400)
    return _page("Unsubscribed", f"{email} will receive no more of these emails.")


@public.get("/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe_link(request: Request, token: str) -> HTMLResponse:
    """Unsubscribe the address of ``token`` from tech-touch emails (no sign-in)."""
    return await _unsubscribe(request, token)


@public.post("/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe_one_click(request: Request, token: str) -> HTMLResponse:
    """One-click unsubscribe (RFC 8058) of the address of ``token`` (no sign-in)."""
    return await _unsubscribe(request, token)
