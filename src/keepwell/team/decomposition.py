""" "Why did it move": the change of a metric between two months split by group into a
mix effect and a rate effect whose parts add up exactly to the total change. Pure.

A metric is R = Σ_g n_g / Σ_g d_g over groups g (a ratio: NRR, GRR, logo churn, the
share of accounts in a health band), or R = Σ_g n_g (a level: MRR, with d_g the
accounts). With weight w_g = d_g / Σ d and rate r_g = n_g / d_g (ratio), or w_g = d_g
and r_g = n_g / d_g (level: accounts and ARPA), R = Σ w_g r_g and, from month 0 to 1:

    ΔR = Σ_g (w1_g − w0_g) · r0_g   (mix: the group's weight moved)
       + Σ_g w1_g · (r1_g − r0_g)   (rate: the group's own rate moved)

exactly. A group absent in month 0 takes r0_g = r1_g (all of it is mix: it entered);
one absent in month 1 has w1_g = 0 (all mix: it left). The arithmetic is in exact
fractions; the parts shown are decimals rounded by the largest-remainder method, so
they add up exactly to the total shown as well.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

#: Decimal places of the parts shown: fractions (rates) and money (levels).
PLACES = 6


#: Every numerator and denominator is held as an integer of millionths: money has six
#: decimals, so sums over 50,000 accounts stay exact and fast (no fraction per account).
SCALE = 10**PLACES
#: The Arrow type of a column of units: whole millionths, exact to 38 digits.
UNITS = pa.decimal128(38, 0)


class Parts(NamedTuple):
    """Numerator and denominator of a group in month 0 and in month 1, in millionths."""

    n0: int
    d0: int
    n1: int
    d1: int


def _units(value: Decimal | int) -> int:
    units = Decimal(value).scaleb(PLACES)
    if units != units.to_integral_value():
        raise ValueError(f"{value} has more than {PLACES} decimals")
    return int(units)


def parts(n0: Decimal | int, d0: Decimal | int, n1: Decimal | int, d1: Decimal | int) -> Parts:
    """:class:`Parts` from exact decimals (at most six places) or integers."""
    return Parts(_units(n0), _units(d0), _units(n1), _units(d1))


ZERO = Parts(0, 0, 0, 0)


def units_array(values: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """:func:`parts`' units of a whole column: exact decimals (at most six places) or
    integers as whole millionths (nulls as 0), typed ``decimal128(38, 0)``. Raises
    ValueError for more places. Not int64: Arrow's grouped sum of int64 wraps around
    silently, and a company's MRR in millionths passes 2**63 at about 9.2e12 of its
    currency (under 600 M USD a month in rupiah); 38 digits never do."""
    if pa.types.is_decimal(values.type):
        if values.type.scale > PLACES:
            raise ValueError(f"{values.type} has more than {PLACES} decimals")
        # at most 30 digits (a checked cast), so the exact product fits 38
        narrow = values.cast(pa.decimal128(30, values.type.scale))
        values = pc.multiply(narrow, pa.scalar(Decimal(SCALE), pa.decimal128(PLACES + 1, 0)))
    else:
        values = pc.multiply(values.cast(pa.int64()), pa.scalar(SCALE, pa.int64()))
    return pc.fill_null(values.cast(UNITS), Decimal(0))


def aggregate_table(table: pa.Table, label: str, missing: str) -> dict[str, Parts]:
    """:func:`aggregate` of a table of parts (columns ``n0, d0, n1, d1`` in units, one
    row per key) into the groups of its column ``label`` (``missing`` for null or
    empty), summed by the engine of Arrow: exact integers."""
    labels = pc.fill_null(table[label], missing)
    labels = pc.if_else(pc.equal(labels, ""), missing, labels)
    grouped = pa.table({"g": labels, **{c: table[c] for c in Parts._fields}})
    sums = grouped.group_by("g").aggregate([(c, "sum") for c in Parts._fields])
    columns = [sums[f"{c}_sum"].to_pylist() for c in Parts._fields]
    return {
        str(g): Parts(*(int(col[i]) for col in columns))
        for i, g in enumerate(sums["g"].to_pylist())
    }


def add(a: Parts, b: Parts) -> Parts:
    return Parts(a.n0 + b.n0, a.d0 + b.d0, a.n1 + b.n1, a.d1 + b.d1)


def aggregate(
    by_key: Mapping[str, Parts], labels: Mapping[str, str], missing: str
) -> dict[str, Parts]:
    """Sum the parts of each key (an account) into its group ``labels[key]`` (``missing``
    when it has none)."""
    sums: dict[str, list[int]] = {}
    for key, p in by_key.items():
        total = sums.setdefault(labels.get(key) or missing, [0, 0, 0, 0])
        total[0] += p.n0
        total[1] += p.d0
        total[2] += p.n1
        total[3] += p.d1
    return {label: Parts(*values) for label, values in sums.items()}


def top_keys(by_key: Mapping[str, Parts], level: bool, count: int) -> list[tuple[str, Fraction]]:
    """The ``count`` keys whose own contribution to the change is largest (by absolute
    value; ties by key): n1/D1 − n0/D0 for a ratio (D the totals), n1 − n0 for a level.
    Ranked on exact integers; fractions only for the keys returned."""
    d0 = sum(p.d0 for p in by_key.values())
    d1 = sum(p.d1 for p in by_key.values())
    if level:
        scored = [(p.n1 - p.n0, key) for key, p in by_key.items()]
        scale = Fraction(1, SCALE)
    else:
        scored = [(p.n1 * d0 - p.n0 * d1, key) for key, p in by_key.items()]
        scale = Fraction(1, d0 * d1) if d0 and d1 else Fraction(0)
    scored.sort(key=lambda item: (-abs(item[0]), item[1]))
    return [(key, score * scale) for score, key in scored[:count] if score]


@dataclass(frozen=True)
class GroupEffect:
    """One group's share of the change (exact fractions) and its values."""

    group: str
    mix: Fraction
    rate: Fraction
    weight0: Fraction
    weight1: Fraction
    rate0: Fraction | None
    rate1: Fraction | None

    @property
    def total(self) -> Fraction:
        return self.mix + self.rate


