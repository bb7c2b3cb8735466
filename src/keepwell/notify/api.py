"""HTTP face of notifications: the public unsubscribe link of tech-touch emails.

``GET /unsubscribe/{token}`` (the link in the email) and ``POST /unsubscribe/{token}``
(RFC 8058 one-click, sent by mail clients from the ``List-Unsubscribe`` header) need no
sign-in: the token is the address signed with ``KEEPWELL_SECRET_KEY``. Both are
idempotent: the first unsubscribe is kept, later ones change nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from keepwell.core.errors import InputError
from keepwell.core.workspace import Workspace
from keepwell.notify import service
from keepwell.web.deps import SettingsDep, WorkspaceDep

public = APIRouter(tags=["notifications"])

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><main><h1>{title}</h1><p>{text}</p></main></body></html>
"""


def _page(title: str, text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=escape(title), text=escape(text)), status_code=status)


#: The page of a link that is not a valid unsubscribe token.
_INVALID: dict[int | str, dict[str, Any]] = {
    400: {"description": "Not a valid unsubscribe link (an HTML page).",
          "content": {"text/html": {"schema": {"type": "string"}}}}
}  # fmt: skip


async def _unsubscribe(workspace: Workspace, secret: str, token: str) -> HTMLResponse:
    try:
        email = await run_in_threadpool(
            service.unsubscribe, workspace, token, at=datetime.now(UTC), secret=secret
        )
    except InputError as exc:
        return _page("Invalid link", exc.message, status=400)
    return _page("Unsubscribed", f"{email} will receive no more of these emails.")


@public.get("/unsubscribe/{token}", response_class=HTMLResponse, responses=_INVALID)
async def unsubscribe_link(
    workspace: WorkspaceDep, settings: SettingsDep, token: str
) -> HTMLResponse:
    """Unsubscribe the address of ``token`` from tech-touch emails (no sign-in)."""
    return await _unsubscribe(workspace, settings.secret_key.get_secret_value(), token)


@public.post("/unsubscribe/{token}", response_class=HTMLResponse, responses=_INVALID)
async def unsubscribe_one_click(
    workspace: WorkspaceDep, settings: SettingsDep, token: str
) -> HTMLResponse:
    """One-click unsubscribe (RFC 8058) of the address of ``token`` (no sign-in)."""
    return await _unsubscribe(workspace, settings.secret_key.get_secret_value(), token)
