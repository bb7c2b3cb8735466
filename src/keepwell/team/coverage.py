"""Coverage and capacity per segment, and a rebalancing suggestion. Pure.

Per segment: accounts and ARR, the CSMs of the teams covering it, accounts and ARR per
CSM against the teams' target ratio (accounts per CSM), the accounts without a holder
and the CSMs over capacity. The suggestion moves accounts from CSMs over capacity, and
gives unassigned accounts, to CSMs of a team covering the account's segment (and its
country, when the team has a region) with room left (accounts and ARR), the smallest
accounts first (they cost the relationship least), to the CSM with the most room (of
the account's own region first); it never breaks a capacity, a segment or a region.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from keepwell.team.books import UNASSIGNED

NO_SEGMENT = "(none)"


@dataclass
class Seat:
    """A CSM as the suggestion sees them: segment covered (None: any), capacity, load."""

    email: str
    segment: str | None
    capacity_accounts: int | None
    capacity_arr: Decimal | None
    accounts: int
    arr: Decimal
    #: the country the CSM's team covers (None: any)
    region: str | None = None

    def fits(self, arr: Decimal) -> bool:
        room_accounts = (
            self.capacity_accounts is None or self.accounts + 1 <= self.capacity_accounts
        )
        room_arr = self.capacity_arr is None or self.arr + arr <= self.capacity_arr
        return room_accounts and room_arr

    def over(self) -> bool:
        return (self.capacity_accounts is not None and self.accounts > self.capacity_accounts) or (
            self.capacity_arr is not None and self.arr > self.capacity_arr
        )

    def room(self) -> tuple[float, float]:
        accounts = (
            float("inf")
            if self.capacity_accounts is None
            else self.capacity_accounts - self.accounts
        )
        arr = float("inf") if self.capacity_arr is None else float(self.capacity_arr - self.arr)
        return (accounts, arr)


def coverage(
    accounts: Sequence[Mapping[str, Any]],
    seats: Sequence[Seat],
    ratios: Mapping[str, int | None],
) -> list[dict[str, Any]]:
    """One row per segment. ``accounts`` have ``segment``, ``arr`` and ``holder`` (None:
    unassigned); ``ratios`` the target accounts per CSM of each segment."""
    count: dict[str, int] = dict.fromkeys(ratios, 0)
    held: dict[str, int] = dict.fromkeys(ratios, 0)
    arrs: dict[str, Decimal] = {}
    for a in accounts:  # one pass: accounts, held accounts and ARR per segment
        segment = a.get("segment") or NO_SEGMENT
        count[segment] = count.get(segment, 0) + 1
        held[segment] = held.get(segment, 0) + (a.get("holder") not in (None, UNASSIGNED))
        arrs[segment] = arrs.get(segment, Decimal(0)) + Decimal(a["arr"])
    rows = []
    for segment in sorted(count):
        csms = [s for s in seats if s.segment == segment]
        arr = arrs.get(segment, Decimal(0))
        rows.append(
            {
                "segment": segment,
                "accounts": count[segment],
                "arr": arr,
                "csms": len(csms),
                "accounts_per_csm": round(held[segment] / len(csms), 1) if csms else None,
                "arr_per_csm": (arr / len(csms)).quantize(Decimal(1)) if csms else None,
                "target_accounts_per_csm": ratios.get(segment),
                "unassigned": count[segment] - held[segment],
                "over_capacity": sorted(s.email for s in csms if s.over()),
            }
        )
    return rows


def rebalance(accounts: Sequence[Mapping[str, Any]], seats: Sequence[Seat]) -> list[dict[str, Any]]:
    """Moves (account_id, name, segment, arr, from, to, reason) that bring every CSM
    within capacity and give unassigned accounts a CSM, where a CSM with room covers the
    account's segment (see the module docstring). ``seats`` are not changed."""
    load = {s.email: Seat(**s.__dict__) for s in seats}
    moves: list[dict[str, Any]] = []
    candidates = [a for a in accounts if a.get("holder") in (None, UNASSIGNED)]
    reasons = {a["account_id"]: "unassigned" for a in candidates}
    over_at_start = {s.email for s in load.values() if s.over()}
    for seat in load.values():
        if not seat.over():
            continue
        mine = sorted(
            (a for a in accounts if a.get("holder") == seat.email),
            key=lambda a: (Decimal(a["arr"]), a["account_id"]),
        )
        for account in mine:
            if not seat.over():
                break
            seat.accounts -= 1
            seat.arr -= Decimal(account["arr"])
            candidates.append(account)
            reasons[account["account_id"]] = f"{seat.email} is over capacity"
    for account in sorted(candidates, key=lambda a: (Decimal(a["arr"]), a["account_id"])):
        segment, country = account.get("segment"), account.get("country")
        fitting = [
            s for s in load.values()
            if s.email not in over_at_start and s.segment in (None, segment)
            and s.region in (None, country) and s.fits(Decimal(account["arr"]))
        ]  # fmt: skip
        if not fitting:  # stays where it is: its CSM keeps the load
            origin = load.get(str(account.get("holder")))
            if origin is not None:
                origin.accounts += 1
                origin.arr += Decimal(account["arr"])
            continue
        best = max(fitting, key=lambda s: (s.segment == segment, s.region == country, s.room(),
                                           s.email))  # fmt: skip
        best.accounts += 1
        best.arr += Decimal(account["arr"])
        moves.append(
            {
                "account_id": account["account_id"],
                "name": account.get("name", account["account_id"]),
                "segment": segment,
                "arr": Decimal(account["arr"]),
                "from": account.get("holder") or UNASSIGNED,
                "to": best.email,
                "reason": reasons[account["account_id"]],
            }
        )
    return moves
