"""The customer base: who the accounts are, when they arrive and what they first buy.

Accounts are drawn by size class (``catalog.SEGMENTS``): SMB (58%), mid-market (30%)
and enterprise (12%) with lognormal employees and seats, so ARR is heavy-tailed. About
6% of the accounts are prospects (no subscription). Among customers, 40% form the book
already there on day one of the window (customers since up to 30 months earlier) and
the rest sign during the window at a rate growing linearly over time. Each size class
has its share on month-to-month contracts, the rest on annual terms; with
``Billing.MONTHLY`` every customer is month to month (the same draws, so the same
customers: only their contracts differ).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import numpy as np

from keepwell.demo import catalog
from keepwell.demo.catalog import Billing, Segment
from keepwell.demo.timeline import Timeline

PROSPECT_SHARE = 0.06
INITIAL_BOOK_SHARE = 0.40
SUBSIDIARY_SHARE = 0.04


@dataclass(frozen=True)
class Firms:
    """One entry per account; arrays are indexed by account position (0..n-1)."""

    account_id: list[str]
    name: list[str]
    domain: list[str]
    segment: list[Segment]
    is_prospect: np.ndarray  # bool
    employees: np.ndarray  # int
    industry: list[str]
    country: list[str]
    region: list[str]
    channel: list[str]
    owner: list[str | None]
    tier: list[str]
    monthly: np.ndarray  # bool: month-to-month contract, else annual
    auto_renew: np.ndarray  # bool
    anchor: np.ndarray  # int 1..28: billing day of the month
    start_month: np.ndarray  # int: month of the first contract in the window (-1 prospects)
    term_start_month: np.ndarray  # int: month the contract term running at start began
    created_at: list[date]
    health_mean: np.ndarray  # float: long-run latent health
    slow_payer: np.ndarray  # bool
    seats: np.ndarray  # int: initial platform seats
    addons: np.ndarray  # bool (n, len(ADDONS)): add-ons in the first deal
    discount: np.ndarray  # float: share off list price
    parent: list[str | None]
    category_budget: np.ndarray  # float USD per year

    @property
    def n(self) -> int:
        """Number of accounts, prospects included."""
        return len(self.account_id)


def _pick(
    rng: np.random.Generator, options: tuple[str, ...], weights: tuple[float, ...], n: int
) -> list[str]:
    p = np.asarray(weights, dtype=float)
    return [options[i] for i in rng.choice(len(options), size=n, p=p / p.sum())]


def _names(rng: np.random.Generator, n: int) -> list[str]:
    heads, tails, used = catalog.NAME_HEADS, catalog.NAME_TAILS, set()
    names: list[str] = []
    while len(names) < n:
        first = heads[rng.integers(len(heads))]
        tail = tails[rng.integers(len(tails))]
        mid = heads[rng.integers(len(heads))] if rng.random() < 0.5 else ""
        name = f"{first}{mid.lower()} {tail}" if mid and mid != first else f"{first} {tail}"
        if name not in used:
            used.add(name)
            names.append(name)
    return names


def _start_months(rng: np.random.Generator, customers: int, months: int) -> np.ndarray:
    initial = rng.random(customers) < INITIAL_BOOK_SHARE
    weights = 1.0 + np.arange(1, months) / months
    later = rng.choice(np.arange(1, months), size=customers, p=weights / weights.sum())
    return np.where(initial, 0, later)


def _seats(rng: np.random.Generator, segments: list[Segment]) -> np.ndarray:
    spec = [catalog.SEGMENTS[s] for s in segments]
    median = np.array([s.seats_median for s in spec])
    sigma = np.array([s.seats_sigma for s in spec])
    top = np.array([s.seats_max for s in spec])
    return np.clip(
        np.round(median * np.exp(sigma * rng.standard_normal(len(spec)))), 1, top
    ).astype(int)


def _employees(rng: np.random.Generator, segments: list[Segment], seats: np.ndarray) -> np.ndarray:
    spec = [catalog.SEGMENTS[s] for s in segments]
    median = np.array([s.employees_median for s in spec])
    sigma = np.array([s.employees_sigma for s in spec])
    drawn = np.round(median * np.exp(sigma * rng.standard_normal(len(spec)))).astype(int)
    return np.asarray(np.maximum(drawn, seats * 2))


def _list_arr(tier: str, seats: int, addons: np.ndarray) -> float:
    platform = catalog.SEAT_PRICE[catalog.PLATFORM][tier] * seats
    monthly = platform
    monthly += float(addons[0]) * catalog.SEAT_PRICE[catalog.ANALYTICS][tier] * seats
    monthly += float(addons[1]) * catalog.FLAT_PRICE[catalog.AUTOMATION][tier]
    monthly += float(addons[2]) * catalog.SUPPORT_RATE * platform
    return 12.0 * monthly


def _parents(
    rng: np.random.Generator,
    ids: list[str],
    segments: list[Segment],
    start: np.ndarray,
    prospect: np.ndarray,
) -> list[str | None]:
    ent = [i for i in range(len(ids)) if segments[i] is Segment.ENT and not prospect[i]]
    parents: list[str | None] = [None] * len(ids)
    for i in range(len(ids)):
        if segments[i] is Segment.ENT or prospect[i] or not ent or rng.random() >= SUBSIDIARY_SHARE:
            continue
        candidates = [j for j in ent if start[j] <= start[i]]
        if candidates:
            parents[i] = ids[candidates[int(rng.integers(len(candidates)))]]
    return parents


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", name.lower())


@dataclass(frozen=True)
class _Terms:
    start: np.ndarray
    term_start: np.ndarray
    monthly: np.ndarray
    anchor: np.ndarray
    created: list[date]


def _terms(
    rng: np.random.Generator,
    prospect: np.ndarray,
    spec: list[catalog.SegmentSpec],
    timeline: Timeline,
    billing: Billing,
) -> _Terms:
    """When each account signs, on which contract, and since when it is a customer."""
    n = len(spec)
    start = np.where(prospect, -1, _start_months(rng, n, timeline.months))
    tenure = np.where(start == 0, rng.integers(1, 31, size=n), 0)
    monthly = rng.random(n) < np.array([s.monthly_share for s in spec])
    if billing is Billing.MONTHLY:
        monthly = np.ones(n, dtype=bool)
    term_start = np.where(monthly, start, np.where(start == 0, -(tenure % 12), start))
    anchor = rng.integers(1, 29, size=n)
    created = [
        timeline.on(
            int(start[i] - tenure[i]) if start[i] >= 0 else int(rng.integers(timeline.months)),
            int(anchor[i]),
        )
        for i in range(n)
    ]
    return _Terms(start, term_start, monthly, anchor, created)


def _weighted(
    rng: np.random.Generator,
    table: tuple[tuple[str, str, float], ...] | tuple[tuple[str, float], ...],
    n: int,
) -> list[str]:
    return _pick(rng, tuple(row[0] for row in table), tuple(float(row[-1]) for row in table), n)


def draw_firms(
    rng: np.random.Generator, n: int, timeline: Timeline, billing: Billing = Billing.MIXED
) -> Firms:
    """Draw ``n`` accounts (customers and prospects) for the window of ``timeline``,
    billed as ``billing`` says."""
    prospect = rng.random(n) < PROSPECT_SHARE
    shares = [catalog.SEGMENTS[s].share for s in catalog.SEGMENT_ORDER]
    segments = [catalog.SEGMENT_ORDER[i] for i in rng.choice(3, size=n, p=shares)]
    spec = [catalog.SEGMENTS[s] for s in segments]
    seats = _seats(rng, segments)
    employees = _employees(rng, segments, seats)
    terms = _terms(rng, prospect, spec, timeline, billing)
    attach = np.array([[catalog.ADDON_ATTACH[a][s] for a in catalog.ADDONS] for s in segments])
    addons = rng.random((n, len(catalog.ADDONS))) < attach
    tiers = [s.tier for s in spec]
    wallet = np.array([_list_arr(tiers[i], int(seats[i]), addons[i]) for i in range(n)])
    countries = _weighted(rng, catalog.COUNTRIES, n)
    region_of = {c[0]: c[1] for c in catalog.COUNTRIES}
    ids = [f"ACC-{i + 1:05d}" for i in range(n)]
    names = _names(rng, n)
    owners = [s.owners[int(rng.integers(len(s.owners)))] for s in spec]
    return Firms(
        account_id=ids,
        name=names,
        domain=[f"{_slug(x)}.example" for x in names],
        segment=segments,
        is_prospect=prospect,
        employees=employees,
        industry=_pick(rng, catalog.INDUSTRIES, catalog.INDUSTRY_WEIGHTS, n),
        country=countries,
        region=[region_of[c] for c in countries],
        channel=_weighted(rng, catalog.CHANNELS, n),
        owner=[None if prospect[i] else catalog.CSMS[owners[i]] for i in range(n)],
        tier=tiers,
        monthly=terms.monthly,
        auto_renew=terms.monthly | (rng.random(n) < np.array([s.auto_renew_share for s in spec])),
        anchor=terms.anchor,
        start_month=terms.start,
        term_start_month=terms.term_start,
        created_at=terms.created,
        health_mean=np.array([s.health_mean for s in spec]) + 0.6 * rng.standard_normal(n),
        slow_payer=rng.random(n) < np.array([s.slow_payer_share for s in spec]),
        seats=seats,
        addons=addons,
        discount=np.where(terms.monthly, 0.0, np.round(rng.uniform(0.0, 0.25, size=n), 2)),
        parent=_parents(rng, ids, segments, terms.start, prospect),
        category_budget=np.round(wallet * rng.uniform(1.5, 6.0, size=n), -2),
    )
