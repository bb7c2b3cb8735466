"""Use cases of business reviews (QBRs): gather one account's review and render it as
HTML or PDF. The public surface of ``reports``.

A review covers the ``PERIOD_DAYS`` days up to ``as_of``: usage trends, health and what
moved it, progress against the success plan, peer benchmarks (percentiles among the
accounts of the same segment and industry), support and NPS, the renewal recap, and
goals for the next period.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta
from statistics import mean
from typing import Any

from keepwell.core.workspace import Workspace
from keepwell.portfolio import service as portfolio_service
from keepwell.reports import builder, goals
from keepwell.reports.customer import customer_view
from keepwell.reports.peers import median, percentile_rank

PERIOD_DAYS = 90
#: Key measures benchmarked against peers: key, label, unit.
BENCHMARKS = (
    ("arr", "ARR", "base currency"),
    ("score", "Health score", "0–100"),
    ("active_users", "Active users, last 30 days", "people"),
    ("events_per_user", "Events per active user, last 30 days", "events"),
)


def _measure(row: dict[str, Any], key: str, usage: dict[str, Any]) -> float | None:
    if key in ("arr", "score"):
        return None if row[key] is None else float(row[key])
    value: float | None = usage.get(row["account_id"], {}).get(key)
    return value


def peer_benchmarks(
    workspace: Workspace, lock: AbstractContextManager[Any] | None, account_id: str, as_of: date
) -> dict[str, Any]:
    """The account's :data:`BENCHMARKS` as percentiles among customers (not prospects)
    of the same segment and industry, with the peers' median."""
    me, peers = portfolio_service.peers(workspace, account_id, as_of)
    if me is None:
        return {"peers": 0, "measures": []}
    ids = [account_id] + [p["account_id"] for p in peers]
    usage = portfolio_service.peer_usage(workspace, ids, as_of, lock)

    measures = []
    for key, label, unit in BENCHMARKS:
        values = [_measure(p, key, usage) for p in peers]
        mine = _measure(me, key, usage)
        measures.append(
            {
                "key": key,
                "label": label,
                "unit": unit,
                "value": mine,
                "median": median(values),
                "percentile": percentile_rank(mine, values),
            }
        )
    return {
        "segment": me["segment"],
        "industry": me["industry"],
        "peers": len(peers),
        "measures": measures,
    }


def _support(view: dict[str, Any], start: date) -> dict[str, Any]:
    tickets = [t for t in view["account"]["tickets"] if t["opened_at"].date() > start]
    closed = [t for t in tickets if t["closed_at"] is not None]
    hours = [(t["closed_at"] - t["opened_at"]).total_seconds() / 3600 for t in closed]
    csat = [t["csat"] for t in tickets if t["csat"] is not None]
    nps_recent = [s["score"] for s in view["nps"] if s["responded_at"].date() > start]
    return {
        "opened": len(tickets),
        "closed": len(closed),
        "urgent": sum(1 for t in tickets if t["priority"] in ("high", "urgent")),
        "median_hours": median(hours),
        "csat": mean(csat) if csat else None,
        "nps_latest": view["nps"][0]["score"] if view["nps"] else None,
        "nps_period": mean(nps_recent) if nps_recent else None,
        "nps_answers": len(nps_recent),
    }


def _renewal(view: dict[str, Any], as_of: date) -> dict[str, Any]:
    lines = view["account"]["subscriptions"]
    ended = [
        s for s in lines if s["ends_on"] and as_of - timedelta(days=365) < s["ends_on"] <= as_of
    ]
    active = [
        s for s in lines if s["starts_on"] <= as_of and (not s["ends_on"] or s["ends_on"] > as_of)
    ]
    return {
        "next_renewal": view["row"].get("next_renewal"),
        "renewal_arr": view["row"].get("renewal_arr"),
        "auto_renew": any(s["auto_renew"] for s in active),
        "active_lines": active,
        "ended_last_year": ended,
    }


def business_review(
    workspace: Workspace,
    account_id: str,
    as_of: date,
    *,
    scope: str | None = None,
    lock: AbstractContextManager[Any] | None = None,
) -> dict[str, Any]:
    """Everything the review of ``account_id`` shows as of ``as_of`` (see the module
    docstring). NotFoundError when the account is unknown or out of ``scope``; ``lock``
    guards the analytics store when the server shares it with its event writer."""
    view = portfolio_service.account_view(workspace, account_id, as_of, scope, lock)
    start = as_of - timedelta(days=PERIOD_DAYS)
    review = {
        **view,
        "as_of": as_of,
        "period_start": start,
        "support": _support(view, start),
        "renewal": _renewal(view, as_of),
        "peers": peer_benchmarks(workspace, lock, account_id, as_of),
    }
    review["goals"] = goals.next_period_goals(review)
    return review


def review_html(review: dict[str, Any], *, generated_at: datetime) -> str:
    """The review as a standalone HTML page (charts as inline SVG)."""
    return builder.render_html(review, generated_at=generated_at)


def review_pdf(review: dict[str, Any], *, generated_at: datetime) -> bytes:
    """The review as a PDF (WeasyPrint)."""
    return builder.render_pdf(review, generated_at=generated_at)


def customer_review(
    workspace: Workspace,
    account_id: str,
    as_of: date,
    *,
    measures: Sequence[Mapping[str, Any]] = (),
    narrative: Mapping[str, str] | None = None,
    scope: str | None = None,
    lock: AbstractContextManager[Any] | None = None,
) -> dict[str, Any]:
    """The review the customer can be given (:mod:`keepwell.reports.customer`): their
    goals and ``measures`` against target, both sides' milestones, usage, anonymised
    percentiles among at least 10 peers, and the saved ``narrative`` sections; nothing
    internal."""
    review = business_review(workspace, account_id, as_of, scope=scope, lock=lock)
    return customer_view(review, measures, narrative or {})


def customer_review_html(review: dict[str, Any], *, generated_at: datetime) -> str:
    return builder.render_customer_html(review, generated_at=generated_at)


def customer_review_pdf(review: dict[str, Any], *, generated_at: datetime) -> bytes:
    """The customer's review as a PDF (WeasyPrint)."""
    return builder.to_pdf(builder.render_customer_html(review, generated_at=generated_at))
