"""Subscriptions and invoices from the simulated contract lines.

Month-to-month lines are invoiced every month on the billing day and paid by card (due
on issue). Annual lines are invoiced upfront for the whole term (a mid-term co-termed
change invoices only the MRR difference for the remaining months), net 30 (net 45 for
enterprise). An invoice is late with probability ``0.04 + 0.25 slow_payer + 0.6
sig(-3 h - 3) + 0.55 stress`` (``stress``: the account is in a budget-stress spell):
late payers pay 5+ days after due (exponential, mean 20 days); a late invoice of an
account that churns is uncollectible 30% of the time. About 0.5% of invoices are voided
and re-issued. Amounts are USD with cents.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from keepwell.demo.catalog import Segment
from keepwell.demo.firms import Firms
from keepwell.demo.lifecycle import Lifecycle, Line, add_months, months_between, sig
from keepwell.demo.table import Table
from keepwell.demo.timeline import Timeline

SUBSCRIPTION_COLUMNS = (
    "line_id",
    "account_id",
    "product",
    "mrr",
    "currency",
    "quantity",
    "starts_on",
    "ends_on",
    "auto_renew",
)
INVOICE_COLUMNS = (
    "invoice_id",
    "account_id",
    "amount",
    "currency",
    "issued_on",
    "due_on",
    "paid_on",
    "status",
)
CENT = Decimal("0.01")


def _money(value: float) -> Decimal:
    return Decimal(repr(round(value, 2))).quantize(CENT)


def ordered_lines(life: Lifecycle) -> list[Line]:
    """Lines in id order: by start date, account, product."""
    return sorted(life.lines, key=lambda ln: (ln.starts_on, ln.account, ln.product))


def subscriptions_table(lines: list[Line], firms: Firms) -> Table:
    """The subscriptions entity; ``lines`` as given by :func:`ordered_lines`."""
    rows = [
        (
            f"SUB-{i + 1:06d}",
            firms.account_id[ln.account],
            ln.product,
            _money(ln.mrr),
            "USD",
            ln.quantity,
            ln.starts_on,
            ln.ends_on,
            ln.auto_renew,
        )
        for i, ln in enumerate(lines)
    ]
    return Table(SUBSCRIPTION_COLUMNS, rows)


def _charges(line: Line, end: date) -> list[tuple[date, float]]:
    if line.annual:
        assert line.billed_until is not None
        months = months_between(line.starts_on, line.billed_until)
        amount = (line.mrr - line.prorated_from) * months
        return [(line.starts_on, amount)] if line.starts_on < end and amount > 0 else []
    stop = min(end, line.ends_on) if line.ends_on is not None else end
    out, k = [], 0
    while (day := add_months(line.starts_on, k)) < stop:
        out.append((day, line.mrr))
        k += 1
    return out


def _payment(
    rng: np.random.Generator, issued: date, due: date, late_p: float, churner: bool, end: date
) -> tuple[date | None, str]:
    if rng.random() < late_p:
        if churner and rng.random() < 0.3:
            return None, "uncollectible"
        paid = due + timedelta(days=5 + int(rng.exponential(20.0)))
    else:
        paid = issued + timedelta(days=int(rng.integers(0, (due - issued).days + 1)))
    return (paid, "paid") if paid < end else (None, "open")


def invoices_table(
    rng: np.random.Generator, lines: list[Line], firms: Firms, life: Lifecycle, timeline: Timeline
) -> Table:
    """The invoices entity: one invoice per account and billing day, ids by issue date."""
    totals: dict[tuple[date, int, bool], float] = defaultdict(float)
    for line in lines:
        for day, amount in _charges(line, timeline.end):
            totals[(day, line.account, line.annual)] += amount
    churned_on: dict[int, list[date]] = defaultdict(list)
    for churn in life.churns:
        churned_on[churn.account].append(churn.churned_on)
    rows: list[tuple[str, Decimal, date, date, date | None, str]] = []
    for (issued, a, annual), amount in sorted(totals.items()):
        terms = (45 if firms.segment[a] is Segment.ENT else 30) if annual else 0
        due = issued + timedelta(days=terms)
        month = min(max(timeline.month_of(issued), 0), timeline.months - 1)
        h = life.health[a, month]
        h = float(firms.health_mean[a]) if np.isnan(h) else float(h)
        late_p = 0.04 + 0.25 * float(firms.slow_payer[a]) + 0.6 * sig(-3.0 * h - 3.0)
        late_p += 0.55 * float(life.stress[a, month])
        churner = any(0 <= (day - issued).days <= 120 for day in churned_on.get(a, []))
        paid, status = _payment(rng, issued, due, late_p, churner, timeline.end)
        if rng.random() < 0.005:
            rows.append((firms.account_id[a], _money(amount), issued, due, None, "void"))
        rows.append((firms.account_id[a], _money(amount), issued, due, paid, status))
    numbered = [
        (f"INV-{i + 1:06d}", acc, amount, "USD", issued, due, paid, status)
        for i, (acc, amount, issued, due, paid, status) in enumerate(rows)
    ]
    return Table(INVOICE_COLUMNS, numbered)
