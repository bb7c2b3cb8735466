"""The demo company: a B2B SaaS vendor's customers over a window of months.

Pure: takes a seed and a calendar, returns tables; no I/O, no wall clock. The pieces:
``firms`` (who the accounts are), ``lifecycle`` (latent engagement, sentiment, budget
stress, sponsor and champion departures, support incidents, and contracts month by
month), ``billing`` (subscriptions, invoices), ``people`` (contacts), ``engagement``
(tickets, surveys, activities) and ``usage`` (product events, produced month by month).

Targets (per year, measured on 2000 accounts x 36 months; tests assert ranges):
- logo churn 10-16% overall (SMB ~17%, mid-market ~10%, enterprise ~5%); month-to-month
  SMB churns most; 10% of churns are exogenous (budget cut, acquisition, closure);
- 20-35% of accounts expand (seats, add-ons or list-price uplift at renewal);
- 8-15% of accounts contract (seats down, add-on dropped);
- about 15% of churned accounts come back (reactivation) within the window;
- trailing-twelve-month NRR 103-112%, GRR 86-92%;
- ARR at the end: about 8% of customers >= 100k, 21% 20k-100k, 71% below 20k.
All money is USD (no other currency).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from keepwell.demo import catalog
from keepwell.demo.billing import invoices_table, ordered_lines, subscriptions_table
from keepwell.demo.catalog import Billing
from keepwell.demo.engagement import activities_table, surveys_table, tickets_table
from keepwell.demo.firms import Firms, draw_firms
from keepwell.demo.lifecycle import Lifecycle, simulate
from keepwell.demo.people import build_people, contacts_table
from keepwell.demo.table import Table
from keepwell.demo.timeline import Timeline, stream
from keepwell.demo.usage import event_batches

ACCOUNT_COLUMNS = (
    "account_id",
    "name",
    "parent_account_id",
    "industry",
    "employees",
    "country",
    "owner",
    "created_at",
    "category_budget",
    "is_prospect",
    "plan_tier",
    "region",
    "acquisition_channel",
)
ENTITIES = ("accounts", "contacts", "subscriptions", "invoices", "tickets", "surveys", "activities")


@dataclass(frozen=True)
class DemoCompany:
    """Generated tables (contract entities and truth) and the usage-event producer."""

    tables: dict[str, Table]
    truth: dict[str, Table]
    firms: Firms
    life: Lifecycle
    timeline: Timeline
    seed: int

    def events(self) -> Iterator[pa.Table]:
        """Usage events month by month (see :mod:`keepwell.demo.usage`)."""
        return event_batches(stream(self.seed, "usage"), self.firms, self.life, self.timeline)


def _accounts(firms: Firms) -> Table:
    rows = [
        (
            firms.account_id[a],
            firms.name[a],
            firms.parent[a],
            firms.industry[a],
            int(firms.employees[a]),
            firms.country[a],
            firms.owner[a],
            firms.created_at[a],
            int(firms.category_budget[a]),
            bool(firms.is_prospect[a]),
            None if firms.is_prospect[a] else firms.tier[a],
            firms.region[a],
            firms.channel[a],
        )
        for a in range(firms.n)
    ]
    return Table(ACCOUNT_COLUMNS, rows)


def _truth(firms: Firms, life: Lifecycle, timeline: Timeline) -> dict[str, Table]:
    ids, months = firms.account_id, [timeline.month_start(m) for m in range(timeline.months)]
    health = [
        (
            ids[a],
            months[m],
            round(float(life.health[a, m]), 4),
            round(float(life.sentiment[a, m]), 4),
            bool(life.stress[a, m]),
        )
        for a in range(firms.n)
        for m in range(timeline.months)
        if not np.isnan(life.health[a, m])
    ]
    accounts = [
        (
            ids[a],
            firms.segment[a].value,
            "monthly" if firms.monthly[a] else "annual",
            round(float(firms.health_mean[a]), 4),
            bool(firms.slow_payer[a]),
            None
            if firms.is_prospect[a]
            else months[0]
            if firms.start_month[a] == 0
            else months[int(firms.start_month[a])],
        )
        for a in range(firms.n)
    ]
    churn = sorted((ids[c.account], c.churned_on, c.reason) for c in life.churns)
    marks = sorted((ids[k.account], months[k.month], k.kind) for k in life.marks)
    features = [(catalog.LOGIN, False, catalog.PLATFORM)]
    features += [(f.event, f.key, f.gate) for f in catalog.FEATURES]
    return {
        "health": Table(
            ("account_id", "month", "latent_health", "sentiment", "budget_stress"), health
        ),
        "churn": Table(("account_id", "churned_on", "reason"), churn),
        "accounts": Table(
            ("account_id", "segment", "contract", "health_mean", "slow_payer", "first_month"),
            accounts,
        ),
        "marks": Table(("account_id", "month", "kind"), marks),
        "features": Table(("event", "key_feature", "product"), features),
    }


def generate_company(
    *, accounts: int, months: int, seed: int, end_month: date, billing: Billing = Billing.MIXED
) -> DemoCompany:
    """Simulate ``accounts`` accounts over ``months`` calendar months ending with ``end_month``,
    billed as ``billing`` says (:class:`~keepwell.demo.catalog.Billing`).

    Same arguments, same company: every random draw comes from streams derived from
    ``seed`` (:func:`keepwell.demo.timeline.stream`).
    """
    timeline = Timeline(end_month, months)
    firms = draw_firms(stream(seed, "firms"), accounts, timeline, billing)
    life = simulate(firms, timeline, stream(seed, "lifecycle"))
    lines = ordered_lines(life)
    people = build_people(stream(seed, "contacts"), firms, life, timeline)
    activities, reviews = activities_table(stream(seed, "activities"), firms, life, timeline)
    tables = {
        "accounts": _accounts(firms),
        "contacts": contacts_table(people, firms),
        "subscriptions": subscriptions_table(lines, firms),
        "invoices": invoices_table(stream(seed, "billing"), lines, firms, life, timeline),
        "tickets": tickets_table(stream(seed, "tickets"), firms, life, timeline),
        "surveys": surveys_table(stream(seed, "surveys"), firms, life, timeline, people, reviews),
        "activities": activities,
    }
    return DemoCompany(tables, _truth(firms, life, timeline), firms, life, timeline, seed)
