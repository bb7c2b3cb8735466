"""Capacity and rebalancing on a hand-made team."""

from __future__ import annotations

from decimal import Decimal

from keepwell.team import coverage
from keepwell.team.coverage import Seat

D = Decimal


def _accounts() -> list[dict[str, object]]:
    rows = [{"account_id": f"a{i}", "name": f"A{i}", "segment": "smb", "arr": D(1000 * (i + 1)),
             "holder": "ann@x"} for i in range(5)]  # fmt: skip
    rows += [{"account_id": "b0", "name": "B0", "segment": "smb", "arr": D(500), "holder": "bob@x"}]
    rows += [
        {"account_id": "e0", "name": "E0", "segment": "ent", "arr": D(90000), "holder": "eve@x"}
    ]
    rows += [{"account_id": "u0", "name": "U0", "segment": "smb", "arr": D(700), "holder": None}]
    rows += [{"account_id": "u1", "name": "U1", "segment": "ent", "arr": D(80000), "holder": None}]
    return rows


def _seats() -> list[Seat]:
    return [
        Seat("ann@x", "smb", 3, None, 5, D(15000)),  # two accounts over capacity
        Seat("bob@x", "smb", 4, D(10000), 1, D(500)),  # room for three, ARR up to 10,000
        Seat("eve@x", "ent", 1, None, 1, D(90000)),  # full
    ]


def test_coverage_per_segment_counts_csms_unassigned_and_over_capacity() -> None:
    rows = {r["segment"]: r for r in coverage.coverage(_accounts(), _seats(), {"smb": 3, "ent": 1})}
    assert rows["smb"]["accounts"] == 7
    assert rows["smb"]["csms"] == 2
    assert rows["smb"]["unassigned"] == 1
    assert rows["smb"]["accounts_per_csm"] == 3.0
    assert rows["smb"]["over_capacity"] == ["ann@x"]
    assert rows["ent"]["unassigned"] == 1
    assert rows["ent"]["over_capacity"] == []


def test_rebalancing_moves_the_smallest_accounts_within_segment_and_capacity() -> None:
    moves = coverage.rebalance(_accounts(), _seats())
    got = [(m["account_id"], m["from"], m["to"]) for m in moves]
    # ann gives up her two smallest (1,000 and 2,000); the unassigned smb account (700)
    # goes to bob too; bob ends with 4 accounts and 4,200 ARR, within both capacities
    assert got == [
        ("u0", "(unassigned)", "bob@x"),
        ("a0", "ann@x", "bob@x"),
        ("a1", "ann@x", "bob@x"),
    ]
    # the unassigned ent account finds nobody with room: no move (eve is full)
    assert "u1" not in {m["account_id"] for m in moves}


def test_rebalancing_never_breaks_an_arr_capacity() -> None:
    seats = [
        Seat("ann@x", "smb", 3, None, 5, D(15000)),
        Seat("bob@x", "smb", 9, D(1500), 1, D(500)),
    ]
    moves = coverage.rebalance(_accounts(), seats)
    assert [(m["account_id"], m["to"]) for m in moves] == [("u0", "bob@x")]  # 500 + 700 <= 1,500


def test_rebalancing_keeps_an_account_in_its_team_s_region() -> None:
    accounts = [{"account_id": "u0", "segment": "smb", "country": "DE", "arr": D(700),
                 "holder": None},
                {"account_id": "u1", "segment": "smb", "country": "FR", "arr": D(800),
                 "holder": None}]  # fmt: skip
    seats = [
        Seat("fr@x", "smb", 9, None, 0, D(0), "FR"),  # the most room, but France only
        Seat("any@x", "smb", 5, None, 3, D(900)),  # any country
        Seat("de@x", "smb", 2, None, 1, D(100), "DE"),
    ]
    moves = {m["account_id"]: m["to"] for m in coverage.rebalance(accounts, seats)}
    # each goes to a CSM of its own region first, though another has more room
    assert moves == {"u0": "de@x", "u1": "fr@x"}
    full = [
        Seat("fr@x", "smb", 9, None, 0, D(0), "FR"),
        Seat("de@x", "smb", 1, None, 1, D(0), "DE"),
    ]
    assert coverage.rebalance(accounts[:1], full) == []  # no room in DE: France never takes it


def test_books_count_renewal_windows_touches_and_add_up_to_their_team() -> None:
    from datetime import date, timedelta

    from keepwell.team.books import build_books

    day = date(2026, 6, 30)

    def row(account: str, owner: str, arr: int, renews_in: int | None, band: str) -> dict:
        renewal = None if renews_in is None else day + timedelta(days=renews_in)
        return {"account_id": account, "owner": owner, "arr": D(arr), "band": band,
                "next_renewal": renewal, "renewal_arr": D(arr), "is_prospect": False}  # fmt: skip

    rows = [row("a", "ann", 100, 90, "red"), row("b", "ann", 200, 91, "green"),
            row("c", "bob", 300, 180, "purple"), row("d", "bob", 400, 181, "green"),
            row("e", "pool:t", 50, None, "green"), row("f", "", 10, 5, "green")]  # fmt: skip
    touches = {"a": day - timedelta(days=10), "c": day - timedelta(days=40)}
    holders, teams = build_books(
        rows, day, assignments={}, csm_teams={"ann": "t", "bob": "t", "cy": "u"},
        touches=touches, ctas={"a": (2, 1)}, capacities={"ann": (1, None)},
    )  # fmt: skip
    ann, bob, team = holders["ann"], holders["bob"], teams["t"]
    assert (ann.renewals_90, ann.renewals_180, ann.renewal_arr_180) == (1, 2, Decimal(300))
    assert (bob.renewals_90, bob.renewals_180, bob.renewal_arr_180) == (0, 1, Decimal(300))
    assert ann.over_capacity
    assert not bob.over_capacity
    assert bob.bands["unknown"] == 1  # a band outside the four counts as unknown
    assert holders["(unassigned)"].accounts == 1
    assert holders["cy"].accounts == 0
    assert "u" not in teams  # a team whose CSMs hold nothing has no book
    # the team's book: its CSMs' and its pool's accounts added up
    assert (team.accounts, team.arr, team.risk_arr) == (5, Decimal(1050), Decimal(100))
    assert (team.renewals_90, team.renewals_180, team.renewal_arr_90) == (1, 3, Decimal(100))
    assert (team.open_ctas, team.overdue_ctas, team.untouched_30) == (2, 1, 4)
    assert team.days_since_touch == 25  # median of 10 and 40
