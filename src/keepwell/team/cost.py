"""Cost to serve and renewal margin per account, segment and tier; CAC against
first-year ARR. Pure.

Cost inputs (workspace, base currency): ``csm_hour_cost`` (loaded cost of a CSM hour),
``hours_<kind>`` per activity kind (meeting, call, email, business_review, note),
``ticket_<priority>`` (support cost per ticket by priority: low, normal, high, urgent),
``techtouch_email_cost`` (an automated email), ``cogs_share`` (cost of goods as a
fraction of revenue) and ``cac`` (acquisition cost of a new customer; optional).

Over a period (the 12 months up to as_of):
    cost to serve(account) = csm_hour_cost × Σ_kind hours_kind × activities_kind
                           + Σ_priority ticket_priority × tickets_priority
                           + techtouch_email_cost × automated emails
(an activity without an author is automated: tech-touch). Renewal revenue = the ARR on
as_of of the accounts that already paid 12 months earlier; renewal margin = renewal
revenue − cost to serve of those accounts − cogs_share × renewal revenue, and margin
% = margin / renewal revenue. CAC ratio = CAC × new accounts / their first-year ARR.
Tier: "high-touch" (held by a CSM) or "tech-touch" (a pool, or no holder).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

KINDS = ("meeting", "call", "email", "business_review", "note")
PRIORITIES = ("low", "normal", "high", "urgent")
DEFAULTS: dict[str, Decimal] = {
    "csm_hour_cost": Decimal(75),
    **{
        f"hours_{k}": Decimal(h)
        for k, h in zip(KINDS, ("1", "0.5", "0.1", "3", "0.1"), strict=True)
    },
    **{f"ticket_{p}": Decimal(c) for p, c in zip(PRIORITIES, (15, 25, 60, 120), strict=True)},
    "techtouch_email_cost": Decimal("0.05"),
    "cogs_share": Decimal("0.15"),
}
#: Every input a workspace may set (``cac`` has no default: unknown until set).
INPUTS = (*DEFAULTS, "cac")
HIGH_TOUCH, TECH_TOUCH = "high-touch", "tech-touch"


def account_costs(
    activities: Sequence[Mapping[str, Any]],
    tickets: Sequence[Mapping[str, Any]],
    inputs: Mapping[str, Decimal],
) -> dict[str, Decimal]:
    """Cost to serve per account from its ``activities`` (account_id, kind, automated)
    and ``tickets`` (account_id, priority) of the period (formula in the docstring)."""
    costs: dict[str, Decimal] = {}
    hour = inputs["csm_hour_cost"]
    for a in activities:
        if a["automated"]:
            cost = inputs["techtouch_email_cost"] if a["kind"] == "email" else Decimal(0)
        else:
            cost = hour * inputs.get(f"hours_{a['kind']}", Decimal(0))
        costs[a["account_id"]] = costs.get(a["account_id"], Decimal(0)) + cost
    for t in tickets:
        cost = inputs.get(f"ticket_{(t['priority'] or 'normal').lower()}", inputs["ticket_normal"])
        costs[t["account_id"]] = costs.get(t["account_id"], Decimal(0)) + cost
    return costs


def margin_by(
    accounts: Sequence[Mapping[str, Any]],
    costs: Mapping[str, Decimal],
    inputs: Mapping[str, Decimal],
    key: str,
) -> list[dict[str, Any]]:
    """Per value of ``key`` (``segment`` or ``tier``) of ``accounts`` (account_id, arr,
    renewing: paid 12 months earlier, new_arr: first-year ARR when new in the period):
    accounts, cost to serve, renewal revenue, COGS, renewal margin and its share, and
    CAC against first-year ARR (None without a CAC input or a new account)."""
    groups: dict[str, dict[str, Any]] = {}
    for a in accounts:
        g = groups.setdefault(str(a.get(key) or "(none)"), {
            key: str(a.get(key) or "(none)"), "accounts": 0, "cost_to_serve": Decimal(0),
            "renewal_revenue": Decimal(0), "renewal_cost": Decimal(0), "new_accounts": 0,
            "first_year_arr": Decimal(0),
        })  # fmt: skip
        cost = costs.get(a["account_id"], Decimal(0))
        g["accounts"] += 1
        g["cost_to_serve"] += cost
        if a["renewing"]:
            g["renewal_revenue"] += a["arr"]
            g["renewal_cost"] += cost
        elif a.get("new_arr"):
            g["new_accounts"] += 1
            g["first_year_arr"] += a["new_arr"]
    cac = inputs.get("cac")
    rows = []
    for name in sorted(groups):
        g = groups[name]
        revenue = g["renewal_revenue"]
        cogs = (revenue * inputs["cogs_share"]).quantize(Decimal("0.01"))
        margin = revenue - g.pop("renewal_cost") - cogs
        g.update(
            cost_per_account=(g["cost_to_serve"] / g["accounts"]).quantize(Decimal("0.01")),
            cogs=cogs,
            renewal_margin=margin,
            renewal_margin_share=None if revenue == 0 else margin / revenue,
            cac_ratio=None
            if cac is None or g["first_year_arr"] == 0
            else cac * g["new_accounts"] / g["first_year_arr"],
        )
        rows.append(g)
    return rows
