"""A write through the server is shown by the next page: after every successful write
request the kept account directories and figures of the workspace are dropped (as after
a cycle or a forwarded command), so the accounts list shows the owner just given, an
import's accounts and lines, a Stripe webhook's MRR, instead of what was kept up to five
minutes before.

The tracking API is left out: event batches arrive many times a second, and usage
reaches the pages through the next scoring, not through the kept figures. So are
signing in and out, which change nothing a page shows, and the commands forwarded by
the CLI: the server's command runner drops the kept figures itself after those that
write (not after ``export`` or ``qbr``).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keepwell.server.forward import CONTROL_PATH
from keepwell.web.deps import SAFE_METHODS

#: Paths whose writes change nothing the kept figures hold, or that drop them
#: themselves (forwarded commands).
UNKEPT_PREFIXES = ("/v1/", "/login", "/logout", CONTROL_PATH)


class ForgetKeptAfterWrites:
    """ASGI middleware: ``forget()`` once a write request's response starts with a
    status under 400 (the write is done; the client has not seen the answer yet, so
    its next request cannot read the kept figures first)."""

    def __init__(self, app: ASGIApp, forget: Callable[[], None]) -> None:
        self.app = app
        self.forget = forget

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in SAFE_METHODS
            or scope["path"].startswith(UNKEPT_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return

        async def send_after_forgetting(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                self.forget()
            await send(message)

        await self.app(scope, receive, send_after_forgetting)
