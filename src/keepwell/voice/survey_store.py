"""Survey campaigns in the store: define them, queue each period's emails through the
notification outbox exactly once, and record answers as ``surveys`` rows (the table
imports feed), so they reach the timeline, health and the rules like imported ones."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.contract import service as contract_service
from keepwell.core.audit import record_audit
from keepwell.core.database import insert_once, transaction
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from keepwell.notify import service as notify_service
from keepwell.voice import campaigns, links
from keepwell.voice.campaigns import Campaign
from keepwell.voice.errors import LinkGoneError, LinkInvalidError
from keepwell.voice.models import SurveyCampaign, SurveySend


def define_campaign(workspace: Workspace, campaign: Campaign) -> None:
    """Create or replace the campaign ``campaign.name`` (its sends are kept)."""
    campaigns.check_campaign(campaign)
    with transaction(workspace.engine) as session:
        row = session.get(SurveyCampaign, campaign.name) or SurveyCampaign(name=campaign.name)
        row.kind, row.question, row.role = campaign.kind, campaign.question, campaign.role
        row.segment, row.every_days = campaign.segment, campaign.every_days
        row.throttle_days, row.created_on, row.active = (
            campaign.throttle_days, campaign.created_on, True,
        )  # fmt: skip
        session.add(row)
        record_audit(session, action="survey.campaign", target=campaign.name,
                     after={"kind": campaign.kind, "role": campaign.role,
                            "segment": campaign.segment, "every_days": campaign.every_days,
                            "throttle_days": campaign.throttle_days})  # fmt: skip


def _campaign(row: SurveyCampaign) -> Campaign:
    return Campaign(row.name, row.kind, row.question, row.role, row.segment, row.every_days,
                    row.throttle_days, row.created_on)  # fmt: skip


def list_campaigns(workspace: Workspace) -> list[dict[str, Any]]:
    """Every campaign with its sends and answers so far and its response rate (answers
    / sends, percent; None before the first send)."""
    counts = sa.select(
        SurveySend.campaign, sa.func.count(), sa.func.count(SurveySend.answered_at)
    ).group_by(SurveySend.campaign)
    with Session(workspace.engine) as session:
        sent = {name: (int(s), int(a)) for name, s, a in session.execute(counts)}
        rows = session.execute(sa.select(SurveyCampaign).order_by(SurveyCampaign.name)).scalars()
        result = []
        for row in rows:
            sends, answers = sent.get(row.name, (0, 0))
            rate = None if not sends else 100.0 * answers / sends
            result.append({**vars(_campaign(row)), "active": row.active, "sends": sends,
                           "answers": answers, "response_rate": rate})  # fmt: skip
        return result


def _lock_address(session: Session, email: str) -> None:
    """Serialise survey decisions per address until the transaction ends (PostgreSQL;
    SQLite has one writer at a time)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext("voice:" + email)))
        )


def _last_asked(session: Session, email: str) -> date | None:
    query = sa.select(sa.func.max(SurveySend.sent_on)).where(SurveySend.email == email)
    value: date | None = session.execute(query).scalar_one_or_none()
    return value


def run_campaigns(workspace: Workspace, as_of: date, settings: Settings) -> dict[str, int]:
    """Queue the survey emails due on ``as_of``: for each active campaign, one per
    eligible contact and period, skipping unsubscribed addresses and contacts asked
    (by any campaign) within the campaign's ``throttle_days``. Safe to run in several
    processes at once (a send's key is unique; each address is decided under a lock).
    Counts: queued, throttled, unsubscribed, already (sent this period before)."""
    counts = {"queued": 0, "throttled": 0, "unsubscribed": 0, "already": 0}
    with Session(workspace.engine) as session:
        active = [_campaign(c) for c in session.execute(
            sa.select(SurveyCampaign).where(SurveyCampaign.active.is_(True))
            .order_by(SurveyCampaign.name)).scalars()]  # fmt: skip
    if not active:
        return counts
    secret = settings.check().secret_key.get_secret_value()  # it signs the links
    contacts = contract_service.read_table(workspace, "contacts").to_pylist()
    accounts = {a["account_id"]: a for a in contract_service.read_table(workspace, "accounts")
                .select(["account_id", "name", "is_prospect"]).to_pylist()}  # fmt: skip
    contacts = [c for c in contacts if not (accounts.get(c["account_id"]) or {}).get("is_prospect")]
    segments: Mapping[str, str | None] = {}
    if any(c.segment for c in active):
        segments = health_service.account_groups(workspace, "segment", as_of)
    for campaign in active:
        name = campaigns.period(campaign, as_of)
        if name is None:
            continue
        for contact in campaigns.eligible(campaign, contacts, segments):
            outcome = _send_one(workspace, campaign, name, contact, accounts, as_of, settings,
                                secret)  # fmt: skip
            counts[outcome] += 1
    return counts


