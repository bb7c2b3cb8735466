"""Books of business: who holds each account, and per CSM and per team the accounts,
ARR, health-band mix, churn-risk ARR, renewals due, live and overdue CTAs, open and
overdue tasks of those CTAs, success plans behind schedule, and days since the last
touch. Pure: the service reads the inputs.

Holder of an account: its assignment (a CSM's email, or ``pool:<team>`` for a team's
pooled tech-touch book) when it has one, else the account's ``owner`` column; no
holder: unassigned. A CSM's team is the team the CSM belongs to; a pool's, its team.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from statistics import median
from typing import Any

POOL = "pool:"
UNASSIGNED = "(unassigned)"
BANDS = ("green", "yellow", "red", "unknown")
RENEWAL_WINDOWS = (90, 180)


def holder_of(account: Mapping[str, Any], assignments: Mapping[str, str]) -> str | None:
    """The holder of ``account`` (see the module docstring)."""
    return assignments.get(account["account_id"]) or account.get("owner") or None


def team_of(holder: str | None, csm_teams: Mapping[str, str]) -> str | None:
    """The team of a holder: a CSM's team, or a pool's own team."""
    if holder is None:
        return None
    if holder.startswith(POOL):
        return holder[len(POOL) :]
    return csm_teams.get(holder)


@dataclass
class Book:
    """The figures of one book (a CSM's, a pool's or a team's); money in base currency."""

    holder: str
    team: str | None
    accounts: int = 0
    arr: Decimal = Decimal(0)
    bands: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BANDS, 0))
    risk_arr: Decimal = Decimal(0)
    renewals_90: int = 0
    renewal_arr_90: Decimal = Decimal(0)
    renewals_180: int = 0
    renewal_arr_180: Decimal = Decimal(0)
    open_ctas: int = 0
    overdue_ctas: int = 0
    open_tasks: int = 0
    overdue_tasks: int = 0
    plans_behind: int = 0
    untouched_30: int = 0
    capacity_accounts: int | None = None
    capacity_arr: Decimal | None = None
    touched: list[int] = field(default_factory=list, repr=False)

    @property
    def over_capacity(self) -> bool:
        over_accounts = (
            self.capacity_accounts is not None and self.accounts > self.capacity_accounts
        )
        over_arr = self.capacity_arr is not None and self.arr > self.capacity_arr
        return over_accounts or over_arr

    @property
    def days_since_touch(self) -> int | None:
        """Median days since the last touch over the book's touched accounts."""
        return int(median(self.touched)) if self.touched else None

    def as_dict(self) -> dict[str, Any]:
        row = dict(self.__dict__)
        del row["touched"]
        row["over_capacity"] = self.over_capacity
        row["days_since_touch"] = self.days_since_touch
        return row


def risk_arr(row: Mapping[str, Any]) -> Decimal:
    """Churn-risk ARR of one account: the churn model's ARR at risk when it scored the
    account, else its ARR when its health band is red, else 0."""
    if row.get("arr_at_risk") is not None:
        return Decimal(str(row["arr_at_risk"]))
    return Decimal(row["arr"]) if row.get("band") == "red" else Decimal(0)


#: The figures of a book that add up over accounts (a team's: over its holders' books).
SUMS = ("accounts", "arr", "risk_arr", "renewals_90", "renewal_arr_90", "renewals_180",
        "renewal_arr_180", "open_ctas", "overdue_ctas", "open_tasks", "overdue_tasks",
        "plans_behind", "untouched_30")  # fmt: skip


def _add(book: Book, row: Mapping[str, Any], as_of: date, touch: date | None,
         ctas: tuple[int, ...], plans: int = 0) -> None:  # fmt: skip
    book.accounts += 1
    book.arr += row["arr"]
    band = row.get("band") or "unknown"
    book.bands[band if band in book.bands else "unknown"] += 1
    book.risk_arr += risk_arr(row)
    renewal = row.get("next_renewal")
    if renewal is not None:
        due = (renewal - as_of).days
        if due <= RENEWAL_WINDOWS[1]:
            renewal_arr = Decimal(row.get("renewal_arr") or 0)
            book.renewals_180 += 1
            book.renewal_arr_180 += renewal_arr
            if due <= RENEWAL_WINDOWS[0]:
                book.renewals_90 += 1
                book.renewal_arr_90 += renewal_arr
    book.open_ctas += ctas[0]
    book.overdue_ctas += ctas[1]
    if len(ctas) > 2:
        book.open_tasks += ctas[2]
        book.overdue_tasks += ctas[3]
    book.plans_behind += plans
    if touch is None or (as_of - touch).days > 30:
        book.untouched_30 += 1
    if touch is not None:
        book.touched.append((as_of - touch).days)


def add_book(total: Book, book: Book, *, touches: bool = True) -> None:
    """Add the figures of ``book`` to ``total`` (a team's book from its holders'); with
    ``touches`` False, not its days since the last touch (``total`` shows none)."""
    for key in SUMS:
        setattr(total, key, getattr(total, key) + getattr(book, key))
    for band, n in book.bands.items():
        total.bands[band] += n
    if touches:
        total.touched.extend(book.touched)


def build_books(
    rows: Iterable[Mapping[str, Any]],
    as_of: date,
    *,
    assignments: Mapping[str, str],
    csm_teams: Mapping[str, str],
    touches: Mapping[str, date],
    ctas: Mapping[str, tuple[int, ...]],
    capacities: Mapping[str, tuple[int | None, Decimal | None]],
    plans: Mapping[str, int] | None = None,
) -> tuple[dict[str, Book], dict[str, Book]]:
    """Books per holder and per team from the directory ``rows`` (paying customers
    only: ARR > 0 on ``as_of``).

    ``touches``: each account's last meeting, call, email or business review on or
    before ``as_of``; ``ctas``: per account (live CTAs, overdue CTAs[, open tasks of
    live CTAs, overdue ones among them]); ``plans``: per account its active success
    plans behind schedule; ``capacities``: per CSM
    (accounts, ARR). ``days_since_touch`` of a
    book is the median over its touched accounts; ``untouched_30`` counts the
    accounts not touched in 30 days. Every CSM of ``csm_teams`` has a book, even empty.
    """
    holders: dict[str, Book] = {}
    for email, own in csm_teams.items():
        holders[email] = Book(email, own)
    no_ctas = (0, 0)
    for row in rows:
        if row.get("is_prospect") or not row["arr"]:
            continue
        holder = holder_of(row, assignments) or UNASSIGNED
        book = holders.get(holder)
        if book is None:
            team = team_of(None if holder == UNASSIGNED else holder, csm_teams)
            book = holders[holder] = Book(holder, team)
        account = row["account_id"]
        late = plans.get(account, 0) if plans else 0
        _add(book, row, as_of, touches.get(account), ctas.get(account, no_ctas), late)
    teams: dict[str, Book] = {}
    for book in holders.values():  # a team's book: its holders' books added up
        if book.team is not None and book.accounts:
            add_book(teams.setdefault(book.team, Book(book.team, book.team)), book)
    for email, (accounts, arr) in capacities.items():
        if email in holders:
            holders[email].capacity_accounts, holders[email].capacity_arr = accounts, arr
    return holders, teams
