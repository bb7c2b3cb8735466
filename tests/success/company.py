"""A small company for success tests: a high-touch account going quiet whose sponsor
left and which renews soon, and a tech-touch account with an invoice 45 days late."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from keepwell.contract.service import import_file
from keepwell.core.workspace import Workspace
from tests.factories import write_rows

AS_OF = date(2025, 7, 31)
OWNER_A = "csm-a@example.com"
OWNER_B = "csm-b@example.com"

RULES = """\
version: 1
assignment:
  pools: {tech-touch: pool@example.com}
  roles: {finance: finance@example.com}
rules:
  - name: sponsor-left
    when: key_contact_left_90d = 1
    cta:
      type: risk
      priority: high
      title: Sponsor left
      reason: "sponsor present now: {has_sponsor}"
      playbook: sponsor-change
    notify: [email]
  - name: renewal-due
    when: days_to_renewal <= 120 and open_renewal_ctas = 0
    cta: {type: renewal, title: Renewal soon, due_in: days_to_renewal, playbook: renewal}
  - name: late-invoice
    when: max_days_past_due >= 30
    cta: {type: risk, priority: urgent, title: Invoice late, playbook: collections, assign: pool}
    notify: [email]
  - name: nudge-admins
    when: segment = 'tech-touch'
    tech_touch: {role: admin, template: adoption_tip, campaign: tip-1}
  - name: broken
    when: arr >>> 3
    cta: {type: risk, title: Never}
"""

PLAYBOOKS = """\
version: 1
playbooks:
  sponsor-change:
    tasks:
      - {title: Meet the new sponsor, due_days: 5}
      - {title: Re-train the team, due_days: 14}
  renewal:
    tasks:
      - {title: Confirm terms, due_days: 7}
  collections:
    tasks:
      - {title: Check the invoice with finance, due_days: 2, owner_role: finance}
      - {title: Call the billing contact, due_days: 5}
"""


def _events(account: str, users: int, start: date, days: int) -> list[dict[str, str]]:
    rows = []
    for d in range(days):
        day = start + timedelta(days=d)
        for u in range(users):
            rows.append(
                {"timestamp": f"{day.isoformat()}T10:00:00Z", "account_id": account,
                 "user_id": f"{account}-u{u}", "event": "login",
                 "message_id": f"{account}-{d}-{u}"}
            )  # fmt: skip
    return rows


def load_company(ws: Workspace, tmp_path: Path, *, custom_rules: bool = True) -> None:
    """Import the company into ``ws``; with ``custom_rules`` write the rules above."""
    files = {
        "accounts": [
            {"account_id": "A", "name": "Acme", "owner": OWNER_A, "created_at": "2024-01-01"},
            {"account_id": "B", "name": "Beta", "owner": OWNER_B, "created_at": "2024-06-01"},
        ],
        "subscriptions": [
            {"line_id": "a1", "account_id": "A", "product": "core", "mrr": "10000",
             "quantity": "10", "starts_on": "2024-10-01", "ends_on": "2025-10-01"},
            {"line_id": "b1", "account_id": "B", "product": "core", "mrr": "500",
             "quantity": "5", "starts_on": "2024-06-01"},
        ],
        "contacts": [
            {"contact_id": "c1", "account_id": "A", "role": "sponsor", "email": "s@acme.example",
             "is_active": "false", "left_on": "2025-07-15"},
            {"contact_id": "c2", "account_id": "A", "role": "admin", "email": "ad@acme.example"},
            {"contact_id": "c3", "account_id": "B", "role": "admin", "email": "ad@beta.example"},
            {"contact_id": "c4", "account_id": "B", "role": "admin", "email": "ad2@beta.example"},
        ],
        "invoices": [
            {"invoice_id": "i1", "account_id": "B", "amount": "500", "issued_on": "2025-06-01",
             "due_on": "2025-06-16", "status": "open"},
        ],
        "events": _events("A", 8, date(2025, 5, 1), 92) + _events("B", 2, date(2025, 5, 1), 92),
    }  # fmt: skip
    for entity, rows in files.items():
        report = import_file(ws, entity, write_rows(tmp_path / f"{entity}.csv", rows))
        assert report.rejected == 0, (entity, report)
    if custom_rules:
        (ws.root / "rules.yaml").write_text(RULES, encoding="utf-8")
        (ws.root / "playbooks.yaml").write_text(PLAYBOOKS, encoding="utf-8")


class Clock:
    """A clock the test moves by hand (UTC)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2025, 7, 31, 23, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
