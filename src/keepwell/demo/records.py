"""What the month-by-month simulation (:mod:`keepwell.demo.lifecycle`) produces: contract
lines, churns, dated marks and the per-account, per-month arrays of latent states."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np


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

    health: np.ndarray  # float: engagement h, NaN while not a customer
    sentiment: np.ndarray  # float: sentiment s, NaN while not a customer
    stress: np.ndarray  # bool: in a budget-stress spell
    seats: np.ndarray  # int, 0 while not a customer
    holds: np.ndarray  # bool (accounts, months, len(PRODUCTS))
    use_lo: np.ndarray  # int: first day index with access in the month
    use_hi: np.ndarray  # int: day index after the last day with access (== use_lo: none)
    lines: list[Line] = field(default_factory=list)
    churns: list[Churn] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    #: (account, month of a sponsor/champion departure, role) -> month the successor joins
    successors: dict[tuple[int, int, str], int] = field(default_factory=dict)


def months_between(start: date, end: date) -> int:
    """Whole calendar months from ``start`` to ``end`` (same day of month by construction)."""
    return (end.year - start.year) * 12 + end.month - start.month
