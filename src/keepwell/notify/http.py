"""One JSON POST over HTTP(S) with the standard library, failures as DeliveryError."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping
from urllib.parse import urlsplit

from keepwell.notify.errors import DeliveryError


def post_json(url: str, body: bytes, *, headers: Mapping[str, str], timeout: float) -> int:
    """POST ``body`` (JSON) to ``url``; the status code, or :class:`DeliveryError` when the
    receiver cannot be reached or answers with a status outside 2xx."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise DeliveryError(f"{url!r} is not an http(s) URL")
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "keepwell", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"{_host(url)} answered HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"cannot reach {_host(url)}: {reason}") from exc
    if not 200 <= status < 300:
        raise DeliveryError(f"{_host(url)} answered HTTP {status}")
    return status


def _host(url: str) -> str:
    """The scheme, host and path of ``url`` (no query: it may carry a secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
