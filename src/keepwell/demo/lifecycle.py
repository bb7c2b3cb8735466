"""Month-by-month life of each customer, driven by a latent health.

Latent health ``h`` (unitless, about N(0, 0.85) across the book) follows an AR(1)
around the account's long-run mean ``mu``::

    h[m] = mu + 0.8 * (h[m-1] - mu) + 0.35 * eps[m] + shocks[m] - 0.6 * disengaging

Shocks (per active month): sponsor leaves (1.0%, -1.1), champion leaves (1.5%, -0.6),
bad support incident (1.5%, -0.7), executive alignment (1.5%, +0.6). An account that
decides to leave for health reasons *disengages*: its health keeps falling by 0.6 a
month from the decision until it churns (2-3 months later on a monthly contract, at the
renewal date, 3 months later, on an annual one), which is what makes usage, tickets,
NPS and payments lead churn. A small exogenous hazard (budget cut, acquisition,
closure: 0.25%/month SMB, 0.15% mid-market, 0.08% enterprise) churns accounts whatever
their health, so some healthy-looking ones leave.

Decision probabilities (``sig`` = logistic; constants below):
- churn, month-to-month, per month: sig(c - 1.5 h), c = -4.9 SMB, -5.3 mid, -5.7 ent
  (0.7% a month for an SMB at h = 0, 3% at h = -1);
- churn, annual, decided 3 months before the renewal: sig(c - 1.8 h), c = -2.9 SMB,
  -3.2 mid, -3.8 ent (5%, 4%, 2% at h = 0);
- seat expansion, per month: sig(-4.9 + h + bonus), bonus 0 / 0.3 / 0.6 (0.7-1.3% at
  h = 0), by 10-50% of the seats (x1.15 mid-market, x1.3 enterprise); annual contracts
  expand mid-term on a co-termed line;
- at an annual renewal: +10-60% seats with sig(-2.2 + h + bonus), else -10-40% with
  sig(-2.3 - 1.3 h), else a 3-7% list-price uplift on a quarter of the renewals;
  an add-on is cross-sold with sig(-3.5 + h) or dropped with sig(-2.5 - 1.3 h);
- month-to-month contraction: sig(-5 - 1.2 h) a month, add-on dropped sig(-5.5 - 1.2 h);
- cross-sell of a missing add-on: sig(-6.4 + h) per add-on per month;
- reactivation of a churned account (not closed) after 3+ months: 1.5%/month.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from keepwell.demo import catalog
from keepwell.demo.catalog import Segment
from keepwell.demo.firms import Firms
from keepwell.demo.timeline import Timeline, add_months

PHI, SIGMA, DRIFT = 0.8, 0.35, 0.6
SHOCKS: tuple[tuple[str, float, float], ...] = (  # name, monthly probability, effect on h
    ("sponsor_left", 0.010, -1.1),
    ("champion_left", 0.015, -0.6),
    ("support_incident", 0.015, -0.7),
    ("exec_alignment", 0.015, 0.6),
)
CHURN_MONTHLY = {Segment.SMB: -4.9, Segment.MID: -5.3, Segment.ENT: -5.7}
CHURN_ANNUAL = {Segment.SMB: -2.9, Segment.MID: -3.2, Segment.ENT: -3.8}
EXPAND_BONUS = {Segment.SMB: 0.0, Segment.MID: 0.3, Segment.ENT: 0.6}
EXOGENOUS = {Segment.SMB: 0.0025, Segment.MID: 0.0015, Segment.ENT: 0.0008}
REACTIVATION = 0.015
HEALTH_REASONS = ("poor_adoption", "competitor", "price")
EXOGENOUS_REASONS = ("budget_cut", "acquired", "business_closed")


def sig(x: float) -> float:
    """Logistic function 1 / (1 + exp(-x))."""
    return float(1.0 / (1.0 + np.exp(-x)))


@dataclass
class Line:
    """A subscription line in the making (ids are given when the table is built)."""

    account: int
    product: str
    mrr: float
    quantity: int
    starts_on: date
    ends_on: date | None
    auto_renew: bool
    annual: bool
    prorated_from: float = 0.0  # MRR of the line it replaced mid-term (billing proration)
    billed_until: date | None = None  # term end when signed (annual lines are billed upfront)


@dataclass(frozen=True)
class Churn:
    """One realised churn (truth)."""

    account: int
    month: int
    churned_on: date
    reason: str


@dataclass(frozen=True)
class Mark:
    """A dated fact about an account in a month (truth): shocks and movements."""

    account: int
    month: int
    kind: str


@dataclass
class Lifecycle:
    """Outputs of the simulation; arrays are (accounts, months)."""

    health: np.ndarray  # float, NaN while not a customer
    seats: np.ndarray  # int, 0 while not a customer
    holds: np.ndarray  # bool (accounts, months, len(PRODUCTS))
    use_lo: np.ndarray  # int: first day index with access in the month
    use_hi: np.ndarray  # int: day index after the last day with access (== use_lo: none)
    lines: list[Line] = field(default_factory=list)
    churns: list[Churn] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)


@dataclass
class _State:
    h: float = 0.0
    active: bool = False
    seats: int = 0
    price_factor: float = 1.0
    products: set[str] = field(default_factory=set)
    open: dict[str, Line] = field(default_factory=dict)
    term_end: int = 0  # month index of the next renewal (annual)
    intent_month: int = -1  # month the account will churn
    intent_reason: str = ""
    drifting: bool = False
    churned_month: int = -1
    closed_for_good: bool = False
    last_shock: tuple[int, str] = (-99, "")
    decided: int = -1  # term end for which the renewal decision was taken
    lo: int = -1  # access window within the current month (day indexes)
    hi: int = -1


class _Simulator:
    """Runs every account through the window; one instance per simulation."""

    def __init__(self, firms: Firms, timeline: Timeline, rng: np.random.Generator) -> None:
        n, months = firms.n, timeline.months
        self.firms, self.timeline = firms, timeline
        self.u = rng.random((n, months, 18))
        self.z = rng.standard_normal((n, months, 2))
        self.bounds = timeline.month_day_bounds()
        self.out = Lifecycle(
            health=np.full((n, months), np.nan),
            seats=np.zeros((n, months), dtype=np.int64),
            holds=np.zeros((n, months, len(catalog.PRODUCTS)), dtype=bool),
            use_lo=np.zeros((n, months), dtype=np.int64),
            use_hi=np.zeros((n, months), dtype=np.int64),
        )

    def run(self) -> Lifecycle:
        for a in range(self.firms.n):
            if not self.firms.is_prospect[a]:
                self._account(a)
        return self.out

    def _account(self, a: int) -> None:
        st = _State()
        start = int(self.firms.start_month[a])
        for m in range(self.timeline.months):
            st.lo, st.hi = (int(self.bounds[m]), int(self.bounds[m + 1])) if st.active else (-1, -1)
            if m == start:
                self._begin(a, st, m)
            elif st.active:
                self._evolve(a, st, m)
            elif st.churned_month >= 0:
                self._maybe_reactivate(a, st, m)
            self._record(a, st, m)

    def _day(self, a: int, m: int) -> date:
        return self.timeline.on(m, int(self.firms.anchor[a]))

    def _begin(self, a: int, st: _State, m: int) -> None:
        f = self.firms
        st.active, st.seats = True, int(f.seats[a])
        st.h = float(f.health_mean[a] + 0.5 * self.z[a, m, 1])
        st.term_end = int(f.term_start_month[a]) + 12
        products = {catalog.PLATFORM} | {
            p for p, on in zip(catalog.ADDONS, f.addons[a], strict=True) if on
        }
        if m == 0 and f.created_at[a] < self.timeline.start:
            first = f.created_at[a] if f.monthly[a] else self._day(a, int(f.term_start_month[a]))
        else:
            first = self._day(a, m)
        st.lo, st.hi = (
            max(int(self.bounds[m]), self.timeline.day_index(first)),
            int(self.bounds[m + 1]),
        )
        self._apply(a, st, first, st.seats, products, renewal=True)
        self.out.marks.append(Mark(a, m, "new"))

    def _evolve(self, a: int, st: _State, m: int) -> None:
        u, mu = self.u[a, m], float(self.firms.health_mean[a])
        shock = 0.0
        for k, (name, p, effect) in enumerate(SHOCKS):
            if u[k] < p:
                shock += effect
                self.out.marks.append(Mark(a, m, name))
                st.last_shock = (m, name) if effect < 0 else st.last_shock
        drift = DRIFT if st.drifting else 0.0
        st.h = mu + PHI * (st.h - mu) + SIGMA * float(self.z[a, m, 0]) + shock - drift
        day = self._day(a, m)
        if st.intent_month == m:
            self._churn(a, st, m, day)
            return
        if not self.firms.monthly[a] and m == st.term_end:
            self._renew(a, st, m, day)
        else:
            self._adjust(a, st, m, day)
        self._decide_churn(a, st, m)

    def _health_reason(self, st: _State, m: int, pick: float) -> str:
        when, name = st.last_shock
        if m - when <= 6:
            return {"support_incident": "support_experience"}.get(name, name)
        return HEALTH_REASONS[int(pick * len(HEALTH_REASONS))]

    def _decide_churn(self, a: int, st: _State, m: int) -> None:
        if st.intent_month >= 0:
            return
        u, seg, h = self.u[a, m], self.firms.segment[a], st.h
        if self.firms.monthly[a]:
            if u[4] < sig(CHURN_MONTHLY[seg] - 1.5 * h):
                st.intent_month, st.drifting = m + 2 + int(u[6] < 0.4), True
                st.intent_reason = self._health_reason(st, m, float(u[15]))
                self.out.marks.append(Mark(a, m, "churn_decision"))
            elif u[5] < EXOGENOUS[seg]:
                st.intent_month, st.drifting = m + 1, False
                st.intent_reason = EXOGENOUS_REASONS[int(u[15] * 3)]
            return
        left = st.term_end - m
        if 0 < left <= 3 and st.decided != st.term_end:
            st.decided = st.term_end
            if u[4] < sig(CHURN_ANNUAL[seg] - 1.8 * h):
                st.intent_month, st.drifting = st.term_end, True
                st.intent_reason = self._health_reason(st, m, float(u[15]))
                self.out.marks.append(Mark(a, m, "churn_decision"))
                return
        if u[5] < EXOGENOUS[seg]:
            st.intent_month, st.drifting = st.term_end, False
            st.intent_reason = EXOGENOUS_REASONS[int(u[15] * 3)]

    def _churn(self, a: int, st: _State, m: int, day: date) -> None:
        for line in st.open.values():
            line.ends_on = day
        st.open.clear()
        st.active, st.churned_month, st.drifting = False, m, False
        st.closed_for_good = st.intent_reason == "business_closed"
        st.hi = self.timeline.day_index(day)
        self.out.churns.append(Churn(a, m, day, st.intent_reason))
        st.intent_month, st.intent_reason = -1, ""

    def _allowed_addons(self, a: int, st: _State) -> list[str]:
        smb = self.firms.segment[a] is Segment.SMB
        return [
            p for p in catalog.ADDONS if p not in st.products and not (smb and p == catalog.SUPPORT)
        ]

    def _adjust(self, a: int, st: _State, m: int, day: date) -> None:
        u, h, seg = self.u[a, m], st.h, self.firms.segment[a]
        seats, products = st.seats, set(st.products)
        leaving = st.intent_month >= 0
        if not leaving and u[7] < sig(-4.9 + h + EXPAND_BONUS[seg]):
            seats += max(
                1, round(seats * (0.1 + 0.4 * float(u[8])) * (1 + 0.5 * EXPAND_BONUS[seg]))
            )
            self.out.marks.append(Mark(a, m, "expansion"))
        elif self.firms.monthly[a] and seats > 1 and u[9] < sig(-5.0 - 1.2 * h):
            seats = max(1, seats - max(1, round(seats * (0.1 + 0.3 * float(u[10])))))
            self.out.marks.append(Mark(a, m, "contraction"))
        missing = self._allowed_addons(a, st)
        if not leaving and missing and u[12] < sig(-6.4 + h) * len(missing):
            products.add(missing[int(u[11] * len(missing))])
            self.out.marks.append(Mark(a, m, "cross_sell"))
        elif self.firms.monthly[a] and len(products) > 1 and u[13] < sig(-5.5 - 1.2 * h):
            products.discard(sorted(products - {catalog.PLATFORM})[0])
            self.out.marks.append(Mark(a, m, "addon_dropped"))
        if seats != st.seats or products != st.products:
            self._apply(a, st, day, seats, products, renewal=False)

    def _renew(self, a: int, st: _State, m: int, day: date) -> None:
        u, h, seg = self.u[a, m], st.h, self.firms.segment[a]
        seats, products = st.seats, set(st.products)
        if u[7] < sig(-2.2 + h + EXPAND_BONUS[seg]):
            seats += max(
                1, round(seats * (0.1 + 0.5 * float(u[8])) * (1 + 0.5 * EXPAND_BONUS[seg]))
            )
            self.out.marks.append(Mark(a, m, "expansion"))
        elif u[9] < sig(-2.3 - 1.3 * h):
            seats = max(1, seats - max(1, round(seats * (0.1 + 0.3 * float(u[10])))))
            self.out.marks.append(Mark(a, m, "contraction"))
        else:
            st.price_factor *= 1.0 + (0.03 + 0.04 * float(u[17]) if u[13] < 0.25 else 0.0)
        missing = self._allowed_addons(a, st)
        if missing and u[12] < sig(-3.5 + h):
            products.add(missing[int(u[11] * len(missing))])
            self.out.marks.append(Mark(a, m, "cross_sell"))
        elif len(products) > 1 and u[16] < sig(-2.5 - 1.3 * h):
            products.discard(sorted(products - {catalog.PLATFORM})[0])
            self.out.marks.append(Mark(a, m, "addon_dropped"))
        st.term_end = m + 12
        self._apply(a, st, day, seats, products, renewal=True)

    def _maybe_reactivate(self, a: int, st: _State, m: int) -> None:
        u = self.u[a, m]
        if st.closed_for_good or m - st.churned_month < 3 or u[14] >= REACTIVATION:
            return
        day = self._day(a, m)
        st.active, st.churned_month, st.price_factor = True, -1, 1.0
        st.h = float(self.firms.health_mean[a] + 0.3 + 0.4 * self.z[a, m, 1])
        st.term_end, st.decided = m + 12, -1
        st.lo, st.hi = self.timeline.day_index(day), int(self.bounds[m + 1])
        seats = max(1, round(st.seats * (0.5 + 0.5 * float(u[8]))))
        products = {catalog.PLATFORM} | ({catalog.ANALYTICS} & st.products)
        st.products = set()
        self._apply(a, st, day, seats, products, renewal=True)
        self.out.marks.append(Mark(a, m, "reactivation"))

    def _price(self, a: int, st: _State, product: str) -> tuple[float, int]:
        tier, f = self.firms.tier[a], st.price_factor * (1.0 - float(self.firms.discount[a]))
        platform = round(st.seats * catalog.SEAT_PRICE[catalog.PLATFORM][tier] * f, 2)
        if product == catalog.PLATFORM:
            return platform, st.seats
        if product == catalog.ANALYTICS:
            return round(st.seats * catalog.SEAT_PRICE[catalog.ANALYTICS][tier] * f, 2), st.seats
        if product == catalog.AUTOMATION:
            return round(catalog.FLAT_PRICE[catalog.AUTOMATION][tier] * f, 2), 1
        return round(catalog.SUPPORT_RATE * platform, 2), 1

    def _apply(
        self, a: int, st: _State, day: date, seats: int, products: set[str], *, renewal: bool
    ) -> None:
        annual = not bool(self.firms.monthly[a])
        ends = self._day(a, st.term_end) if annual else None
        st.seats, st.products = seats, products
        for product in sorted(set(st.open) | products):
            old = st.open.get(product)
            if product not in products:
                if old is not None:
                    old.ends_on = day
                    del st.open[product]
                continue
            mrr, qty = self._price(a, st, product)
            if old is not None and not renewal and (old.mrr, old.quantity) == (mrr, qty):
                continue
            if old is not None:
                old.ends_on = day
            prorated = old.mrr if old is not None and annual and not renewal else 0.0
            line = Line(
                a,
                product,
                mrr,
                qty,
                day,
                ends,
                bool(self.firms.auto_renew[a]),
                annual,
                prorated,
                ends,
            )
            self.out.lines.append(line)
            st.open[product] = line

    def _record(self, a: int, st: _State, m: int) -> None:
        if st.lo < 0 or st.hi <= st.lo:
            return
        self.out.health[a, m] = st.h
        self.out.seats[a, m] = st.seats
        self.out.holds[a, m] = [p in st.products for p in catalog.PRODUCTS]
        self.out.use_lo[a, m], self.out.use_hi[a, m] = st.lo, st.hi


def simulate(firms: Firms, timeline: Timeline, rng: np.random.Generator) -> Lifecycle:
    """Run the month-by-month simulation of every customer account of ``firms``."""
    return _Simulator(firms, timeline, rng).run()


def months_between(start: date, end: date) -> int:
    """Whole calendar months from ``start`` to ``end`` (same day of month by construction)."""
    return (end.year - start.year) * 12 + end.month - start.month


__all__ = ["Churn", "Lifecycle", "Line", "Mark", "add_months", "months_between", "simulate"]
