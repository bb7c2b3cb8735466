"""NUL characters (U+0000) in request text: PostgreSQL text cannot hold them, and no
Keepwell value holds one legitimately (pure; the web middleware and the tracking API's
decoded bodies both check with it)."""

from __future__ import annotations

import re

#: ``\u0000`` in JSON text, not preceded by an escaped backslash (``\\u0000`` is the six
#: characters ``\u0000``, which is allowed).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)
_PERCENT_NUL = re.compile(rb"%00")
CHECKED_BODIES = ("application/json", "application/x-www-form-urlencoded", "text/")


def nul_in_request(path: str, query: bytes, content_type: str, body: bytes) -> str | None:
    """Where the request carries a NUL character (``path``, ``query string``, ``body``),
    or None (pure)."""
    if "\x00" in path:
        return "path"
    if b"\x00" in query or _PERCENT_NUL.search(query):
        return "query string"
    kind = content_type.split(";", 1)[0].strip().lower()
    if not body or not kind.startswith(CHECKED_BODIES):
        return None
    if b"\x00" in body:
        return "body"
    if kind == "application/json" and _JSON_NUL.search(body):
        return "body"
    if kind == "application/x-www-form-urlencoded" and _PERCENT_NUL.search(body):
        return "body"
    return None
