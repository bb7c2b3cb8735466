"""Contacts: the people at each customer, and the sponsors and champions who leave.

Every customer starts with a sponsor, one champion (two for mid-market and enterprise),
an admin, a billing contact (mid-market and enterprise) and a few users (1-3 SMB, 2-6
mid-market, 4-10 enterprise). When the simulation marks a ``sponsor_left`` or
``champion_left`` shock, the current holder of the role leaves (``is_active`` false,
``left_on`` in that month); a successor joins when the simulation says so (a sponsor
is replaced 60% of the time, after 1-3 months; a champion 70%, after 1-4 months), so an
account can be left without a sponsor. Users leave at about
8% a year. Prospects have 1-3 contacts. ``joined_on`` is an extra column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from keepwell.demo import catalog
from keepwell.demo.catalog import Segment
from keepwell.demo.firms import Firms
from keepwell.demo.lifecycle import Lifecycle
from keepwell.demo.table import Table
from keepwell.demo.timeline import Timeline

CONTACT_COLUMNS = (
    "contact_id",
    "account_id",
    "email",
    "name",
    "title",
    "role",
    "is_active",
    "left_on",
    "joined_on",
)
USER_TURNOVER = 0.08 / 12  # monthly
TEAM_USERS = {Segment.SMB: (1, 3), Segment.MID: (2, 6), Segment.ENT: (4, 10)}


@dataclass
class Person:
    """A contact while it is being built."""

    account: int
    role: str
    name: str
    email: str
    title: str
    joined_on: date
    left_on: date | None = None

    def active_on(self, day: date) -> bool:
        """Whether the person is at the customer on ``day``."""
        return self.joined_on <= day and (self.left_on is None or day < self.left_on)


class _Builder:
    def __init__(self, rng: np.random.Generator, firms: Firms, timeline: Timeline) -> None:
        self.rng, self.firms, self.timeline = rng, firms, timeline
        self.people: list[Person] = []
        self.by_account: dict[int, list[Person]] = {}
        self.emails: set[str] = set()

    def _choice(self, options: tuple[str, ...]) -> str:
        return options[int(self.rng.integers(len(options)))]

    def add(self, a: int, role: str, joined: date) -> Person:
        first, last = self._choice(catalog.FIRST_NAMES), self._choice(catalog.LAST_NAMES)
        email, k = f"{first}.{last}@{self.firms.domain[a]}".lower(), 2
        while email in self.emails:
            email, k = f"{first}.{last}{k}@{self.firms.domain[a]}".lower(), k + 1
        self.emails.add(email)
        titles = {"sponsor": catalog.SPONSOR_TITLES, "champion": catalog.CHAMPION_TITLES}
        title = {"admin": "IT Administrator", "billing": "Accounts Payable"}.get(
            role
        ) or self._choice(titles.get(role, catalog.USER_TITLES))
        person = Person(a, role, f"{first} {last}", email, title, joined)
        self.people.append(person)
        self.by_account.setdefault(a, []).append(person)
        return person

    def day_in(self, m: int) -> date:
        return self.timeline.month_start(m) + timedelta(days=int(self.rng.integers(28)))

    def team(self, a: int) -> None:
        seg, joined = self.firms.segment[a], self.firms.created_at[a]
        roles = ["sponsor", "champion", "admin"]
        roles += ["champion", "billing"] if seg is not Segment.SMB else []
        low, high = TEAM_USERS[seg]
        roles += ["user"] * int(self.rng.integers(low, high + 1))
        for role in roles:
            person = self.add(a, role, joined)
            if role == "user":
                self._maybe_turnover(person)

    def _maybe_turnover(self, person: Person) -> None:
        months = self.timeline.months
        leave = np.flatnonzero(self.rng.random(months) < USER_TURNOVER)
        if leave.size:
            day = self.day_in(int(leave[0]))
            person.left_on = day if day > person.joined_on else None

    def departure(self, a: int, m: int, role: str, successor: int | None) -> None:
        day = self.day_in(m)
        holders = [p for p in self.by_account.get(a, []) if p.role == role and p.active_on(day)]
        if not holders:
            return
        holders[0].left_on = day
        if successor is not None and successor < self.timeline.months:
            self.add(a, role, self.day_in(successor))

    def prospect(self, a: int) -> None:
        for role in ["champion", "user", "user"][: int(self.rng.integers(1, 4))]:
            self.add(a, role, self.firms.created_at[a])


def build_people(
    rng: np.random.Generator, firms: Firms, life: Lifecycle, timeline: Timeline
) -> list[Person]:
    """All contacts of all accounts, in creation order (their ids follow that order)."""
    builder = _Builder(rng, firms, timeline)
    for a in range(firms.n):
        if firms.is_prospect[a]:
            builder.prospect(a)
        else:
            builder.team(a)
    roles = {"sponsor_left": "sponsor", "champion_left": "champion"}
    for mark in life.marks:
        if mark.kind in roles:
            role = roles[mark.kind]
            successor = life.successors.get((mark.account, mark.month, role))
            builder.departure(mark.account, mark.month, role, successor)
    return builder.people


def contact_ids(people: list[Person]) -> list[str]:
    """Contact ids in the order of ``people``."""
    return [f"CON-{i + 1:06d}" for i in range(len(people))]


def contacts_table(people: list[Person], firms: Firms) -> Table:
    """The contacts entity in data-contract columns (plus ``joined_on``)."""
    rows = [
        (
            cid,
            firms.account_id[p.account],
            p.email,
            p.name,
            p.title,
            p.role,
            p.left_on is None,
            p.left_on,
            p.joined_on,
        )
        for cid, p in zip(contact_ids(people), people, strict=True)
    ]
    return Table(CONTACT_COLUMNS, rows)
