"""The customer's version of the review, shaped from the internal one (pure): the
baseline of an active-users objective from the data at the plan's start, peers only as
a percentile among at least 10, nothing internal kept."""

from __future__ import annotations

from datetime import date
from typing import Any

from keepwell.reports.customer import MIN_PEERS, customer_view


def _review(peers: int) -> dict[str, Any]:
    measures = [
        {"key": "arr", "percentile": 80.0, "median": 5000.0},
        {"key": "score", "percentile": 10.0, "median": 60.0},
        {"key": "active_users", "percentile": 70.0, "median": 40.0},
    ]
    return {
        "account": {"name": "Acme", "owner": "csm@vendor.example"},
        "as_of": date(2026, 10, 31), "period_start": date(2026, 8, 2),
        "usage": {"months": ["2026-04", "2026-05", "2026-06"], "events": {},
                  "peak_users": {"2026-04": 80, "2026-05": 94, "2026-06": 101}},
        "adoption": [], "health": {"band": "red", "score": 46, "segment": "high-touch"},
        "left": [{"name": "Sam", "role": "sponsor"}],
        "plan": {"title": "Success plan", "created_on": date(2026, 5, 10),
                 "objectives": [{"metric": "Weekly active users", "unit": "users",
                                 "baseline": 0.0, "target": 150.0, "current": 101.0,
                                 "due_on": date(2026, 12, 1)}],
                 "milestones": [{"title": "Kick-off", "side": "us", "owner": "csm@vendor.example",
                                 "due_on": date(2026, 5, 24), "status": "done"}]},
        "support": {"opened": 2, "closed": 1, "median_hours": 3.0, "urgent": 1},
        "renewal": {"next_renewal": date(2027, 1, 1), "active_lines": []},
        "peers": {"peers": peers, "segment": "high-touch", "measures": measures},
    }  # fmt: skip


def test_baseline_from_the_plans_start_and_nothing_internal() -> None:
    view = customer_view(_review(MIN_PEERS), [], {"summary": "Good quarter"})
    (objective,) = view["objectives"]
    assert objective["baseline"] == 94.0  # active users in the plan's first month, not 0
    assert objective["progress"] == (101 - 94) / (150 - 94)
    assert view["milestones"][0]["side"] == "our team"
    assert view["milestones"][0]["owner"] is None
    assert view["peers"]["measures"] == [
        {"label": "Active users, last 30 days", "percentile": 70.0}
    ]  # neither ARR, nor the health score, nor any median
    text = repr(view)
    for internal in ("red", "46", "high-touch", "Sam", "csm@vendor.example", "5000", "'median'"):
        assert internal not in text, internal


def test_peers_hidden_below_ten() -> None:
    view = customer_view(_review(MIN_PEERS - 1), [], {})
    assert view["peers"] == {"peers": MIN_PEERS - 1, "shown": False, "measures": []}
