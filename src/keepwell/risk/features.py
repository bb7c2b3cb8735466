"""The feature matrix of the churn model, built from point-in-time snapshot rows, and the
leakage guard. Pure pandas: no store is touched here.

Input: one row per (account, snapshot day) holding what the health slice computed as of
that day (every measure, firmographics, custom account attributes, segment, stage,
health score) plus contract features. Output columns:

- numbers and booleans as floats (``NaN`` = no data);
- text columns as categories (more than :data:`MAX_CATEGORIES` distinct values: an
  identifier, left out);
- date columns (``created_at``, custom date attributes) as ``days_since_<column>`` =
  snapshot − date, in days;
- trends: ``<measure>_change_3m`` = value now − value at the snapshot three months
  earlier (same account), for :data:`LAG_MEASURES`.

Leakage guard: a feature may carry, per row, the day its value became known: a column
``known_at:<feature>`` in the rows, or the ``known_at`` argument. Date attributes carry
their own date. A feature with any row known only after its snapshot day is excluded
from the matrix, with the reason recorded (it would let the model see the future).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from keepwell.core import periods

KEYS = ("account_id", "snapshot")
#: Prefix of a row column declaring the day each row's value of a feature became known.
KNOWN_AT = "known_at:"
LABEL = "label"
#: Logo churn alone (part of the label), kept to report churn-only metrics.
CHURNED = "churned"
#: Row columns that are never features: identifiers, names, people, the label.
NOT_FEATURES = frozenset(
    {*KEYS, LABEL, CHURNED, "name", "parent_account_id", "owner", "is_prospect", "arr_weight"}
)
MAX_CATEGORIES = 40
LAG_MONTHS = 3
_ISO_DATE = r"\d{4}-\d{2}-\d{2}"
LAG_MEASURES = (
    "health_score",
    "active_users_30d",
    "events_30d",
    "license_utilization",
    "nps_180d",
    "mrr",
)


def shift_months(day: date, months: int) -> date:
    """The same day ``months`` calendar months later (negative: earlier). A month end
    stays a month end; a day past the target month's end is clamped to it."""
    years, month = divmod(day.month - 1 + months, 12)
    first = date(day.year + years, month + 1, 1)
    end = periods.month_end(first)
    if day == periods.month_end(day):
        return end
    return first.replace(day=min(day.day, end.day))


@dataclass
class FeatureSet:
    """The matrix (``frame``: keys, label when known, ``features``), the categories of
    each text feature, and the features left out with the reason."""

    frame: pd.DataFrame
    features: list[str]
    categories: dict[str, list[str]] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)

    def matrix(self) -> pd.DataFrame:
        """Only the feature columns, in order."""
        return self.frame[self.features]