def _send_one(
    workspace: Workspace,
    campaign: Campaign,
    period_name: str,
    contact: Mapping[str, Any],
    accounts: Mapping[str, Mapping[str, Any]],
    as_of: date,
    settings: Settings,
    secret: str,
) -> str:
    email = str(contact["email"]).strip().lower()
    key = campaigns.send_key(campaign.name, str(contact["contact_id"]), period_name)
    with transaction(workspace.engine) as session:
        _lock_address(session, email)
        if session.execute(sa.select(SurveySend.id).where(SurveySend.send_key == key)).first():
            return "already"
        if notify_service.is_unsubscribed(session, email):
            return "unsubscribed"
        if campaigns.throttled(_last_asked(session, email), as_of, campaign.throttle_days):
            return "throttled"
        send_id = insert_once(session, SurveySend, {
            "send_key": key, "campaign": campaign.name, "account_id": contact["account_id"],
            "contact_id": contact["contact_id"], "email": email, "sent_on": as_of,
            "expires_on": as_of + timedelta(days=campaigns.LINK_DAYS)}, "send_key",
            returning="id")  # fmt: skip
        if send_id is None:
            return "already"
        base = settings.base_url.rstrip("/")
        answer_url = f"{base}/s/{links.survey_token(int(send_id), secret)}"
        unsubscribe = notify_service.unsubscribe_url(base, email, secret)
        account_name = str(accounts[contact["account_id"]]["name"])
        subject, body = campaigns.email_text(
            campaign, contact_name=contact.get("name"), account_name=account_name,
            answer_url=answer_url, unsubscribe_url=unsubscribe,
        )  # fmt: skip
        notify_service.enqueue(
            session, channel="email", target=email, subject=subject, body=body, dedupe_key=key,
            account_id=str(contact["account_id"]),
            payload={"unsubscribe_url": unsubscribe, "campaign": campaign.name},
        )  # fmt: skip
        return "queued"


def _open_send(session: Session, token: str, secret: str, now: datetime) -> SurveySend:
    send = session.get(SurveySend, links.read_survey_token(token, secret))
    if send is None:
        raise LinkInvalidError("this survey link is not valid")
    if now.date() > send.expires_on:
        raise LinkGoneError("this survey has closed", hint="thank you all the same")
    return send


def survey_view(workspace: Workspace, token: str, secret: str, now: datetime) -> dict[str, Any]:
    """What the public answer page shows: the question, the scale, the answer so far."""
    with Session(workspace.engine) as session:
        send = _open_send(session, token, secret, now)
        campaign = session.get(SurveyCampaign, send.campaign)
        if campaign is None:
            raise LinkGoneError("this survey has closed")
        scale = campaigns.SCALES[campaign.kind]
        return {"question": campaign.question, "kind": campaign.kind,
                "scores": list(scale), "score": send.score}  # fmt: skip


def response_id(send_id: int) -> str:
    """The ``surveys`` row of the answer to send ``send_id``."""
    return f"kw-survey-{send_id}"


def answer(
    workspace: Workspace,
    token: str,
    secret: str,
    now: datetime,
    score: int,
    comment: str | None,
) -> dict[str, Any]:
    """Record the answer of the link ``token`` (see :func:`record_answer`)."""
    with Session(workspace.engine) as session:
        send_id = _open_send(session, token, secret, now).id
    return record_answer(workspace, send_id, now, score, comment)


def record_answer(
    workspace: Workspace, send_id: int, now: datetime, score: int, comment: str | None
) -> dict[str, Any]:
    """Record the answer to send ``send_id``: one ``surveys`` row per send (answering
    again updates it: the latest answer counts). A comment of None keeps the one given."""
    comment = (comment or "").strip()[:2000] or None
    with transaction(workspace.engine) as session:
        send = session.get(SurveySend, send_id)
        campaign = None if send is None else session.get(SurveyCampaign, send.campaign)
        if send is None or campaign is None:
            raise NotFoundError(f"no survey send {send_id}")
        campaigns.check_score(campaign.kind, score)
        send.score, send.answered_at = score, now
        row = {"response_id": response_id(send.id), "account_id": send.account_id,
               "contact_id": send.contact_id, "responded_at": now, "kind": campaign.kind,
               "score": score}  # fmt: skip
        kind, account_id = campaign.kind, send.account_id
    if comment is not None:
        row["comment"] = comment
    else:
        row["comment"] = _earlier_comment(workspace, account_id, str(row["response_id"]))
    report = contract_service.load_rows(workspace, "surveys", [row])
    if report.rejected:
        raise InputError(f"the answer was not saved: {report.examples[0].reason}")
    bad = campaigns.detractor(kind, score, health_service.DETRACTOR_MAX)
    return {"kind": kind, "score": score, "comment": row["comment"], "detractor": bad}


