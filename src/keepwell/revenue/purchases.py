"""Cross-sell and repurchase: customers buying another product, or buying again, in a
period (the renewal rate's sibling; definitions in docs/metrics.md).

The customers of a period ``[start, day]`` are the accounts paying on the day before
``start``. A purchase is a line with MRR > 0 of such a customer starting in the period
that is not a renewal (a renewal starts within ``GRACE_DAYS`` of the end of another line
of the same account and product, as in :mod:`keepwell.revenue.renewals`):

- a cross-sell when the account had no earlier line of that product;
- a repurchase when it had one (more of a product it has, or buying it again after a
  lapse longer than the grace window).
"""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from keepwell.revenue.renewals import GRACE_DAYS


def purchase_totals(
    lines: ir.Table, start: date | ir.DateValue, day: date | ir.DateValue
) -> ir.Table:
    """One row: ``customers`` (accounts paying on ``start - 1 day``), and of them the
    accounts with a cross-sell (``cross_sell_accounts``), a repurchase
    (``repurchase_accounts``) and either (``purchase_accounts``) starting in
    ``[start, day]``. Rates are those counts / customers. ``start`` and ``day`` may be
    Ibis scalars (parameters of a template)."""
    before = start - timedelta(days=1)
    paying = lines.filter(
        (lines.mrr > 0)
        & (lines.starts_on <= before)
        & (lines.ends_on.isnull() | (lines.ends_on > before))
    )
    customers = paying.select(customer=paying.account_id).distinct()
    bought = lines.filter((lines.mrr > 0) & (lines.starts_on >= start) & (lines.starts_on <= day))
    bought = bought.join(customers, bought.account_id == customers.customer).select(
        "line_id", "account_id", "product", "starts_on"
    )
    earlier = _earlier(lines)
    joined = bought.left_join(
        earlier,
        (bought.account_id == earlier.e_account)
        & (bought.product == earlier.e_product)
        & (bought.line_id != earlier.e_line)
        & (earlier.e_starts < bought.starts_on),
    )
    grace = ibis.interval(days=GRACE_DAYS)
    renews = (
        joined.e_ends.notnull()
        & (joined.starts_on >= joined.e_ends - grace)
        & (joined.starts_on <= joined.e_ends + grace)
    )
    flags = joined.group_by(["line_id", "account_id"]).aggregate(
        had=joined.e_line.count(), renewal=renews.ifelse(1, 0).sum()
    )
    kinds = flags.mutate(
        cross=flags.had == 0, repurchase=(flags.had > 0) & (flags.renewal.fill_null(0) == 0)
    )
    per_account = kinds.group_by("account_id").aggregate(
        cross=kinds.cross.ifelse(1, 0).max(), repurchase=kinds.repurchase.ifelse(1, 0).max()
    )
    counts = per_account.aggregate(
        cross_sell_accounts=per_account.count(where=per_account.cross == 1),
        repurchase_accounts=per_account.count(where=per_account.repurchase == 1),
        purchase_accounts=per_account.count(
            where=(per_account.cross == 1) | (per_account.repurchase == 1)
        ),
    )
    return customers.aggregate(customers=customers.count()).cross_join(counts)


def _earlier(lines: ir.Table) -> ir.Table:
    return lines.select(
        e_line=lines.line_id,
        e_account=lines.account_id,
        e_product=lines.product,
        e_starts=lines.starts_on,
        e_ends=lines.ends_on,
    )
