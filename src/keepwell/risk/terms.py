"""Contract features of each account on a day, from its subscription lines, as they could
be known on that day. Pure pandas.

A line's ``ends_on`` is only a known renewal date when it closes whole contract years
from ``starts_on`` (a term fixed at signing). Any other end (an auto-renewed line that
stopped, a mid-term change) was decided later: it is known only when it happens. So the
health measure ``days_to_renewal`` (days to the earliest end of an active line) gets a
``known_at`` per row, and the leakage guard drops it whenever an end was not knowable
on the snapshot day. ``days_to_known_renewal`` is the point-in-time replacement: days to
the earliest *knowable* renewal of an active line: its end when that is a term end,
else the next anniversary of its start.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from keepwell.risk.features import KNOWN_AT

#: Health columns that derive from ``days_to_renewal`` (the journey stage rules).
RENEWAL_DERIVED = ("days_to_renewal", "stage", "days_in_stage", "stage_overdue")
MAX_TERM_YEARS = 5


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def is_term_end(starts_on: date, ends_on: date) -> bool:
    """``ends_on`` closes 1 to 5 whole years from ``starts_on`` (± 1 day)."""
    for years in range(1, MAX_TERM_YEARS + 1):
        if abs((ends_on - _add_years(starts_on, years)).days) <= 1:
            return True
    return False


def next_anniversary(starts_on: date, day: date) -> date:
    """The first anniversary of ``starts_on`` after ``day``."""
    years = max(1, day.year - starts_on.year)
    candidate = _add_years(starts_on, years)
    while candidate <= day:
        years += 1
        candidate = _add_years(starts_on, years)
    return candidate


def _knowable_renewal(line: Any, day: date) -> date:
    end = line.ends_on
    if end is not None and not pd.isna(end) and is_term_end(line.starts_on, end):
        return date.fromisoformat(str(end)[:10]) if not isinstance(end, date) else end
    return next_anniversary(line.starts_on, day)


def _end_known_at(lines: pd.DataFrame) -> date | None:
    ending = lines[lines["ends_on"].notna()]
    if ending.empty:
        return None
    first = ending.sort_values("ends_on").iloc[0]
    known: date = first.starts_on if is_term_end(first.starts_on, first.ends_on) else first.ends_on
    return known


def contract_features(subscriptions: pd.DataFrame, day: date) -> dict[str, dict[str, Any]]:
    """Per account with an active line on ``day``: ``auto_renew_share`` (share of MRR on
    auto-renewing lines, 0-1), ``open_ended_share`` (share of MRR on lines without an
    end), ``products`` (distinct products), ``days_to_known_renewal`` (days) and
    ``known_at:<column>`` for the :data:`RENEWAL_DERIVED` health columns."""
    s = subscriptions
    active = s[(s["starts_on"] <= day) & (s["ends_on"].isna() | (s["ends_on"] > day))]
    result: dict[str, dict[str, Any]] = {}
    for account, lines in active.groupby("account_id"):
        total = float(lines["mrr"].sum())
        auto = lines["auto_renew"].fillna(False).astype(bool).to_numpy()
        open_ended = lines["ends_on"].isna().to_numpy()
        renewal = min(_knowable_renewal(line, day) for line in lines.itertuples())
        known_at = _end_known_at(lines)
        result[str(account)] = {
            "auto_renew_share": float(lines["mrr"][auto].sum()) / total if total else np.nan,
            "open_ended_share": float(lines["mrr"][open_ended].sum()) / total if total else np.nan,
            "products": float(lines["product"].nunique()),
            "days_to_known_renewal": float((renewal - day).days),
            **{f"{KNOWN_AT}{c}": known_at for c in RENEWAL_DERIVED},
        }
    return result
