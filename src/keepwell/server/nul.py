"""Refuse requests carrying a NUL character (U+0000) with a 400, before any route runs.

PostgreSQL text cannot hold NUL: a NUL in a query parameter, a path segment, a form
field (the sign-in email) or a JSON string (tracking properties) reached the driver and
came back as a 500 on every route that looks a string up. No Keepwell value holds a NUL
legitimately, so the whole request is refused, naming where the NUL was. Multipart
uploads are left to the importer, which reports a NUL cell per row.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keepwell.core.nul import CHECKED_BODIES, nul_in_request


class RejectNulMiddleware:
    """ASGI middleware: 400 ``invalid_input`` for a request with a NUL character."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        encoding = headers.get(b"content-encoding", b"identity").decode("latin-1").lower()
        # an encoded (gzip) body is binary: its reader checks the decoded text instead
        if encoding == "identity" and content_type.split(";", 1)[0].strip().lower().startswith(
            CHECKED_BODIES
        ):
            messages, body = await _read_body(receive)
            receive = _replay(messages, receive)
        else:
            body = b""
        where = nul_in_request(scope.get("path", ""), scope.get("query_string", b""),
                               content_type, body)  # fmt: skip
        if where is None:
            await self.app(scope, receive, send)
            return
        await _refuse(send, f"the request's {where} contains a NUL character (U+0000)")


async def _read_body(receive: Receive) -> tuple[list[Message], bytes]:
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return messages, b"".join(chunks)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


async def _refuse(send: Send, message: str) -> None:
    body = json.dumps(
        {"error": {"code": "invalid_input", "message": message,
                   "hint": "remove the NUL character; no Keepwell value holds one"}}
    ).encode()  # fmt: skip
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
