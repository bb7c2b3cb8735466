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

#: Decimal places of the parts shown: fractions (rates) and money (levels).
PLACES = 6


class Parts(NamedTuple):
    """Numerator and denominator of a group in month 0 and in month 1."""

    n0: Fraction
    d0: Fraction
    n1: Fraction
    d1: Fraction


def parts(n0: Decimal | int, d0: Decimal | int, n1: Decimal | int, d1: Decimal | int) -> Parts:
    """:class:`Parts` from exact decimals or integers."""
    return Parts(Fraction(n0), Fraction(d0), Fraction(n1), Fraction(d1))


ZERO = Parts(Fraction(0), Fraction(0), Fraction(0), Fraction(0))


def add(a: Parts, b: Parts) -> Parts:
    return Parts(a.n0 + b.n0, a.d0 + b.d0, a.n1 + b.n1, a.d1 + b.d1)


def aggregate(
    by_key: Mapping[str, Parts], labels: Mapping[str, str], missing: str
) -> dict[str, Parts]:
    """Sum the parts of each key (an account) into its group ``labels[key]`` (``missing``
    when it has none)."""
    groups: dict[str, Parts] = {}
    for key, value in by_key.items():
        label = labels.get(key) or missing
        groups[label] = add(groups.get(label, ZERO), value)
    return groups


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
    n = sum((p.n0 if month == 0 else p.n1 for p in items), Fraction(0))
    if level:
        return n
    d = sum((p.d0 if month == 0 else p.d1 for p in items), Fraction(0))
    return None if d == 0 else n / d


def decompose(groups: Mapping[str, Parts], *, level: bool = False) -> Decomposition:
    """Mix and rate effects of every group (see the module docstring). Raises
    ValueError when a ratio has no denominator in one of the months."""
    v0, v1 = value(groups.values(), level, 0), value(groups.values(), level, 1)
    if v0 is None or v1 is None:
        raise ValueError("the metric is undefined in one of the months (nothing to divide by)")
    total0 = Fraction(1) if level else sum((p.d0 for p in groups.values()), Fraction(0))
    total1 = Fraction(1) if level else sum((p.d1 for p in groups.values()), Fraction(0))
    effects = []
    for name, p in groups.items():
        w0, w1 = p.d0 / total0, p.d1 / total1
        r1 = p.n1 / p.d1 if p.d1 else None
        r0 = p.n0 / p.d0 if p.d0 else None
        base = r0 if r0 is not None else (r1 or Fraction(0))
        mix = (w1 - w0) * base
        rate = w1 * ((r1 or Fraction(0)) - base) if r1 is not None else Fraction(0)
        if r0 is None and r1 is None:  # numerators without accounts (never for our metrics)
            mix, rate = Fraction(0), p.n1 / total1 - p.n0 / total0
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
