"""Contract features of each account on a day, from its subscription lines, as they could
be known on that day. Pure pandas.

A line's ``ends_on`` is only a known renewal date when it closes whole contract years
from ``starts_on`` (a term fixed at signing). Any other end (an auto-renewed line that
stopped, a mid-term change) was decided later: it is known only when it happens. So the
health measure ``days_to_renewal`` (days to the earliest end of an active line) gets a
``known_at`` per row, and the leakage guard drops it whenever an end was not knowable
on the snapshot day. ``days_to_known_renewal`` is the point-in-time replacement: days to
the earliest *knowable* renewal of an active line: its end when that is a term end,
else the next anniversary of its start. For the same reason ``open_ended_share`` counts
a line as open-ended unless its end closes a term: on a month-to-month book every
churner's lines carry their end date in the data, and reading it as "not open-ended"
before the end told the model who would churn (it was the model's top feature on a
month-to-month demo company).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _Line:
    """A subscription line as the contract features read it."""

    account: str
    starts_on: date
    ends_on: date | None
    term_end: bool
    mrr: float
    auto_renew: bool
    product: Any

    def active_on(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or self.ends_on > day)

    def knowable_renewal(self, day: date) -> date:
        if self.ends_on is not None and self.term_end:
            return self.ends_on
        return next_anniversary(self.starts_on, day)


def to_day(value: Any) -> date | None:
    """A date from a date or ISO text; None when missing."""
    if value is None or (not isinstance(value, date) and pd.isna(value)):
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _lines(subscriptions: pd.DataFrame) -> dict[str, list[_Line]]:
    """The lines per account (accounts sorted, lines in frame order)."""
    s = subscriptions
    mrr = pd.to_numeric(s["mrr"], errors="coerce").astype(float).fillna(0.0).tolist()
    auto = s["auto_renew"].fillna(False).astype(bool).tolist()
    rows: dict[str, list[tuple[Any, date, date | None, float, bool]]] = {}
    for account, product, start, end, m, a in zip(
        s["account_id"].tolist(), s["product"].tolist(), s["starts_on"].tolist(),
        s["ends_on"].tolist(), mrr, auto, strict=True,
    ):  # fmt: skip
        starts_on, ends_on = to_day(start), to_day(end)
        if starts_on is not None:
            rows.setdefault(str(account), []).append((product, starts_on, ends_on, m, a))
    result: dict[str, list[_Line]] = {}
    for account, lines in sorted(rows.items()):
        starts = sorted({line[1] for line in lines})
        result[account] = [
            _Line(account, start, end, _closes_term(starts, start, end), m, a, product)
            for product, start, end, m, a in lines
        ]
    return result


def _closes_term(starts: list[date], start: date, end: date | None) -> bool:
    """``end`` closes whole contract years from the start of this line or of an earlier
    line of the account: a term fixed at signing, or a mid-term change co-termed with
    the contract it changed (its end is the contract's, known when the change starts)."""
    if end is None:
        return False
    return any(is_term_end(earlier, end) for earlier in starts if earlier <= start)


def _total(values: list[float]) -> float:
    """The sum pandas gives (numpy's pairwise sum, sequential below 8 values)."""
    if len(values) < 8:
        total = 0.0
        for value in values:
            total += value
        return total
    return float(np.sum(np.array(values, dtype=float)))


def _end_known_at(lines: list[_Line]) -> date | None:
    """When the earliest end of ``lines`` was known: its start when it closes a term
    (fixed at signing), else the end itself; None when no line has an end."""
    ending = [line for line in lines if line.ends_on is not None]
    if not ending:
        return None
    first = min(ending, key=lambda line: line.ends_on or date.max)
    return first.starts_on if first.term_end else first.ends_on


def _features(lines: list[_Line], day: date) -> dict[str, Any]:
    total = _total([line.mrr for line in lines])
    auto = _total([line.mrr for line in lines if line.auto_renew])
    # an end is known on the day only when it closes a term: a month-to-month line that
    # stops later is, on the day, as open-ended as one that never stops
    open_ended = _total([line.mrr for line in lines if not line.term_end])
    products = {line.product for line in lines if not _missing(line.product)}
    renewal = min(line.knowable_renewal(day) for line in lines)
    known_at = _end_known_at(lines)
    return {
        "auto_renew_share": auto / total if total else np.nan,
        "open_ended_share": open_ended / total if total else np.nan,
        "products": float(len(products)),
        "days_to_known_renewal": float((renewal - day).days),
        **{f"{KNOWN_AT}{c}": known_at for c in RENEWAL_DERIVED},
    }


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def contract_history(
    subscriptions: pd.DataFrame, days: Iterable[date]
) -> dict[date, dict[str, dict[str, Any]]]:
    """:func:`contract_features` on each of ``days``, reading the lines once."""
    accounts = _lines(subscriptions)
    result: dict[date, dict[str, dict[str, Any]]] = {}
    for day in days:
        features: dict[str, dict[str, Any]] = {}
        for account, lines in accounts.items():
            active = [line for line in lines if line.active_on(day)]
            if active:
                features[account] = _features(active, day)
        result[day] = features
    return result


def contract_features(subscriptions: pd.DataFrame, day: date) -> dict[str, dict[str, Any]]:
    """Per account with an active line on ``day``: ``auto_renew_share`` (share of MRR on
    auto-renewing lines, 0-1), ``open_ended_share`` (share of MRR on lines without a
    known term end on the day: no end, or an end decided later), ``products`` (distinct
    products), ``days_to_known_renewal`` (days) and ``known_at:<column>`` for the
    :data:`RENEWAL_DERIVED` health columns."""
    return contract_history(subscriptions, [day])[day]


#: Columns of :func:`contract_frame`, in the order :func:`contract_features` gives them.
CONTRACT_COLUMNS = (
    "auto_renew_share", "open_ended_share", "products", "days_to_known_renewal",
    *(f"{KNOWN_AT}{c}" for c in RENEWAL_DERIVED),
)  # fmt: skip


def _totals(values: np.ndarray, group: np.ndarray, groups: int) -> np.ndarray:
    """Per group, the sum of ``values`` (rows sorted by ``group``, in line order) as
    :func:`_total` adds them: in order below 8 values, numpy's sum from 8."""
    sizes = np.bincount(group, minlength=groups)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    position = np.arange(len(group)) - starts[group]
    total = np.zeros(groups)
    for k in range(min(int(sizes.max(initial=0)), 8)):
        at = position == k
        total[group[at]] += values[at]
    for g in np.flatnonzero(sizes >= 8):
        total[g] = float(np.sum(values[starts[g] : starts[g] + sizes[g]]))
    return total


def contract_frame(subscriptions: pd.DataFrame, days: Iterable[date]) -> pd.DataFrame:
    """:func:`contract_history` as one frame: a row per (``as_of``, account with an
    active line that day) with the :data:`CONTRACT_COLUMNS`, computed column-wise (the
    same values: a training history holds a million account-days)."""
    lines = [line for account_lines in _lines(subscriptions).values() for line in account_lines]
    starts = np.array([line.starts_on for line in lines], dtype="datetime64[D]")
    ends = np.array([line.ends_on or date.max for line in lines], dtype="datetime64[D]")
    has_end = np.array([line.ends_on is not None for line in lines], dtype=bool)
    parts = []
    for day in sorted(set(days)):
        d = np.datetime64(day, "D")
        active = np.flatnonzero((starts <= d) & (~has_end | (ends > d)))
        parts.append(pd.DataFrame({"as_of": day, "line": active}))
    pairs = (
        pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"as_of": [], "line": []})
    )
    # rows sorted by (day, account, line order): lines are already by account, in order
    index = pairs["line"].to_numpy(dtype=np.int64)
    account = np.array([line.account for line in lines], dtype=object)[index]
    keys = pd.DataFrame({"as_of": pairs["as_of"], "account_id": account})
    group = keys.groupby(["as_of", "account_id"], sort=False).ngroup().to_numpy()
    n = int(group.max(initial=-1)) + 1
    first = np.unique(group, return_index=True)[1]
    mrr = np.array([line.mrr for line in lines], dtype=float)[index]
    auto = np.array([line.auto_renew for line in lines], dtype=bool)[index]
    term = np.array([line.term_end for line in lines], dtype=bool)[index]
    total = _totals(mrr, group, n)
    shares = {
        name: _totals(mrr[mask], group[mask], n)
        for name, mask in (("auto_renew_share", auto), ("open_ended_share", ~term))
    }
    result = keys.iloc[first].reset_index(drop=True)
    for name, part in shares.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            result[name] = np.where(total != 0, part / np.where(total != 0, total, 1.0), np.nan)
    products = pd.Series([lines[i].product for i in index], dtype=object)
    present = ~products.map(_missing).to_numpy(dtype=bool)
    result["products"] = (
        pd.Series(products[present].to_numpy(), dtype=object)
        .groupby(group[present])
        .nunique()
        .reindex(range(n), fill_value=0)
        .to_numpy(dtype=float)
    )
    day_of = pairs["as_of"].to_numpy()
    anniversaries: dict[tuple[date, date], date] = {}
    renewal = []
    for i, day in zip(index, day_of, strict=True):
        line = lines[i]
        if line.ends_on is not None and line.term_end:
            renewal.append(line.ends_on)
            continue
        key = (line.starts_on, day)
        if key not in anniversaries:
            anniversaries[key] = next_anniversary(line.starts_on, day)
        renewal.append(anniversaries[key])
    renews = pd.Series(np.array(renewal, dtype="datetime64[D]")).groupby(group).min().to_numpy()
    on = np.array(result["as_of"].tolist(), dtype="datetime64[D]")
    result["days_to_known_renewal"] = (renews - on).astype("timedelta64[D]").astype(float)
    # when the earliest end was known: the first line (in order) with the earliest end
    ending = np.flatnonzero(has_end[index])
    order = ending[np.lexsort((ending, ends[index][ending], group[ending]))]
    earliest = order[np.unique(group[order], return_index=True)[1]]
    known: list[date | None] = [None] * n
    for row in earliest:
        line = lines[index[row]]
        known[group[row]] = line.starts_on if line.term_end else line.ends_on
    for column in RENEWAL_DERIVED:
        result[f"{KNOWN_AT}{column}"] = pd.Series(known, dtype=object)
    return result
