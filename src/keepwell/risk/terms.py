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


def _mrr_and_auto(subscriptions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each line's MRR as a float (0.0 where missing or not a number) and whether it
    renews automatically (None and NaN: False, without ``fillna``'s downcast)."""
    s = subscriptions
    mrr = pd.to_numeric(s["mrr"], errors="coerce").astype(float).fillna(0.0).to_numpy()
    return mrr, s["auto_renew"].eq(True).to_numpy()


def _lines(subscriptions: pd.DataFrame) -> dict[str, list[_Line]]:
    """The lines per account (accounts sorted, lines in frame order)."""
    s = subscriptions
    mrr, auto = (values.tolist() for values in _mrr_and_auto(s))
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


@dataclass(frozen=True)
class _LineColumns:
    """The lines of :func:`_lines` as columns: sorted by account, in frame order within
    one; ``account`` indexes ``names``, ``product`` numbers the distinct products (-1:
    none), ``ends`` is ``date.max`` where ``has_end`` is false."""

    names: np.ndarray
    account: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    has_end: np.ndarray
    term: np.ndarray
    mrr: np.ndarray
    auto: np.ndarray
    product: np.ndarray


def _line_columns(subscriptions: pd.DataFrame) -> _LineColumns:
    s = subscriptions
    starts = [to_day(v) for v in s["starts_on"].tolist()]
    keep = np.array([v is not None for v in starts], dtype=bool)
    names, codes = np.unique(
        np.array([str(a) for a in s["account_id"].tolist()], dtype=object)[keep],
        return_inverse=True,
    )
    order = np.argsort(codes, kind="stable")
    rows = np.flatnonzero(keep)[order]
    ends = [to_day(v) for v in s["ends_on"].tolist()]
    end_days = np.array([ends[i] or date.max for i in rows], dtype="datetime64[D]")
    has_end = np.array([ends[i] is not None for i in rows], dtype=bool)
    start_days = np.array([starts[i] for i in rows], dtype="datetime64[D]")
    account = codes[order]
    products: dict[Any, int] = {}
    product = np.array(
        [
            -1 if _missing(v) else products.setdefault(v, len(products))
            for v in s["product"].to_numpy(dtype=object)[rows]
        ],
        dtype=np.int64,
    )
    mrr, auto = _mrr_and_auto(s)
    return _LineColumns(
        names=names,
        account=account,
        starts=start_days,
        ends=end_days,
        has_end=has_end,
        term=_term_ends(account, start_days, end_days, has_end),
        mrr=mrr[rows],
        auto=auto[rows],
        product=product,
    )


def _term_ends(
    account: np.ndarray, starts: np.ndarray, ends: np.ndarray, has_end: np.ndarray
) -> np.ndarray:
    """:func:`_closes_term` of each line: its end lies within a day of 1 to 5 whole years
    from the start of a line of its account that starts no later."""
    years = np.repeat(np.arange(1, MAX_TERM_YEARS + 1), len(starts))
    candidates = (
        pd.DataFrame(
            {
                "account": np.tile(account, MAX_TERM_YEARS),
                "day": _add_years_days(np.tile(starts, MAX_TERM_YEARS), years).astype(np.int64),
                "earliest": np.tile(starts, MAX_TERM_YEARS).astype(np.int64),
            }
        )
        .groupby(["account", "day"], as_index=False)["earliest"]
        .min()
    )
    ending = np.flatnonzero(has_end)
    shifts = np.repeat([-1, 0, 1], len(ending))
    wanted = pd.DataFrame(
        {
            "line": np.tile(ending, 3),
            "account": np.tile(account[ending], 3),
            "day": np.tile(ends[ending].astype(np.int64), 3) + shifts,
            "start": np.tile(starts[ending].astype(np.int64), 3),
        }
    )
    found = wanted.merge(candidates, on=["account", "day"])
    term = np.zeros(len(starts), dtype=bool)
    term[found["line"].to_numpy()[found["earliest"].to_numpy() <= found["start"].to_numpy()]] = True
    return term


def _add_years_days(days: np.ndarray, years: np.ndarray) -> np.ndarray:
    """:func:`_add_years` of datetime64[D] days (29 February to 28 February)."""
    months = days.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = (months - months.astype("datetime64[Y]").astype("datetime64[M]")).astype(np.int64)
    day = (days - months.astype("datetime64[D]")).astype(np.int64)
    target = year + years
    leap = (target % 4 == 0) & ((target % 100 != 0) | (target % 400 == 0))
    day = np.where((month == 1) & (day == 28) & ~leap, 27, day)
    first = ((target - 1970) * 12 + month).astype("datetime64[M]").astype("datetime64[D]")
    result: np.ndarray = first + day
    return result


def _next_anniversaries(starts: np.ndarray, days: np.ndarray) -> np.ndarray:
    """:func:`next_anniversary` of datetime64[D] starts after each of ``days``."""
    year = starts.astype("datetime64[Y]").astype(np.int64)
    years = np.maximum(1, days.astype("datetime64[Y]").astype(np.int64) - year)
    result = _add_years_days(starts, years)
    while (late := result <= days).any():
        years = years + late
        result = np.where(late, _add_years_days(starts, years), result)
    return result


def contract_frame(subscriptions: pd.DataFrame, days: Iterable[date]) -> pd.DataFrame:
    """:func:`contract_history` as one frame: a row per (``as_of``, account with an
    active line that day, rows by day then account) with the :data:`CONTRACT_COLUMNS`,
    computed column-wise in numpy (the same values: a training history holds a million
    account-days)."""
    lines = _line_columns(subscriptions)
    on = np.array(sorted(set(days)), dtype="datetime64[D]")
    parts = [np.flatnonzero((lines.starts <= d) & (~lines.has_end | (lines.ends > d))) for d in on]
    index = np.concatenate([np.zeros(0, dtype=np.int64), *parts])  # (day, account, line) order
    day = np.repeat(np.arange(len(on)), [len(p) for p in parts])
    account = lines.account[index]
    new = np.ones(len(index), dtype=bool)
    new[1:] = (day[1:] != day[:-1]) | (account[1:] != account[:-1])
    group, first = np.cumsum(new) - 1, np.flatnonzero(new)
    n = len(first)
    result = pd.DataFrame(
        {
            "as_of": pd.Series(on.astype(object)[day[first]], dtype=object),
            "account_id": pd.Series(lines.names[account[first]], dtype=object),
        }
    )
    mrr = lines.mrr[index]
    total = _totals(mrr, group, n)
    for name, mask in (
        ("auto_renew_share", lines.auto[index]),
        ("open_ended_share", ~lines.term[index]),
    ):
        part = _totals(mrr[mask], group[mask], n)
        with np.errstate(invalid="ignore", divide="ignore"):
            result[name] = np.where(total != 0, part / np.where(total != 0, total, 1.0), np.nan)
    product = lines.product[index]
    present, width = product >= 0, int(lines.product.max(initial=0)) + 1
    distinct = np.unique(group[present] * width + product[present])  # (group, product) pairs
    result["products"] = np.bincount(distinct // width, minlength=n).astype(float)
    starts, closes = lines.starts[index], lines.has_end[index] & lines.term[index]
    renewal = np.where(closes, lines.ends[index], _next_anniversaries(starts, on[day]))
    renews = np.minimum.reduceat(renewal, first) if n else renewal[:0]
    result["days_to_known_renewal"] = (renews - on[day[first]]).astype(np.int64).astype(float)
    # when the earliest end was known: the first line (in order) with the earliest end
    ending = np.flatnonzero(lines.has_end[index])
    order = ending[np.lexsort((ending, lines.ends[index][ending], group[ending]))]
    earliest = order[np.unique(group[order], return_index=True)[1]]
    chosen = index[earliest]
    known = np.full(n, None, dtype=object)
    known[group[earliest]] = np.where(
        lines.term[chosen], lines.starts[chosen], lines.ends[chosen]
    ).astype(object)
    for column in RENEWAL_DERIVED:
        result[f"{KNOWN_AT}{column}"] = pd.Series(known.tolist(), dtype=object)
    return result
