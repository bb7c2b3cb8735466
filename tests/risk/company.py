"""A small synthetic company whose churn signal is known, loaded through the contract.

Accounts start from July 2023 to June 2025 (three a month); every third is *doomed*: its product
usage fades over the 120 days before its first or second anniversary, it has no
sponsor, it is mostly in Retail, and it does not renew. The others renew every year
and keep using the product. Doomed accounts carry a planted future-only attribute,
``cancelled_on`` (their churn day), that the leakage guard must exclude.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from keepwell.contract.service import load_rows
from keepwell.core.workspace import Workspace
from keepwell.risk.terms import next_anniversary

END = date(2026, 3, 31)
FIRST_MONTH = "2024-01"
ACCOUNTS = 72
PROSPECTS = 4
OWNERS = ("ann@example.com", "bob@example.com")


def _start(i: int) -> date:
    months = 6 + i % 24  # from July 2023
    return date(2023 + months // 12, months % 12 + 1, 1 + i % 20)


def is_doomed(i: int) -> bool:
    return i % 3 == 0


def churn_day(i: int) -> date | None:
    """The anniversary the account does not renew (None: it always renews)."""
    if not is_doomed(i):
        return None
    start = _start(i)
    return start.replace(year=start.year + 1 + (i // 3) % 2)


def account_id(i: int) -> str:
    return f"C{i:03d}"


def _accounts() -> list[dict[str, Any]]:
    rows = []
    for i in range(ACCOUNTS):
        retail = is_doomed(i) != (i % 5 == 1)  # mostly, not always
        rows.append(
            {
                "account_id": account_id(i),
                "name": f"Company {i}",
                "industry": "Retail" if retail else "Software",
                "employees": str(20 + 37 * i % 900),
                "country": ("DE", "FR", "US")[i % 3 - 1 if i % 2 else 2],
                "owner": OWNERS[i % 2],
                "created_at": _start(i).isoformat(),
                "cancelled_on": (churn_day(i) or "").__str__(),
            }
        )
    for k in range(PROSPECTS):
        rows.append(
            {
                "account_id": f"P{k}",
                "name": f"Prospect {k}",
                "industry": ("Retail", "Software")[k % 2],
                "employees": str(100 + k),
                "country": "DE",
                "is_prospect": "true",
            }
        )
    return rows


def _lines(i: int) -> list[dict[str, Any]]:
    start, end = _start(i), churn_day(i) or END + timedelta(days=400)
    rows, year_start = [], start
    while year_start < end and year_start <= END:
        year_end = next_anniversary(start, year_start)
        rows.append(
            {
                "line_id": f"{account_id(i)}-{year_start.year}",
                "account_id": account_id(i),
                "product": "core",
                "mrr": str(500 + 10 * i),
                "quantity": "5",
                "starts_on": year_start.isoformat(),
                "ends_on": year_end.isoformat(),
                "auto_renew": "false",
            }
        )
        year_start = year_end
    return rows


def _users_on(i: int, day: date) -> int:
    end = churn_day(i)
    if end is None:
        return 3
    left = (end - day).days
    return 3 if left > 120 else (1 if left > 75 else 0)


def _events(i: int) -> list[dict[str, Any]]:
    rows, day = [], _start(i)
    stop = min(churn_day(i) or END, END)
    while day < stop:
        for u in range(_users_on(i, day)):
            rows.append(
                {
                    "timestamp": f"{day.isoformat()}T10:00:00Z",
                    "account_id": account_id(i),
                    "user_id": f"{account_id(i)}-u{u}",
                    "event": "login",
                    "count": "5",
                }
            )
        day += timedelta(days=7)
    return rows


def load_company(workspace: Workspace) -> None:
    """Load the company into ``workspace`` (every row accepted)."""
    contacts = [
        {"contact_id": f"{account_id(i)}-s", "account_id": account_id(i), "role": "sponsor"}
        for i in range(ACCOUNTS)
        if not is_doomed(i)
    ]
    files: dict[str, list[dict[str, Any]]] = {
        "accounts": _accounts(),
        "subscriptions": [row for i in range(ACCOUNTS) for row in _lines(i)],
        "contacts": contacts,
        "events": [row for i in range(ACCOUNTS) for row in _events(i)],
    }
    for entity, rows in files.items():
        report = load_rows(workspace, entity, rows)
        assert report.rejected == 0, (entity, [r.reason for r in report.examples])
