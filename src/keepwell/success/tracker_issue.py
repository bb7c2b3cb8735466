"""A feature request as an issue tracker takes it (pure): the outbound webhook's payload.

Shaped after what GitHub, GitLab, Jira and Linear issue APIs accept, so a small relay
(or a tracker's generic webhook import) can create or update the issue::

    {"external_id": "keepwell-feature-12", "title": "Single sign-on with Okta",
     "body": "<markdown: status, accounts, ARR, each customer's words>",
     "labels": ["feature-request", "status:planned"], "state": "open",
     "status": "planned", "accounts": 3, "arr": "54000.00", "merged_into": null,
     "asks": [{"account_id": "0042", "account": "Acme", "contact_id": "c1",
               "quote": "...", "arr": "18000.00", "asked_at": "2026-..."}]}

``state`` is ``closed`` once the request is shipped, declined or merged into another
(``merged_into`` then names the other's ``external_id``). ``external_id`` is stable: the
receiver updates one issue per request. Money as decimal strings (exact).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

LABEL = "feature-request"
CLOSED = frozenset({"shipped", "declined"})


def external_id(request_id: int) -> str:
    """The request's stable id in the tracker."""
    return f"keepwell-feature-{request_id}"


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def tracker_issue(request: Mapping[str, Any], asks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The issue document of ``request`` (``request_id``, ``title``, ``status``,
    ``merged_into``) with its ``asks`` (``account_id``, ``account``, ``contact_id``,
    ``quote``, ``arr`` Decimal or None, ``asked_at``)."""
    merged = request.get("merged_into")
    arr = sum((a["arr"] for a in asks if a.get("arr") is not None), Decimal(0))
    accounts = sorted({a["account_id"] for a in asks})
    lines = [
        f"**Status:** {request['status']}" + (f" (merged into #{merged})" if merged else ""),
        f"**Requested by** {len(accounts)} account(s), ARR {_money(arr)} when they asked.",
        "",
    ]
    for ask in asks:
        who = ask.get("account") or ask["account_id"]
        quote = (ask.get("quote") or "").strip()
        lines.append(
            f"- {who} (ARR {_money(ask.get('arr')) or 'n/a'})" + (f": {quote}" if quote else "")
        )
    return {
        "external_id": external_id(int(request["request_id"])),
        "title": request["title"],
        "body": "\n".join(lines),
        "labels": [LABEL, f"status:{request['status']}"],
        "state": "closed" if merged or request["status"] in CLOSED else "open",
        "status": request["status"],
        "accounts": len(accounts),
        "arr": _money(arr),
        "merged_into": external_id(int(merged)) if merged else None,
        "asks": [
            {"account_id": a["account_id"], "account": a.get("account"),
             "contact_id": a.get("contact_id"), "quote": a.get("quote") or "",
             "arr": _money(a.get("arr")), "asked_at": _iso(a.get("asked_at"))}
            for a in asks
        ],
    }  # fmt: skip


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()