def _is_date(values: pd.Series) -> bool:
    """Dates, or text that is all ISO dates (a custom attribute such as ``2025-03-01``)."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    sample = values.dropna()
    if len(sample) == 0:
        return False
    if all(isinstance(v, date) for v in sample.head(50)):
        return True
    if not sample.head(50).astype(str).str.fullmatch(_ISO_DATE).all():
        return False
    return bool(sample.astype(str).str.fullmatch(_ISO_DATE).all())


def _is_number(values: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return True
    sample = values.dropna().head(50)
    return len(sample) > 0 and all(
        isinstance(v, int | float | Decimal | bool | np.number) for v in sample
    )


def _convert(
    raw: pd.DataFrame, known_at: dict[str, pd.Series], excluded: dict[str, str]
) -> tuple[dict[str, pd.Series], dict[str, list[str]]]:
    snapshot = pd.to_datetime(raw["snapshot"])
    columns: dict[str, pd.Series] = {}
    categories: dict[str, list[str]] = {}
    for name in raw.columns:
        if name in NOT_FEATURES or name.startswith(KNOWN_AT):
            continue
        values = raw[name]
        if values.isna().all():
            continue
        if _is_date(values):
            when = pd.to_datetime(values.astype("string"), errors="coerce")
            feature = f"days_since_{name}"
            columns[feature] = (snapshot - when).dt.days.astype(float)
            known_at[feature] = when
        elif pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            columns[name] = values.astype(float)
        elif _is_number(values):
            columns[name] = pd.to_numeric(values.map(_float), errors="coerce").astype(float)
        else:
            text = values.astype("string")
            distinct = sorted(text.dropna().unique().tolist())
            if len(distinct) > MAX_CATEGORIES:
                excluded[name] = f"identifier-like text ({len(distinct)} distinct values)"
                continue
            columns[name] = text
            categories[name] = [str(v) for v in distinct]
    return columns, categories


def _float(value: Any) -> float:
    if value is None or value is pd.NA:
        return float("nan")
    return float(value)


def _lags(frame: pd.DataFrame) -> dict[str, pd.Series]:
    present = [m for m in LAG_MEASURES if m in frame.columns]
    if not present:
        return {}
    earlier = frame[["account_id", "snapshot", *present]].rename(columns={"snapshot": "lag_day"})
    keys = pd.DataFrame(
        {
            "account_id": frame["account_id"].to_numpy(),
            "lag_day": frame["snapshot"].map(
                {d: shift_months(d, -LAG_MONTHS) for d in frame["snapshot"].unique()}
            ),
        }
    )
    merged = keys.merge(earlier, on=["account_id", "lag_day"], how="left")
    return {
        f"{m}_change_3m": pd.Series(frame[m].to_numpy() - merged[m].to_numpy(), index=frame.index)
        for m in present
    }


def leakage_guard(
    frame: pd.DataFrame, known_at: Mapping[str, pd.Series | Sequence[Any]]
) -> dict[str, str]:
    """Features with a row whose value was known only after that row's snapshot day,
    with the reason (how many rows, and the first example)."""
    snapshot = pd.to_datetime(frame["snapshot"]).to_numpy()
    problems = {}
    for name, when in known_at.items():
        # by position, as the rows are; a Series' values without a Python list
        values = when.to_numpy() if isinstance(when, pd.Series) else list(when)
        known = pd.to_datetime(pd.Series(values, index=frame.index)).to_numpy()
        late = known > snapshot
        if late.any():
            i = int(np.argmax(late))
            problems[name] = (
                f"known only after the snapshot day in {int(late.sum())} rows (e.g. account "
                f"{frame['account_id'].iloc[i]}: known {pd.Timestamp(known[i]).date()}, "
                f"snapshot {pd.Timestamp(snapshot[i]).date()})"
            )
    return problems


def build_features(
    rows: pd.DataFrame, known_at: Mapping[str, pd.Series | Sequence[Any]] | None = None
) -> FeatureSet:
    """The feature matrix of ``rows`` (see the module docstring). ``known_at`` declares,
    for some raw columns, the day each row's value became known; any feature known after
    its snapshot day is excluded and reported in ``excluded``."""
    rows = rows.reset_index(drop=True)
    declared = {c[len(KNOWN_AT) :]: rows[c] for c in rows.columns if str(c).startswith(KNOWN_AT)}
    declared.update({k: pd.Series(list(v), index=rows.index) for k, v in (known_at or {}).items()})
    excluded: dict[str, str] = {}
    columns, categories = _convert(rows, declared, excluded)
    frame = pd.DataFrame({"account_id": rows["account_id"], "snapshot": rows["snapshot"]})
    frame = pd.concat([frame, pd.DataFrame(columns, index=rows.index)], axis=1)
    numeric = [c for c in columns if c not in categories]
    frame = pd.concat(
        [frame, pd.DataFrame(_lags(frame[["account_id", "snapshot", *numeric]]))], axis=1
    )
    for outcome in (LABEL, CHURNED):
        if outcome in rows.columns:
            frame[outcome] = rows[outcome].to_numpy()
    leaks = leakage_guard(frame, {k: v for k, v in declared.items() if k in frame.columns})
    excluded.update(leaks)
    features = [c for c in frame.columns if c not in {*KEYS, LABEL, CHURNED} and c not in leaks]
    for name, cats in categories.items():
        frame[name] = pd.Categorical(frame[name], categories=cats)
    categories = {k: v for k, v in categories.items() if k in features}
    return FeatureSet(frame, features, categories, excluded)


def align(
    frame: pd.DataFrame, features: Sequence[str], categories: Mapping[str, list[str]]
) -> pd.DataFrame:
    """``frame``'s columns as a model trained on ``features`` expects them: missing ones
    as NaN, text as the training categories (an unseen value becomes missing)."""
    result = pd.DataFrame(index=frame.index)
    for name in features:
        if name in categories:
            values = (
                frame[name].astype("string")
                if name in frame
                else pd.Series(pd.NA, index=frame.index, dtype="string")
            )
            result[name] = pd.Categorical(values, categories=categories[name])
        elif name in frame:
            result[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
        else:
            result[name] = np.nan
    return result