@dataclass(frozen=True)
class Decomposition:
    """The metric in both months, the change and each group's mix and rate effects."""

    value0: Fraction
    value1: Fraction
    groups: list[GroupEffect]

    @property
    def change(self) -> Fraction:
        return self.value1 - self.value0


def value(groups: Iterable[Parts], level: bool, month: int) -> Fraction | None:
    """The metric over ``groups`` in month 0 or 1 (None: a ratio with no denominator)."""
    items = list(groups)
    n = sum(p.n0 if month == 0 else p.n1 for p in items)
    if level:
        return Fraction(n, SCALE)
    d = sum(p.d0 if month == 0 else p.d1 for p in items)
    return None if d == 0 else Fraction(n, d)


def decompose(groups: Mapping[str, Parts], *, level: bool = False) -> Decomposition:
    """Mix and rate effects of every group (see the module docstring). Raises
    ValueError when a ratio has no denominator in one of the months."""
    v0, v1 = value(groups.values(), level, 0), value(groups.values(), level, 1)
    if v0 is None or v1 is None:
        raise ValueError("the metric is undefined in one of the months (nothing to divide by)")
    total0 = SCALE if level else sum(p.d0 for p in groups.values())
    total1 = SCALE if level else sum(p.d1 for p in groups.values())
    effects = []
    for name, p in groups.items():
        w0, w1 = Fraction(p.d0, total0), Fraction(p.d1, total1)
        r1 = Fraction(p.n1, p.d1) if p.d1 else None
        r0 = Fraction(p.n0, p.d0) if p.d0 else None
        base = r0 if r0 is not None else (r1 or Fraction(0))
        mix = (w1 - w0) * base
        rate = w1 * ((r1 or Fraction(0)) - base) if r1 is not None else Fraction(0)
        if r0 is None and r1 is None:  # numerators without accounts (never for our metrics)
            mix, rate = Fraction(0), Fraction(p.n1, total1) - Fraction(p.n0, total0)
        effects.append(GroupEffect(name, mix, rate, w0, w1, r0, r1))
    effects.sort(key=lambda e: (-abs(e.total), e.group))
    return Decomposition(v0, v1, effects)


def shown(values: list[Fraction], total: Fraction, places: int = PLACES) -> list[Decimal]:
    """``values`` (which add up to ``total``) as decimals of ``places`` places that add
    up exactly to ``total`` rounded half-even: each value is rounded down, then the
    units still missing go to the values with the largest remainders."""
    scale = 10**places
    floors = [(v * scale).numerator // (v * scale).denominator for v in values]
    remainders = [v * scale - f for v, f in zip(values, floors, strict=True)]
    target = round(total * scale)
    missing = target - sum(floors)
    order = sorted(range(len(values)), key=lambda i: (-remainders[i], i))
    for i in order[: max(0, missing)]:
        floors[i] += 1
    quantum = Decimal(1).scaleb(-places)
    return [(Decimal(f) * quantum).quantize(quantum) for f in floors]


def to_decimal(value: Fraction | None, places: int = PLACES) -> Decimal | None:
    """A fraction as a decimal rounded half-even to ``places`` places."""
    if value is None:
        return None
    quantum = Decimal(1).scaleb(-places)
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(quantum)
