"""A hand-made ledger for the team tests: two industries (the "segments" A and B), two
CSMs in two teams, and a March 2025 in which A's logo churn doubles while B's stays flat.

A: 20 accounts of 100 a month from 2024 (ann@example.com); in February 2025 two leave and two new
ones start, in March four leave. B: 10 accounts of 100 (bob@example.com); one leaves and one
starts in February, one leaves in March. So February's logo churn is 2/20 and 1/10
(3/30 = 10 %), March's 4/20 and 1/10 (5/30 = 16.67 %): +1/15, all of it A's rate.
"""

from __future__ import annotations

from datetime import date

from keepwell.core.workspace import Workspace
from keepwell.team import service
from tests.web.helpers import load

AS_OF = date(2025, 3, 31)


def _account(account_id: str, industry: str, owner: str) -> dict[str, str]:
    return {"account_id": account_id, "name": account_id.upper(), "industry": industry,
            "owner": owner, "country": "DE"}  # fmt: skip


def _line(account_id: str, starts: str, ends: str | None = None) -> dict[str, str]:
    return {"line_id": f"l-{account_id}", "account_id": account_id, "product": "core",
            "mrr": "100", "starts_on": starts, "ends_on": ends or ""}  # fmt: skip


def load_ledger(ws: Workspace) -> None:
    a = [f"a{i:02d}" for i in range(22)]
    b = [f"b{i:02d}" for i in range(11)]
    load(ws, "accounts", [_account(x, "A", "ann@example.com") for x in a]
         + [_account(x, "B", "bob@example.com") for x in b])  # fmt: skip
    lines = []
    for i, x in enumerate(a):
        if i in (20, 21):
            lines.append(_line(x, "2025-02-01"))
        elif i in (0, 1):
            lines.append(_line(x, "2024-01-01", "2025-02-15"))
        elif i in (2, 3, 4, 5):
            lines.append(_line(x, "2024-01-01", "2025-03-10"))
        else:
            lines.append(_line(x, "2024-01-01", "2026-01-01"))
    for i, x in enumerate(b):
        ends = {0: "2025-02-15", 1: "2025-03-10"}.get(i, "2026-01-01")
        lines.append(_line(x, "2025-02-01") if i == 10 else _line(x, "2024-01-01", ends))
    load(ws, "subscriptions", lines)
    service.add_team(
        ws, "ta", "Team A", manager="mgr@example.com", segment="A", accounts_per_csm=20
    )
    service.add_team(ws, "tb", "Team B", segment="B")
    service.add_csm(ws, "ann@example.com", "ta", capacity_accounts=15)
    service.add_csm(ws, "bob@example.com", "tb", capacity_accounts=20)