def list_sends(
    workspace: Workspace, campaign: str | None = None, *, account_id: str | None = None
) -> list[dict[str, Any]]:
    """Survey sends (of ``campaign``, of ``account_id``), oldest first, with answers."""
    query = sa.select(SurveySend).order_by(SurveySend.id)
    if campaign is not None:
        query = query.where(SurveySend.campaign == campaign)
    if account_id is not None:
        query = query.where(SurveySend.account_id == account_id)
    with Session(workspace.engine) as session:
        return [{"send_id": s.id, "campaign": s.campaign, "account_id": s.account_id,
                 "contact_id": s.contact_id, "email": s.email, "sent_on": s.sent_on,
                 "score": s.score, "answered_at": s.answered_at}
                for s in session.execute(query).scalars()]  # fmt: skip


def _earlier_comment(workspace: Workspace, account_id: str, rid: str) -> str | None:
    rows = contract_service.read_table(workspace, "surveys", account_id=account_id).to_pylist()
    return next((r.get("comment") for r in rows if r["response_id"] == rid), None)


def survey_summary(workspace: Workspace, as_of: date, quarters: int = 4) -> dict[str, Any]:
    """Response rate of the survey emails sent up to ``as_of`` and NPS (imported answers
    too) by segment (the account's segment on ``as_of``): over the 90 days up to
    ``as_of`` and per calendar quarter for the last ``quarters`` quarters (the trend);
    in each window a respondent's latest answer counts."""
    segments = health_service.account_groups(workspace, "segment", as_of)
    rates: dict[str, list[int]] = {}
    for send in list_sends(workspace):
        if send["sent_on"] <= as_of:
            seen = rates.setdefault(segments.get(send["account_id"], "unscored"), [0, 0])
            seen[0] += 1
            seen[1] += send["answered_at"] is not None
    answers = [a for a in contract_service.read_table(workspace, "surveys").to_pylist()
               if a["kind"] == "nps" and a["responded_at"].date() <= as_of]  # fmt: skip
    first = date(as_of.year, 3 * ((as_of.month - 1) // 3) + 1, 1)
    periods = [campaigns.quarter(first)]
    while len(periods) < quarters:
        first = date(first.year - (first.month == 1), (first.month - 4) % 12 + 1, 1)
        periods.insert(0, campaigns.quarter(first))
    recent = as_of - timedelta(days=90)
    groups = sorted({segments.get(a["account_id"], "unscored") for a in answers} | set(rates))
    rates["all"] = [sum(r[0] for r in rates.values()), sum(r[1] for r in rates.values())]
    rows = []
    for group in [*groups, "all"]:
        mine = [a for a in answers if group in ("all", segments.get(a["account_id"], "unscored"))]
        rows.append(_summary_row(group, rates.get(group, [0, 0]), mine, recent, periods))
    return {"as_of": as_of, "quarters": periods, "segments": rows}


def _summary_row(
    group: str, rate: list[int], answers: list[dict[str, Any]], recent: date, periods: list[str]
) -> dict[str, Any]:
    sent, answered = rate
    latest = [a for a in answers if a["responded_at"].date() > recent]
    trend = {p: _nps([a for a in answers if campaigns.quarter(a["responded_at"].date()) == p])
             for p in periods}  # fmt: skip
    return {"segment": group, "sent": sent, "answered": answered,
            "response_rate": None if not sent else 100.0 * answered / sent,
            "nps_90d": _nps(latest), "trend": trend,
            "answers_90d": len(campaigns.latest_per_respondent(latest))}  # fmt: skip


def _nps(answers: list[dict[str, Any]]) -> float | None:
    latest = campaigns.latest_per_respondent(answers)
    scores = [int(a["score"]) for a in latest]
    return campaigns.net_promoter(scores, health_service.PROMOTER_MIN, health_service.DETRACTOR_MAX)
