"""The whole story of one account as timeline entries: activities and notes, tickets
opened and closed, survey answers, CTAs opened and closed (with their outcome), plan
check-ins and milestones done, emails, Slack messages and webhooks sent, health band
changes, renewals and MRR changes. Pure: each function turns what one slice's service
returns into entries; :func:`select` filters by kind and orders newest first
(``portfolio.service.account_story`` gathers them).

An entry is ``{"at": datetime (UTC), "kind": str, "title": str, "detail": str | None,
"who": str | None}``; a source that only knows the day (CTAs, plans, snapshots,
revenue) is placed at midnight UTC of that day.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from keepwell.core.errors import InputError

#: Activity kinds of the data contract (the timeline's own records).
ACTIVITY_KINDS = ("meeting", "call", "email", "note", "business_review")
#: Every kind of entry, in the order they are listed; ``--kind`` takes these.
KINDS = (
    *ACTIVITY_KINDS,
    "ticket", "survey", "cta", "checkin", "milestone", "message", "band", "renewal", "revenue",
)  # fmt: skip
#: The fields of an entry, in display order.
FIELDS = ("at", "kind", "title", "detail", "who")

Entry = dict[str, Any]
Row = Mapping[str, Any]


def _at(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time(), tzinfo=UTC)


def _entry(
    at: datetime | date, kind: str, title: str, detail: Any = None, who: Any = None
) -> Entry:
    return {"at": _at(at), "kind": kind, "title": title,
            "detail": str(detail) if detail not in (None, "") else None,
            "who": str(who) if who else None}  # fmt: skip


def activities(rows: Iterable[Row]) -> list[Entry]:
    """Meetings, calls, emails, notes and business reviews (kind = the activity's kind);
    tags follow the body in the detail."""
    result = []
    for r in rows:
        tags = r.get("tags") or []
        detail = " ".join(p for p in (r.get("body") or "", "".join(f"#{t} " for t in tags)) if p)
        result.append(_entry(r["occurred_at"], r["kind"], r.get("subject") or r["kind"],
                             detail.strip(), r.get("author")))  # fmt: skip
    return result


def tickets(rows: Iterable[Row]) -> list[Entry]:
    """A ticket opened, and closed when it was (with its CSAT)."""
    result = []
    for r in rows:
        name = f"ticket {r['ticket_id']}: {r.get('subject') or '(no subject)'}"
        priority = f"priority {r['priority']}" if r.get("priority") else None
        result.append(_entry(r["opened_at"], "ticket", f"opened {name}", priority))
        if r.get("closed_at") is not None:
            csat = f"CSAT {r['csat']}" if r.get("csat") is not None else None
            result.append(_entry(r["closed_at"], "ticket", f"closed {name}", csat))
    return result


def surveys(rows: Iterable[Row]) -> list[Entry]:
    """Survey answers: kind and score, the comment as detail."""
    return [_entry(r["responded_at"], "survey", f"{str(r['kind']).upper()} {r['score']}",
                   r.get("comment"), r.get("contact_id")) for r in rows]  # fmt: skip


def ctas(rows: Iterable[Row]) -> list[Entry]:
    """A CTA opened (with its reason), and closed with its outcome and reason."""
    result = []
    for r in rows:
        name = f"CTA {r['cta_id']} {r['title']} ({r['type']}, {r['priority']})"
        result.append(_entry(r["opened_on"], "cta", f"opened {name}", r.get("reason"),
                             r.get("owner")))  # fmt: skip
        if r.get("closed_on") is not None:
            outcome = r.get("outcome") or r.get("status")
            result.append(_entry(r["closed_on"], "cta", f"closed {name}: {outcome}",
                                 r.get("close_reason"), r.get("owner")))  # fmt: skip
    return result


def plan(plan: Row | None) -> list[Entry]:
    """The success plan's check-ins (progress in percent) and the milestones done."""
    if plan is None:
        return []
    title = plan.get("title") or "success plan"
    result = [_entry(c["held_on"], "checkin", f"check-in on {title}: {c['progress']:.0f}%",
                     c.get("notes")) for c in plan.get("checkins", [])]  # fmt: skip
    for m in plan.get("milestones", []):
        if m.get("completed_on") is not None:
            result.append(_entry(m["completed_on"], "milestone", f"milestone done: {m['title']}",
                                 f"{title}, {m.get('side')} side", m.get("owner")))  # fmt: skip
    return result


def messages(rows: Iterable[Row]) -> list[Entry]:
    """Emails, Slack messages and webhooks Keepwell sent about the account."""
    return [_entry(r["sent_at"], "message", f"{r['channel']} sent: {r['subject']}",
                   f"to {r['target']}" if r["channel"] == "email" else r.get("category"))
            for r in rows if r.get("sent_at") is not None]  # fmt: skip


def band_changes(history: Iterable[Row]) -> list[Entry]:
    """The health band's first value and each change between consecutive snapshots
    (history oldest first), with the score."""
    result = []
    previous: str | None = None
    for r in history:
        band = r.get("band")
        if band is None or band == previous:
            continue
        score = f"score {r['score']:.0f}" if r.get("score") is not None else "no score"
        title = f"health band {previous} -> {band}" if previous else f"health first scored {band}"
        result.append(_entry(r["as_of"], "band", title, score))
        previous = band
    return result


def _money(value: Any) -> str:
    return f"{Decimal(value).quantize(Decimal('0.01')):,}"


def renewals(rows: Iterable[Row]) -> list[Entry]:
    """Lines that came to their end: renewed, expanded, contracted or churned, with the
    MRR before and after."""
    return [_entry(r["ends_on"], "renewal", f"{r['product']} {r['outcome']}",
                   f"MRR {_money(r['expiring_mrr'])} -> {_money(r['successor_mrr'] or 0)}")
            for r in rows]  # fmt: skip


def _movement(prev: Decimal, curr: Decimal, paid_before: bool) -> str:
    if prev == 0:
        return "reactivation" if paid_before else "new business"
    if curr == 0:
        return "churn"
    return "expansion" if curr > prev else "contraction"


def revenue_changes(rows: Iterable[Row]) -> list[Entry]:
    """Months in which MRR changed (rows oldest first): new business, expansion,
    contraction, churn or reactivation, with the MRR before and after."""
    result = []
    paid_before = False
    for r in rows:
        prev, curr = Decimal(r["prev"]), Decimal(r["curr"])
        if prev != curr:
            title = f"{_movement(prev, curr, paid_before)} {r['month']:%Y-%m}"
            result.append(_entry(r["month"], "revenue", title,
                                 f"MRR {_money(prev)} -> {_money(curr)}"))  # fmt: skip
        paid_before = paid_before or curr > 0
    return result


def check_kinds(kinds: Collection[str] | None) -> set[str] | None:
    """The kinds asked for (None: all); :class:`InputError` naming an unknown one."""
    if not kinds:
        return None
    wanted = {k.strip().lower() for k in kinds}
    unknown = sorted(wanted - set(KINDS))
    if unknown:
        raise InputError(f"unknown timeline kind {unknown[0]!r}", hint=f"kinds: {', '.join(KINDS)}")
    return wanted


def select(
    entries: Iterable[Entry], kinds: Collection[str] | None, until: datetime, limit: int | None
) -> list[Entry]:
    """Entries of ``kinds`` (None: all) at or before ``until``, newest first (for one
    instant, in :data:`KINDS` order), at most ``limit`` (None: all)."""
    wanted = check_kinds(kinds)
    order = {k: i for i, k in enumerate(KINDS)}
    kept = [e for e in entries if (wanted is None or e["kind"] in wanted) and e["at"] <= until]
    kept.sort(key=lambda e: (-e["at"].timestamp(), order.get(e["kind"], len(order))))
    return kept if limit is None else kept[:limit]
