"""Which past customers succeeded: the labels prospect fit learns from. Pure.

A book may hold renewal dates or not, account by account:

- **on terms**: at least one of the account's lines ends on a date that closes whole
  contract years from its start (a term fixed at signing, as the churn model's leakage
  guard reads it, :func:`keepwell.risk.terms.is_term_end`). It is labelled by its
  renewals (the revenue slice's outcome of each line end up to the day): *success*
  when none of them churned or contracted (it renewed or expanded every time),
  *failure* otherwise; not labelled before its first renewal.
- **month to month**: no line closes a term (open-ended lines, an end date only for a
  line that stopped). There is no renewal to read, so churn is a line ending and
  retained is still paying at the horizon: the account is labelled once the month end
  :data:`HORIZON_MONTHS` months after its first month end with MRR is known (on or
  before the last day whose outcomes are known): *success* when every month end through
  it has MRR, *failure* when one has none (its lines ended; a later return does not
  undo it). A younger account is not labelled, even when it has already churned: its
  peers still paying would be missing, and churners alone would make young customers
  look worse than they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from keepwell.risk.features import shift_months
from keepwell.risk.terms import is_term_end, to_day

#: Months after the first month end with MRR at which a month-to-month customer counts
#: as retained (the length of the annual term a renewal would close).
HORIZON_MONTHS = 12
RENEWALS, RETAINED = "renewals", "retained"


@dataclass(frozen=True)
class Labels:
    """Per labelled account: success (True) or failure; and how each was labelled
    (:data:`RENEWALS` or :data:`RETAINED`)."""

    success: dict[str, bool]
    basis: dict[str, str]


def accounts_on_terms(subscriptions: pd.DataFrame) -> set[str]:
    """Accounts with at least one line whose end closes whole contract years."""
    result: set[str] = set()
    for account, start, end in zip(
        subscriptions["account_id"].tolist(),
        subscriptions["starts_on"].tolist(),
        subscriptions["ends_on"].tolist(),
        strict=True,
    ):
        starts_on, ends_on = to_day(start), to_day(end)
        if starts_on is not None and ends_on is not None and is_term_end(starts_on, ends_on):
            result.add(str(account))
    return result


def renewal_labels(renewals: Iterable[Mapping[str, Any]]) -> dict[str, bool]:
    """Per account with a renewal: True when none churned or contracted."""
    result: dict[str, bool] = {}
    for row in renewals:
        ok = row["outcome"] in {"renewed", "expanded"}
        account = str(row["account_id"])
        result[account] = result.get(account, True) and ok
    return result


def retained_labels(
    lifetimes: Mapping[str, tuple[date, date | None]],
    known_until: date,
    months: int = HORIZON_MONTHS,
) -> dict[str, bool]:
    """Per account whose horizon (``months`` after its first month end with MRR) ends on
    or before ``known_until``: True when it had MRR at every month end through it.
    ``lifetimes``: first month end with MRR, first later month end without (or None)."""
    result: dict[str, bool] = {}
    for account, (first, churned) in lifetimes.items():
        horizon = shift_months(first, months)  # a month end stays a month end
        if horizon <= known_until:
            result[account] = churned is None or churned > horizon
    return result


def success_labels(
    subscriptions: pd.DataFrame,
    renewals: Iterable[Mapping[str, Any]],
    lifetimes: Mapping[str, tuple[date, date | None]],
    known_until: date,
) -> Labels:
    """The labels of the module docstring: accounts on terms by their renewals, the
    others by whether they are still paying :data:`HORIZON_MONTHS` months on."""
    on_terms = accounts_on_terms(subscriptions)
    by_renewal = renewal_labels(r for r in renewals if str(r["account_id"]) in on_terms)
    monthly = {a: v for a, v in lifetimes.items() if a not in on_terms}
    by_horizon = retained_labels(monthly, known_until)
    basis = dict.fromkeys(by_renewal, RENEWALS) | dict.fromkeys(by_horizon, RETAINED)
    return Labels({**by_renewal, **by_horizon}, basis)
