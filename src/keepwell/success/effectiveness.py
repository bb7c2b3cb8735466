"""Playbook effectiveness (pure): per playbook, its CTAs by outcome, and the churn rate
of the accounts that got it against comparable accounts that did not.

Treated: an account on the day a CTA of the playbook opened. Comparable: an account
without a CTA of that playbook within :data:`EXCLUSION_DAYS` of that day, in the same
health band, segment and churn-probability bucket (:func:`bucket`) on the same day's
health snapshot, and alike in whether a renewal fell due within the horizon (churn
happens at renewals: a renewal play is compared with accounts that renewed too).
Outcome: the account churned (a renewal that ended without successor) within the
horizon after the day; openings whose horizon has not passed yet are left out.

Each treated opening is compared with the mean churn of its comparables (exact
matching; openings with none are counted as unmatched). The difference is the mean of
``churned - comparable rate`` over matched openings, with a 95% normal interval from
their standard deviation; the treated rate (over the compared openings, or every
opening with a known outcome when none could be compared) has a Wilson 95% interval. Fewer than
:data:`MIN_MATCHED` matched openings is "too little data", said plainly.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

MIN_MATCHED = 10
EXCLUSION_DAYS = 90
Z = 1.959964


def bucket(p: float | None) -> str:
    """Churn probability bucket: ``<0.2``, ``0.2-0.4``, ``0.4-0.6``, ``>=0.6``, or
    ``no model``."""
    if p is None or p != p:
        return "no model"
    return "<0.2" if p < 0.2 else "0.2-0.4" if p < 0.4 else "0.4-0.6" if p < 0.6 else ">=0.6"


@dataclass(frozen=True)
class Opening:
    """A CTA of ``playbook`` opened on ``day`` for ``account_id`` (and its outcome if
    closed)."""

    playbook: str
    account_id: str
    day: date
    outcome: str | None


@dataclass(frozen=True)
class State:
    """An account on a snapshot day: what it is matched on and whether it churned
    within the horizon (None: not known yet)."""

    band: str
    segment: str
    probability: float | None
    churned: bool | None
    #: A renewal fell due within the horizon (churn happens at renewals, so accounts
    #: renewing are compared with accounts renewing).
    renews: bool = False

    @property
    def key(self) -> tuple[str, str, str, bool]:
        return (self.band, self.segment, bucket(self.probability), self.renews)


@dataclass
class Effect:
    """One playbook's figures (rates are fractions; intervals 95%)."""

    playbook: str
    outcomes: dict[str, int] = field(default_factory=dict)
    openings: int = 0
    known: int = 0
    matched: int = 0
    treated_churn: float | None = None
    treated_interval: tuple[float, float] | None = None
    comparable_churn: float | None = None
    difference: float | None = None
    difference_interval: tuple[float, float] | None = None
    verdict: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def wilson(successes: int, n: int) -> tuple[float, float] | None:
    """The Wilson 95% interval of a proportion; None when ``n`` is 0."""
    if n == 0:
        return None
    p = successes / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


#: Known accounts of a group of comparable ones: (how many, how many churned).
Tally = tuple[int, int]


def _groups(day: Mapping[str, State]) -> dict[tuple[str, str, str, bool], Tally]:
    """The accounts of a day with a known outcome, tallied by what they are matched on."""
    groups: dict[tuple[str, str, str, bool], list[int]] = defaultdict(lambda: [0, 0])
    for s in day.values():
        if s.churned is not None:
            tally = groups[s.key]
            tally[0] += 1
            tally[1] += s.churned
    return {k: (n, c) for k, (n, c) in groups.items()}


def _treated_near(
    day: date, states: Mapping[str, State], treated: Mapping[str, list[date]]
) -> dict[tuple[str, str, str, bool], Tally]:
    """The known accounts of ``day`` that got the playbook within
    :data:`EXCLUSION_DAYS` of it (``treated``: account -> its opening days), tallied by
    group: they are no comparables."""
    near: dict[tuple[str, str, str, bool], list[int]] = defaultdict(lambda: [0, 0])
    for account, days in treated.items():
        s = states.get(account)
        if s is None or s.churned is None:
            continue
        if any(abs((d - day).days) <= EXCLUSION_DAYS for d in days):
            tally = near[s.key]
            tally[0] += 1
            tally[1] += s.churned
    return {k: (n, c) for k, (n, c) in near.items()}


def effectiveness(
    openings: Sequence[Opening], states: Mapping[date, Mapping[str, State]]
) -> list[Effect]:
    """Per playbook (by name), its figures from ``openings`` and the snapshot
    ``states`` of each opening day.

    The comparables of an opening are counted by group (a day's known accounts by what
    they are matched on, less those treated near that day), not account by account:
    the cost grows with the openings and the accounts, not with their product."""
    treated: dict[str, dict[str, list[date]]] = defaultdict(lambda: defaultdict(list))
    for o in openings:
        treated[o.playbook][o.account_id].append(o.day)
    groups: dict[date, dict[tuple[str, str, str, bool], Tally]] = {}
    near: dict[tuple[str, date], dict[tuple[str, str, str, bool], Tally]] = {}
    effects: dict[str, Effect] = {}
    pairs: dict[str, list[tuple[float, float]]] = defaultdict(list)
    churned: dict[str, list[bool]] = defaultdict(list)
    for o in openings:
        effect = effects.setdefault(o.playbook, Effect(o.playbook))
        effect.openings += 1
        if o.outcome:
            effect.outcomes[o.outcome] = effect.outcomes.get(o.outcome, 0) + 1
        day = states.get(o.day, {})
        me = day.get(o.account_id)
        if me is None or me.churned is None:
            continue
        effect.known += 1
        churned[o.playbook].append(me.churned)
        if o.day not in groups:
            groups[o.day] = _groups(day)
        if (o.playbook, o.day) not in near:
            near[(o.playbook, o.day)] = _treated_near(o.day, day, treated[o.playbook])
        n, c = groups[o.day].get(me.key, (0, 0))
        n_near, c_near = near[(o.playbook, o.day)].get(me.key, (0, 0))
        if n - n_near:
            pairs[o.playbook].append((float(me.churned), (c - c_near) / (n - n_near)))
    for name, effect in effects.items():
        _summarise(effect, churned[name], pairs[name])
    return [effects[k] for k in sorted(effects)]


def _summarise(effect: Effect, churned: list[bool], pairs: list[tuple[float, float]]) -> None:
    effect.outcomes = dict(sorted(Counter(effect.outcomes).items(), key=lambda kv: -kv[1]))
    compared = [bool(t) for t, _ in pairs] if pairs else churned  # like for like
    if compared:
        effect.treated_churn = sum(compared) / len(compared)
        effect.treated_interval = wilson(sum(compared), len(compared))
    effect.matched = len(pairs)
    diffs = [t - c for t, c in pairs]
    if pairs:
        effect.difference = sum(diffs) / len(diffs)
        effect.comparable_churn = sum(c for _, c in pairs) / len(pairs)
    if len(diffs) < MIN_MATCHED:
        effect.verdict = (
            f"too little data: {len(diffs)} opening(s) with a known outcome and comparable "
            f"accounts (at least {MIN_MATCHED} needed)"
        )
        return
    mean = sum(diffs) / len(diffs)
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1))
    half = Z * sd / math.sqrt(len(diffs))
    effect.difference_interval = (mean - half, mean + half)
    if mean + half < 0:
        effect.verdict = "lowers churn against comparable accounts"
    elif mean - half > 0:
        effect.verdict = "churn higher than comparable accounts (they were worse off, or it fails)"
    else:
        effect.verdict = "no clear difference from comparable accounts"
