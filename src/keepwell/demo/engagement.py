"""Support tickets, surveys and the CSM timeline (activities), driven by the latent
engagement ``h`` and sentiment ``s`` of :mod:`keepwell.demo.lifecycle`.

- Tickets: Poisson per account-month with mean ``0.1 sqrt(seats) exp(-0.5 h)``, plus
  one urgent ticket rated 1-2 for every ``support_incident`` shock. Urgent/high shares
  grow as engagement falls; 55% of closed tickets carry a CSAT ``4.2 + 0.3 h + 0.6 s``
  (+ noise).
- Surveys: NPS campaigns every March and September; each active contact answers with
  probability 0.35, score ``7.2 + 0.9 h + 1.8 s`` (+ noise, 0-10). CSAT ``4.0 + 0.3 h +
  0.7 s`` after 60% of reviews.
- Activities: meetings, calls, emails and notes at segment rates, quarterly business
  reviews (enterprise) and half-yearly ones (mid-market), notes on sponsor and champion
  departures and escalations (tagged ``risk``), concerns raised after a churn decision
  (half the time), ``reference`` on healthy accounts, and on 10% of meetings, calls and
  notes a feature request the customer raised: the subject names the feature (from
  :data:`FEATURE_REQUESTS`, the first ones asked most: index ``n u^2`` for a uniform
  ``u``), the body quotes the customer; tagged ``feature_request``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from keepwell.demo.catalog import Segment
from keepwell.demo.firms import Firms
from keepwell.demo.lifecycle import Lifecycle, sig
from keepwell.demo.people import Person, contact_ids
from keepwell.demo.table import Table
from keepwell.demo.timeline import Timeline

TICKET_COLUMNS = (
    "ticket_id",
    "account_id",
    "opened_at",
    "closed_at",
    "priority",
    "csat",
    "subject",
)
SURVEY_COLUMNS = (
    "response_id",
    "account_id",
    "contact_id",
    "responded_at",
    "kind",
    "score",
    "comment",
)
ACTIVITY_COLUMNS = (
    "activity_id",
    "account_id",
    "occurred_at",
    "kind",
    "author",
    "subject",
    "body",
    "tags",
)
SALES_REP = "jordan.reed@keepwell-demo.example"
RESOLUTION_HOURS = {"urgent": 6.0, "high": 20.0, "normal": 40.0, "low": 90.0}
TICKET_SUBJECTS = {
    "urgent": (
        "Production outage: dashboards not loading",
        "Data sync stopped for all users",
        "Cannot log in (SSO)",
    ),
    "high": (
        "Integration failing intermittently",
        "Report totals do not match source",
        "Slow dashboard loads",
    ),
    "normal": (
        "How do I share a dashboard?",
        "Question about user permissions",
        "Export formatting issue",
    ),
    "low": (
        "Feature question: scheduled reports",
        "Typo in email template",
        "Request for invoice copy",
    ),
}
ACTIVITY_RATES = {  # kind -> monthly rate for (SMB, mid-market, enterprise)
    "meeting": (0.04, 0.25, 0.8),
    "call": (0.08, 0.3, 0.6),
    "email": (0.15, 0.5, 1.2),
    "note": (0.04, 0.1, 0.3),
}
ACTIVITY_TEXT = {
    "meeting": ("Working session", "Walked through the roadmap and open questions."),
    "call": ("Check-in call", "Reviewed adoption and upcoming priorities."),
    "email": ("Follow-up", "Sent resources and next steps after our conversation."),
    "note": ("Account note", "Internal note on account status."),
    "business_review": (
        "Business review",
        "Reviewed outcomes, usage trends and goals for next quarter.",
    ),
}
#: Features the demo's customers ask for, most asked first, each with what they said.
FEATURE_REQUESTS: tuple[tuple[str, tuple[str, str]], ...] = (
    ("Single sign-on with Okta", ("Our IT team will not roll it out wider without SSO.",
                                  "Managing passwords for 40 people is a pain.")),
    ("Export reports to Excel", ("Finance wants the monthly numbers in a spreadsheet.",
                                 "We copy tables by hand into Excel every week.")),
    ("Salesforce integration", ("Our reps live in Salesforce and never open a second tool.",
                                "We need the account data synced both ways.")),
    ("Custom user roles", ("Contractors should see their projects only.",
                           "We need a read-only role for auditors.")),
    ("Audit log export", ("Compliance asks for a yearly export of every change.",
                          "Our SOC 2 auditor wants the access history.")),
    ("Mobile app", ("Field staff need it on their phones.",
                    "Approvals get stuck while managers travel.")),
    ("Slack notifications", ("Alerts by email get lost; the team lives in Slack.",
                             "A Slack message when a report is ready would help.")),
    ("Dark mode", ("Half the team works at night.", "The white screen is hard on the eyes.")),
    ("Bulk user import from CSV", ("Adding 200 users one by one took a day.",
                                   "We onboard a new class every semester.")),
    ("Data residency in the EU", ("Legal requires our data to stay in the EU.",
                                  "Our German entity cannot sign without it.")),
)  # fmt: skip
MARK_TEXT = {  # mark kind -> (activity kind, subject, body, tags)
    "sponsor_left": (
        "note",
        "Executive sponsor left",
        "Our sponsor has left the company; need a new one.",
        ["risk"],
    ),
    "champion_left": (
        "note",
        "Champion left",
        "Main champion moved on; re-establish contacts.",
        ["risk"],
    ),
    "support_incident": (
        "note",
        "Support escalation",
        "Escalated a severe incident; customer frustrated.",
        ["risk"],
    ),
    "exec_alignment": (
        "meeting",
        "Executive alignment",
        "Met their leadership; strong alignment on goals.",
        [],
    ),
    "expansion": ("email", "Expansion order", "Confirmed additional seats.", []),
    "churn_decision": (
        "call",
        "Renewal concerns",
        "Customer questioned the value ahead of renewal.",
        ["risk"],
    ),
}
COMMENTS = {
    "promoter": ("Great product, the team relies on it daily.", "Support is fast and helpful."),
    "passive": (
        "Does the job; reporting could be more flexible.",
        "Good, but onboarding new users is slow.",
    ),
    "detractor": (
        "Too expensive for what we use.",
        "Reliability problems hurt our team.",
        "Hard to get adoption.",
    ),
}
NPS_RESPONSE = 0.35  # chance an active contact answers an NPS campaign
SEGMENT_INDEX = {Segment.SMB: 0, Segment.MID: 1, Segment.ENT: 2}


def _numbered(
    prefix: str, rows: list[tuple[object, ...]], columns: tuple[str, ...], when: int
) -> Table:
    """Rows (in column order, without the key) sorted by time then content, numbered."""
    rows.sort(key=lambda row: (str(row[when]), repr(row)))
    return Table(columns, [(f"{prefix}-{i + 1:06d}", *row) for i, row in enumerate(rows)])


def _when(rng: np.random.Generator, timeline: Timeline, lo: int, hi: int) -> datetime:
    return timeline.timestamp(
        int(rng.integers(lo, max(hi, lo + 1))), (8.0 + 9.0 * rng.random()) * 3600.0
    )


def _priority(rng: np.random.Generator, h: float) -> str:
    r = rng.random()
    urgent = 0.03 + 0.12 * sig(-2.0 * h - 1.5)
    high = urgent + 0.12 + 0.10 * sig(-2.0 * h)
    return "urgent" if r < urgent else "high" if r < high else "low" if r < high + 0.3 else "normal"


def _ticket(
    rng: np.random.Generator,
    timeline: Timeline,
    a_id: str,
    opened: datetime,
    hs: tuple[float, float],
    prio: str,
    incident: bool,
) -> tuple[object, ...]:
    h, s = hs
    hours = (
        RESOLUTION_HOURS[prio]
        * float(np.exp(0.8 * rng.standard_normal()))
        * (1 + 0.5 * sig(-2 * h))
    )
    closed: datetime | None = opened + timedelta(hours=hours)
    end = datetime(timeline.end.year, timeline.end.month, timeline.end.day, tzinfo=opened.tzinfo)
    closed = closed.replace(microsecond=0) if closed is not None and closed < end else None
    csat: int | None = None
    if incident and closed is not None:
        csat = int(rng.integers(1, 3))
    elif closed is not None and rng.random() < 0.55:
        noisy = 4.2 + 0.3 * h + 0.6 * s - 0.4 * (prio in ("high", "urgent"))
        noisy += 0.9 * rng.standard_normal()
        csat = int(np.clip(round(noisy), 1, 5))
    subjects = TICKET_SUBJECTS[prio]
    return (a_id, opened, closed, prio, csat, subjects[int(rng.integers(len(subjects)))])


def tickets_table(
    rng: np.random.Generator, firms: Firms, life: Lifecycle, timeline: Timeline
) -> Table:
    """The tickets entity (keys ``TCK-nnnnnn`` in order of opening)."""
    active = life.use_hi > life.use_lo
    health, mood = np.nan_to_num(life.health), np.nan_to_num(life.sentiment)
    counts = rng.poisson(0.1 * np.sqrt(life.seats) * np.exp(-0.5 * health) * active)
    incidents = {(mk.account, mk.month) for mk in life.marks if mk.kind == "support_incident"}
    rows: list[tuple[object, ...]] = []
    for a, m in sorted(set(zip(*np.nonzero(counts), strict=True)) | incidents):
        a, m = int(a), int(m)
        if not active[a, m]:
            continue
        lo, hi, h = int(life.use_lo[a, m]), int(life.use_hi[a, m]), float(health[a, m])
        for k in range(int(counts[a, m]) + int((a, m) in incidents)):
            incident = k == counts[a, m]
            prio = "urgent" if incident else _priority(rng, h)
            rows.append(
                _ticket(
                    rng,
                    timeline,
                    firms.account_id[a],
                    _when(rng, timeline, lo, hi),
                    (h, float(mood[a, m])),
                    prio,
                    incident,
                )
            )
    return _numbered("TCK", rows, TICKET_COLUMNS, 1)


def _activity(
    kind: str, subject: str, body: str, tags: list[str]
) -> tuple[str, str, str, list[str]]:
    return kind, subject, body, tags


def _regular(rng: np.random.Generator, kind: str, h: float) -> tuple[str, str, str, list[str]]:
    subject, body = ACTIVITY_TEXT[kind]
    tags = []
    if kind != "email" and (u := rng.random() / 0.1) < 1.0:  # one draw, as before
        title, quotes = FEATURE_REQUESTS[int(len(FEATURE_REQUESTS) * u * u)]
        subject, body = title, f'"{quotes[int(u * 1000) % len(quotes)]}"'
        tags.append("feature_request")
    if h < -1.0 and rng.random() < 0.4:
        tags.append("risk")
    if kind in ("meeting", "business_review") and h > 0.8 and rng.random() < 0.2:
        tags.append("reference")
    return _activity(kind, subject, body, tags)


def _review_due(firms: Firms, a: int, m: int) -> bool:
    age = m - int(firms.start_month[a])
    seg = firms.segment[a]
    return (seg is Segment.ENT and age % 3 == 2) or (seg is Segment.MID and age % 6 == 5)


def activities_table(
    rng: np.random.Generator, firms: Firms, life: Lifecycle, timeline: Timeline
) -> tuple[Table, list[tuple[int, datetime]]]:
    """The activities entity and the (account, time) of every business review."""
    active = life.use_hi > life.use_lo
    seg = np.array([SEGMENT_INDEX[s] for s in firms.segment])
    counts = {k: rng.poisson(np.array(r)[seg][:, None] * active) for k, r in ACTIVITY_RATES.items()}
    marks: dict[tuple[int, int], list[str]] = {}
    for mk in life.marks:
        if mk.kind in MARK_TEXT and (mk.kind != "churn_decision" or rng.random() < 0.5):
            marks.setdefault((mk.account, mk.month), []).append(mk.kind)
    rows: list[tuple[object, ...]] = []
    reviews: list[tuple[int, datetime]] = []
    for a, m in zip(*np.nonzero(active), strict=True):
        a, m = int(a), int(m)
        lo, hi = int(life.use_lo[a, m]), int(life.use_hi[a, m])
        h = float(life.health[a, m] + life.sentiment[a, m])
        items = [_regular(rng, k, h) for k in ACTIVITY_RATES for _ in range(int(counts[k][a, m]))]
        items += [_activity(*MARK_TEXT[kind]) for kind in marks.get((a, m), [])]
        if _review_due(firms, a, m):
            items.append(_regular(rng, "business_review", h))
        for kind, subject, body, tags in items:
            when = _when(rng, timeline, lo, hi)
            rows.append((firms.account_id[a], when, kind, firms.owner[a], subject, body, tags))
            if kind == "business_review":
                reviews.append((a, when))
    for a in np.flatnonzero(firms.is_prospect):
        day = timeline.day_index(firms.created_at[int(a)])
        for _ in range(int(rng.integers(1, 5))):
            kind = ("call", "email", "meeting")[int(rng.integers(3))]
            when = _when(rng, timeline, day, min(day + 60, timeline.days))
            rows.append(
                (
                    firms.account_id[int(a)],
                    when,
                    kind,
                    SALES_REP,
                    "Discovery",
                    "Evaluating a purchase.",
                    [],
                )
            )
    table = _numbered("ACT", rows, ACTIVITY_COLUMNS, 1)
    return table, reviews


def _nps_comment(rng: np.random.Generator, score: int) -> str | None:
    band = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
    options = COMMENTS[band]
    return options[int(rng.integers(len(options)))] if rng.random() < 0.4 else None


def surveys_table(
    rng: np.random.Generator,
    firms: Firms,
    life: Lifecycle,
    timeline: Timeline,
    people: list[Person],
    reviews: list[tuple[int, datetime]],
) -> Table:
    """The surveys entity: NPS campaigns (March, September) and CSAT after reviews."""
    ids = contact_ids(people)
    by_account: dict[int, list[int]] = {}
    for i, p in enumerate(people):
        by_account.setdefault(p.account, []).append(i)
    rows: list[tuple[object, ...]] = []
    for m in range(timeline.months):
        if timeline.month_start(m).month not in (3, 9):
            continue
        for a in (int(x) for x in np.flatnonzero(life.use_hi[:, m] > life.use_lo[:, m])):
            lo, hi, h = int(life.use_lo[a, m]), int(life.use_hi[a, m]), float(life.health[a, m])
            s = float(life.sentiment[a, m])
            day = timeline.start + timedelta(days=lo)
            for i in by_account.get(int(a), []):
                if (
                    people[i].role == "billing"
                    or not people[i].active_on(day)
                    or rng.random() >= NPS_RESPONSE
                ):
                    continue
                noisy = 7.2 + 0.9 * h + 1.8 * s + 1.4 * rng.standard_normal()
                score = int(np.clip(round(noisy), 0, 10))
                when = _when(rng, timeline, lo, hi)
                rows.append(
                    (firms.account_id[a], ids[i], when, "nps", score, _nps_comment(rng, score))
                )
    for a, when in reviews:
        leads = [i for i in by_account.get(a, []) if people[i].role in ("sponsor", "champion")]
        if not leads or rng.random() >= 0.6:
            continue
        m = min(timeline.month_of(when.date()), timeline.months - 1)
        h, s = float(np.nan_to_num(life.health[a, m])), float(np.nan_to_num(life.sentiment[a, m]))
        score = int(np.clip(round(4.0 + 0.3 * h + 0.7 * s + 0.7 * rng.standard_normal()), 1, 5))
        answered = when + timedelta(days=int(rng.integers(1, 6)))
        if answered.date() < timeline.end:
            lead = ids[leads[int(rng.integers(len(leads)))]]
            rows.append((firms.account_id[a], lead, answered, "csat", score, None))
    return _numbered("SRV", rows, SURVEY_COLUMNS, 2)
