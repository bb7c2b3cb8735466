"""Who a survey campaign asks on a day, and what the email says (pure).

Period: a campaign sent once has the single period ``once``; one repeated every
``every_days`` days has periods numbered from its creation day, ``p<n>`` with
n = (as_of - created_on) // every_days. A contact gets one email per period.
Throttling: a contact asked (by any campaign) on day d is not asked again on days
d .. d + throttle_days - 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from keepwell.core.errors import InputError


class SurveyKind(StrEnum):
    NPS = "nps"
    CSAT = "csat"


#: The scores of each kind, lowest first (the data contract's ranges).
SCALES: dict[str, range] = {SurveyKind.NPS: range(0, 11), SurveyKind.CSAT: range(1, 6)}
#: Days a survey link stays valid after it was sent.
LINK_DAYS = 30


@dataclass(frozen=True)
class Campaign:
    name: str
    kind: str
    question: str
    role: str | None
    segment: str | None
    every_days: int | None
    throttle_days: int
    created_on: date


def check_campaign(campaign: Campaign) -> None:
    """:class:`InputError` naming the field that is wrong."""
    if not campaign.name.strip() or len(campaign.name) > 100:
        raise InputError("a campaign needs a name of 1-100 characters")
    if campaign.kind not in SCALES:
        raise InputError(f"unknown survey kind {campaign.kind!r}", hint="nps or csat")
    if not campaign.question.strip():
        raise InputError(f"campaign {campaign.name!r}: the question is empty")
    if campaign.every_days is not None and campaign.every_days < 1:
        raise InputError(f"campaign {campaign.name!r}: every_days must be at least 1")
    if campaign.throttle_days < 0:
        raise InputError(f"campaign {campaign.name!r}: throttle_days must not be negative")


def period(campaign: Campaign, as_of: date) -> str | None:
    """The campaign's period on ``as_of`` (None before it starts)."""
    if as_of < campaign.created_on:
        return None
    if campaign.every_days is None:
        return "once"
    return f"p{(as_of - campaign.created_on).days // campaign.every_days}"


def send_key(campaign: str, contact_id: str, period_name: str) -> str:
    """The unique key of one send (also the outbox's dedupe key)."""
    return f"survey:{campaign}:{contact_id}:{period_name}"


def throttled(last_asked: date | None, as_of: date, throttle_days: int) -> bool:
    """Whether a contact last asked on ``last_asked`` may not be asked on ``as_of``."""
    return last_asked is not None and as_of - last_asked < timedelta(days=throttle_days)


def eligible(
    campaign: Campaign,
    contacts: Iterable[Mapping[str, Any]],
    segments: Mapping[str, str | None],
) -> list[Mapping[str, Any]]:
    """Active contacts with an email, of the campaign's role, at accounts of its segment
    (``segments``: account -> segment); one per address (the first)."""
    seen: set[str] = set()
    chosen = []
    for contact in contacts:
        email = str(contact.get("email") or "").strip().lower()
        if not email or "@" not in email or contact.get("is_active") is False:
            continue
        if campaign.role is not None and contact.get("role") != campaign.role:
            continue
        if campaign.segment is not None and segments.get(contact["account_id"]) != campaign.segment:
            continue
        if email not in seen:
            seen.add(email)
            chosen.append(contact)
    return chosen


def email_text(
    campaign: Campaign,
    *,
    contact_name: str | None,
    account_name: str,
    answer_url: str,
    unsubscribe_url: str,
) -> tuple[str, str]:
    """Subject and plain-text body of the survey email: one link per score (one click
    answers), the link to add a comment, and the unsubscribe link."""
    greeting = f"Hello {contact_name}," if contact_name else "Hello,"
    scores = "\n".join(f"  {s}: {answer_url}/{s}" for s in SCALES[campaign.kind])
    low, high = SCALES[campaign.kind][0], SCALES[campaign.kind][-1]
    body = (
        f"{greeting}\n\n{campaign.question}\n\nClick your score ({low} = lowest, {high} = "
        f"highest); one click records it:\n{scores}\n\nOr answer with a comment: "
        f"{answer_url}\n\nThe links work for {LINK_DAYS} days.\n\n"
        f"No more surveys: {unsubscribe_url}\n"
    )
    return f"{account_name}: a quick question", body


def detractor(kind: str, score: int, nps_detractor_max: int) -> bool:
    """An NPS answer up to ``nps_detractor_max`` (health's definition), a CSAT answer of
    1-2."""
    return score <= nps_detractor_max if kind == SurveyKind.NPS else score <= 2


def net_promoter(scores: Sequence[int], promoter_min: int, detractor_max: int) -> float | None:
    """NPS of ``scores`` (0-10): percent promoters (>= ``promoter_min``) minus percent
    detractors (<= ``detractor_max``), -100..100; None without answers."""
    if not scores:
        return None
    promoters = sum(s >= promoter_min for s in scores)
    detractors = sum(s <= detractor_max for s in scores)
    return 100.0 * (promoters - detractors) / len(scores)


def quarter(day: date) -> str:
    """``2026-Q3`` for a day of July-September 2026."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def latest_per_respondent(answers: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Each respondent's latest answer (respondent: the contact, else the response)."""
    latest: dict[tuple[str, str], Mapping[str, Any]] = {}
    for a in answers:
        key = (str(a["account_id"]), str(a.get("contact_id") or a["response_id"]))
        if key not in latest or a["responded_at"] > latest[key]["responded_at"]:
            latest[key] = a
    return list(latest.values())


def check_score(kind: str, score: int) -> None:
    scale = SCALES[kind]
    if score not in scale:
        raise InputError(f"a {kind} score is {scale[0]}-{scale[-1]}, got {score}")
