"""Mix/rate decomposition: parts add up exactly to the change, on hand-made numbers."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pyarrow as pa

from keepwell.team import decomposition as dec

F = Fraction


def test_a_shift_of_weight_at_constant_rates_is_all_mix() -> None:
    # A keeps a 90 % rate, B 50 %; A's share of the base goes from 1/2 to 3/4
    groups = {"A": dec.parts(90, 100, 270, 300), "B": dec.parts(50, 100, 50, 100)}
    d = dec.decompose(groups)
    assert (d.value0, d.value1, d.change) == (F(7, 10), F(8, 10), F(1, 10))
    effects = {e.group: e for e in d.groups}
    assert effects["A"].mix == F(1, 4) * F(9, 10)  # (3/4 - 1/2) x 0.9
    assert effects["B"].mix == F(-1, 4) * F(1, 2)  # (1/4 - 1/2) x 0.5
    assert effects["A"].rate == effects["B"].rate == 0
    assert sum(e.mix + e.rate for e in d.groups) == d.change


def test_a_group_that_enters_or_leaves_is_all_mix() -> None:
    groups = {
        "old": dec.parts(9, 10, 0, 0),
        "new": dec.parts(0, 0, 8, 10),
        "kept": dec.parts(5, 10, 6, 10),
    }
    d = dec.decompose(groups)
    assert sum(e.total for e in d.groups) == d.change == F(14, 20) - F(14, 20)
    effects = {e.group: e for e in d.groups}
    assert effects["old"].rate == 0
    assert effects["new"].rate == 0
    assert effects["new"].mix == F(1, 2) * F(8, 10)


def test_levels_split_into_accounts_and_arpa() -> None:
    # MRR = accounts x ARPA: A goes from 10 x 100 to 12 x 110, B stays 5 x 200
    d = dec.decompose(
        {"A": dec.parts(1000, 10, 1320, 12), "B": dec.parts(1000, 5, 1000, 5)}, level=True
    )
    a = next(e for e in d.groups if e.group == "A")
    assert a.mix == F(200)
    assert a.rate == F(120)
    assert d.change == 320


def test_shown_decimals_add_up_exactly_to_the_rounded_total() -> None:
    thirds = [F(1, 3), F(1, 3), F(1, 3), F(-1, 7), F(1, 7)]
    shown = dec.shown(thirds, sum(thirds, F(0)), places=4)
    assert sum(shown, Decimal(0)) == Decimal("1.0000")
    assert all(abs(Decimal(v.numerator) / v.denominator - s) < Decimal("0.0001")
               for v, s in zip(thirds, shown, strict=True))  # fmt: skip


def test_group_sums_of_large_books_in_any_currency_stay_exact() -> None:
    """A book whose MRR in millionths passes 2**63 (4e12 of a currency such as the
    rupiah, per account) sums exactly: int64 units would wrap around silently."""
    big = Decimal("4000000000000.123456")
    units = dec.units_array(pa.array([big, big, big, Decimal("1")], pa.decimal128(20, 6)))
    table = pa.table({"g": ["a", "a", "a", "b"], "n0": units, "d0": units,
                      "n1": units, "d1": units})  # fmt: skip
    sums = dec.aggregate_table(table, "g", "none")
    assert sums["a"].n0 == 3 * 4_000_000_000_000_123_456
    assert sums["b"].d1 == 1_000_000
    counts = dec.units_array(pa.array([2, None], pa.int64()))
    assert counts.to_pylist() == [Decimal(2_000_000), Decimal(0)]
