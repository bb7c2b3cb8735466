"""Month-by-month life of each customer, driven by latent states and dated shocks.

Real customers do not churn for one reason. Each account carries several hidden states,
each of which leaves its own trace in the data the platform sees, and churn depends on
all of them (the leading indicators of customer-success practice):

- *engagement* ``h`` (unitless, about N(0, 0.85) across the book): an AR(1) around the
  account's long-run mean ``mu``; it drives product usage (active users, logins,
  feature breadth), ticket volume, expansion and contraction::

      h[m] = mu + 0.8 * (h[m-1] - mu) + 0.35 * eps[m] + shocks_h[m] - 0.6 * disengaging

- *sentiment* ``s`` (how the customer's people feel about the vendor, sd ~0.7): an AR(1)
  of its own around a long-run mood ``nu`` ~ N(0, 0.4) of the account, ``s[m] = nu +
  0.85 (s[m-1] - nu) + 0.3 eps'[m] + shocks_s[m] - 0.3 disengaging``; it drives NPS
  and CSAT and is barely visible in usage;
- *budget stress* (a spell: starts 1.2%/month, ends 12%/month, so ~8% of accounts are
  in one at any time): invoices are paid late, contraction is a little likelier;
- *sponsor gap*: when the executive sponsor leaves, half of the time nobody replaces
  them (the contact list shows no sponsor), otherwise a successor arrives 1-3 months
  later; *recent champion loss* and *recent support incident* (4 months each).

Shocks (per active month; effect on h, on s): sponsor leaves (1.5%; -0.3, -0.5),
champion leaves (2%; -0.2, -0.4), bad support incident (1.8%; -0.2, -0.8), executive
alignment (1.5%; +0.2, +0.6). Together they add a *risk* to the churn log-odds::

    risk = 1.7 [no sponsor] + 1.5 [champion lost < 4 months ago]
         + 1.6 [support incident < 4 months ago] + 1.9 [budget stress] - 2.0 s

so usage alone cannot tell a frustrated but busy customer from a content one. An account
that decides to leave for health reasons *disengages*: its engagement keeps falling by
0.6 a month (sentiment by 0.3) from the decision until it churns (2-3 months later on a
monthly contract, at the renewal date, 3 months later, on an annual one), which is what
makes usage, tickets, NPS and payments lead churn. A small exogenous hazard (budget
cut, acquisition, closure: 0.25%/month SMB, 0.15% mid-market, 0.08% enterprise) churns
accounts whatever their health, so some healthy-looking ones leave.

Decision probabilities (``sig`` = logistic; constants below):
- churn, month-to-month, per month: sig(c - 1.8 h + risk), c = -7.0 SMB, -7.4 mid,
  -7.8 ent (0.1% a month for an SMB at h = 0 and no risk, 0.5% at h = -1, 3% at h = -1
  in a budget-stress spell);
- churn, annual, decided 3 months before the renewal: sig(c - 2.1 h + risk), c = -4.9
  SMB, -5.2 mid, -5.7 ent (0.7%, 0.5%, 0.3% at h = 0 and no risk);
- seat expansion, per month: sig(-4.9 + h + bonus), bonus 0 / 0.3 / 0.6 (0.7-1.3% at
  h = 0), by 10-50% of the seats (x1.15 mid-market, x1.3 enterprise); annual contracts
  expand mid-term on a co-termed line;
- at an annual renewal: +10-60% seats with sig(-2.2 + h + bonus), else -10-40% with
  sig(-2.3 - 1.3 h + 0.5 stress), else a 3-7% list-price uplift on a quarter of the
  renewals; an add-on is cross-sold with sig(-3.5 + h) or dropped with sig(-2.5 - 1.3 h);
- month-to-month contraction: sig(-5 - 1.2 h + 0.5 stress) a month, add-on dropped
  sig(-5.5 - 1.2 h);
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
from keepwell.demo.records import Churn, Lifecycle, Line, Mark, months_between, sig
from keepwell.demo.timeline import Timeline, add_months

PHI, SIGMA, DRIFT = 0.8, 0.35, 0.6  # engagement h
S_PHI, S_SIGMA, S_DRIFT, S_MEAN_SD = 0.85, 0.3, 0.3, 0.4  # sentiment s
SHOCKS: tuple[tuple[str, float, float, float], ...] = (
    # name, monthly probability, effect on h, effect on s
    ("sponsor_left", 0.015, -0.3, -0.5),
    ("champion_left", 0.020, -0.2, -0.4),
    ("support_incident", 0.018, -0.2, -0.8),
    ("exec_alignment", 0.015, 0.2, 0.6),
)
STRESS_START, STRESS_END = 0.012, 0.12  # monthly chances a budget-stress spell starts, ends
SPONSOR_REPLACED, CHAMPION_REPLACED = 0.5, 0.7  # chance a successor is named
RECENT = 4  # months a champion loss or a support incident weighs on the churn decision
RISK_NO_SPONSOR, RISK_CHAMPION, RISK_INCIDENT, RISK_STRESS, RISK_SENTIMENT = 1.7, 1.5, 1.6, 1.9, 2.0
H_MONTHLY, H_ANNUAL = 1.8, 2.1  # weight of engagement h in the churn log-odds
NEVER = 10**6
CHURN_MONTHLY = {Segment.SMB: -7.0, Segment.MID: -7.4, Segment.ENT: -7.8}
CHURN_ANNUAL = {Segment.SMB: -4.9, Segment.MID: -5.2, Segment.ENT: -5.7}
EXPAND_BONUS = {Segment.SMB: 0.0, Segment.MID: 0.3, Segment.ENT: 0.6}
EXOGENOUS = {Segment.SMB: 0.0025, Segment.MID: 0.0015, Segment.ENT: 0.0008}
REACTIVATION = 0.015
HEALTH_REASONS = ("poor_adoption", "competitor", "price")
EXOGENOUS_REASONS = ("budget_cut", "acquired", "business_closed")


@dataclass
class _State:
    h: float = 0.0
    s: float = 0.0
    stress: bool = False
    sponsor_back: int = -1  # month a sponsor is present again (NEVER: not replaced)
    champion_lost: int = -99  # month of the last champion departure
    incident: int = -99  # month of the last bad support incident
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
        self.u = rng.random((n, months, 21))
        self.z = rng.standard_normal((n, months, 3))
        self.mood = S_MEAN_SD * rng.standard_normal(n)  # long-run sentiment per account
        self.bounds = timeline.month_day_bounds()
        self.out = Lifecycle(
            health=np.full((n, months), np.nan),
            sentiment=np.full((n, months), np.nan),
            stress=np.zeros((n, months), dtype=bool),
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
        st.s = float(self.mood[a] + 0.3 * self.z[a, m, 2])
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
        shock_h = shock_s = 0.0
        for k, (name, p, dh, ds) in enumerate(SHOCKS):
            if u[k] < p and not (name == "sponsor_left" and st.sponsor_back > m):
                shock_h, shock_s = shock_h + dh, shock_s + ds
                self.out.marks.append(Mark(a, m, name))
                st.last_shock = (m, name) if dh < 0 else st.last_shock
                self._remember(a, st, m, name)
        if st.stress != (u[20] >= STRESS_END if st.stress else u[20] < STRESS_START):
            st.stress = not st.stress
            if st.stress:
                self.out.marks.append(Mark(a, m, "budget_stress"))
        drifting = 1.0 if st.drifting else 0.0
        st.h = mu + PHI * (st.h - mu) + SIGMA * float(self.z[a, m, 0]) + shock_h
        st.h -= DRIFT * drifting
        mood = float(self.mood[a])
        st.s = mood + S_PHI * (st.s - mood) + S_SIGMA * float(self.z[a, m, 2]) + shock_s
        st.s -= S_DRIFT * drifting
        day = self._day(a, m)
        if st.intent_month == m:
            self._churn(a, st, m, day)
            return
        if not self.firms.monthly[a] and m == st.term_end:
            self._renew(a, st, m, day)
        else:
            self._adjust(a, st, m, day)
        self._decide_churn(a, st, m)

    def _remember(self, a: int, st: _State, m: int, name: str) -> None:
        """Dated state a shock leaves behind, and when a departed lead is replaced."""
        u = self.u[a, m]
        if name == "support_incident":
            st.incident = m
        elif name == "sponsor_left":
            replaced = u[18] < SPONSOR_REPLACED
            st.sponsor_back = m + 1 + int(u[19] * 3) if replaced else NEVER
            if replaced:
                self.out.successors[(a, m, "sponsor")] = st.sponsor_back
        elif name == "champion_left":
            st.champion_lost = m
            if u[18] < CHAMPION_REPLACED:
                self.out.successors[(a, m, "champion")] = m + 1 + int(u[19] * 4)

    def _risk(self, st: _State, m: int) -> float:
        """Churn log-odds added by sentiment and the dated risk states (module docstring)."""
        risk = -RISK_SENTIMENT * st.s + (RISK_STRESS if st.stress else 0.0)
        risk += RISK_NO_SPONSOR if st.sponsor_back > m else 0.0
        risk += RISK_CHAMPION if m - st.champion_lost < RECENT else 0.0
        return risk + (RISK_INCIDENT if m - st.incident < RECENT else 0.0)

    def _health_reason(self, st: _State, m: int, pick: float) -> str:
        when, name = st.last_shock
        if m - when <= 6:
            return {"support_incident": "support_experience"}.get(name, name)
        return HEALTH_REASONS[int(pick * len(HEALTH_REASONS))]

    def _decide_churn(self, a: int, st: _State, m: int) -> None:
        if st.intent_month >= 0:
            return
        u, seg, h, risk = self.u[a, m], self.firms.segment[a], st.h, self._risk(st, m)
        if self.firms.monthly[a]:
            if u[4] < sig(CHURN_MONTHLY[seg] - H_MONTHLY * h + risk):
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
            if u[4] < sig(CHURN_ANNUAL[seg] - H_ANNUAL * h + risk):
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
        elif self.firms.monthly[a] and seats > 1 and u[9] < sig(-5.0 - 1.2 * h + 0.5 * st.stress):
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
        elif u[9] < sig(-2.3 - 1.3 * h + 0.5 * st.stress):
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
        st.s, st.stress = float(self.mood[a]), False
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
        self.out.sentiment[a, m] = st.s
        self.out.stress[a, m] = st.stress
        self.out.seats[a, m] = st.seats
        self.out.holds[a, m] = [p in st.products for p in catalog.PRODUCTS]
        self.out.use_lo[a, m], self.out.use_hi[a, m] = st.lo, st.hi


def simulate(firms: Firms, timeline: Timeline, rng: np.random.Generator) -> Lifecycle:
    """Run the month-by-month simulation of every customer account of ``firms``."""
    return _Simulator(firms, timeline, rng).run()


__all__ = [
    "Churn",
    "Lifecycle",
    "Line",
    "Mark",
    "add_months",
    "months_between",
    "sig",
    "simulate",
]
