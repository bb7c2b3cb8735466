"""Response rate and NPS by segment with its quarterly trend, and the pure pieces."""

from __future__ import annotations

from datetime import UTC, date, datetime

from keepwell.core.workspace import Workspace
from keepwell.voice import campaigns, service
from tests.voice.conftest import load


def test_net_promoter_quarter_and_latest_answer_per_respondent() -> None:
    assert campaigns.net_promoter([10, 9, 3, 7], 9, 6) == 25.0
    assert campaigns.net_promoter([], 9, 6) is None
    assert (campaigns.quarter(date(2026, 9, 30)), campaigns.quarter(date(2026, 10, 1))) == (
        "2026-Q3", "2026-Q4")  # fmt: skip
    t = datetime(2026, 1, 1, tzinfo=UTC)
    answers = [
        {"account_id": "A", "contact_id": "c1", "response_id": "r1", "responded_at": t},
        {
            "account_id": "A",
            "contact_id": "c1",
            "response_id": "r2",
            "responded_at": t.replace(month=2),
        },
        {"account_id": "A", "contact_id": None, "response_id": "r3", "responded_at": t},
    ]
    assert sorted(a["response_id"] for a in campaigns.latest_per_respondent(answers)) == [
        "r2",
        "r3",
    ]


def test_summary_by_segment_with_trend(sqlite_workspace: Workspace) -> None:
    from tests.voice.conftest import load_company

    ws = sqlite_workspace
    load_company(ws)
    load(ws, "surveys", [
        {"response_id": "r1", "account_id": "A", "contact_id": "c1", "kind": "nps", "score": "10",
         "responded_at": "2026-10-05T10:00:00Z"},
        {"response_id": "r2", "account_id": "A", "contact_id": "c2", "kind": "nps", "score": "3",
         "responded_at": "2026-10-06T10:00:00Z"},
        {"response_id": "r3", "account_id": "A", "contact_id": "c2", "kind": "nps", "score": "9",
         "responded_at": "2026-11-06T10:00:00Z"},
        {"response_id": "r4", "account_id": "B", "contact_id": "c6", "kind": "nps", "score": "0",
         "responded_at": "2026-05-06T10:00:00Z"},
        {"response_id": "r5", "account_id": "B", "contact_id": "c6", "kind": "csat", "score": "1",
         "responded_at": "2026-11-06T10:00:00Z"},
    ])  # fmt: skip
    summary = service.survey_summary(ws, date(2026, 11, 30))
    assert summary["quarters"] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    (everyone,) = [r for r in summary["segments"] if r["segment"] == "all"]
    # Q4: c1 10, c2's latest 9 -> 100; Q2: B's 0 -> -100; the last 90 days: A's two
    assert everyone["trend"] == {"2026-Q1": None, "2026-Q2": -100.0, "2026-Q3": None,
                                 "2026-Q4": 100.0}  # fmt: skip
    assert (everyone["nps_90d"], everyone["answers_90d"]) == (100.0, 2)
    assert (everyone["sent"], everyone["response_rate"]) == (0, None)
