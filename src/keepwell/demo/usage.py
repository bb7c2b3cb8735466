"""Product-usage events: one row per user, day and event, with a ``count``.

Each customer has a roster of users (at most its peak seat count). In a month, the
first ``seats * util(h)`` users are provisioned, with ``util(h) = 0.2 + 0.75 sig(1.8 h
+ 0.8)``, so a failing account loses active users. A provisioned user is active on a
day with probability ``trait * (0.02 + 0.42 sig(2 h + 0.2))`` on weekdays (x0.1 on
weekends), ``trait`` a per-user engagement (gamma, mean 1). Health is interpolated
linearly between months, so declines are gradual. An active user logs in
(``count = 1 + Poisson(0.3 + 1.5 sig(h))``) and uses each feature of a product the
account holds with probability ``base_rate * affinity * sig(2.5 (h - threshold))``:
features with a high threshold (the key features among them) fall away first, so
breadth narrows before churn. Everything is vectorised per month.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from keepwell.demo import catalog
from keepwell.demo.firms import Firms
from keepwell.demo.lifecycle import Lifecycle
from keepwell.demo.timeline import Timeline

EVENTS_SCHEMA = pa.schema(
    [
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("account_id", pa.string()),
        ("user_id", pa.string()),
        ("event", pa.string()),
        ("count", pa.int64()),
        ("message_id", pa.string()),
        ("properties", pa.string()),
    ]
)
PROPERTIES: dict[str, tuple[str, ...]] = {  # JSON objects carried by some events
    catalog.LOGIN: (
        '{"client":"web"}',
        '{"client":"web"}',
        '{"client":"web"}',
        '{"client":"mobile"}',
    ),
    "report_created": (
        '{"report_type":"cohort"}',
        '{"report_type":"funnel"}',
        '{"report_type":"table"}',
    ),
    "data_exported": ('{"format":"csv"}', '{"format":"xlsx"}'),
}


def _sig(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


@dataclass(frozen=True)
class Roster:
    """Users of every account: ``offset[a] .. offset[a] + size[a]`` index ``user_id``."""

    offset: np.ndarray
    size: np.ndarray
    user_id: pa.Array
    trait: np.ndarray
    affinity: np.ndarray  # (accounts, features)


def draw_roster(rng: np.random.Generator, firms: Firms, life: Lifecycle) -> Roster:
    """One user per peak seat of each account, with an engagement trait (mean 1)."""
    size = life.seats.max(axis=1)
    offset = np.concatenate([[0], np.cumsum(size)[:-1]])
    ids = [
        f"{firms.account_id[a]}-U{j + 1:04d}" for a in range(firms.n) for j in range(int(size[a]))
    ]
    trait = np.clip(rng.gamma(2.0, 0.5, size=int(size.sum())), 0.15, 2.5)
    affinity = rng.uniform(0.5, 1.5, size=(firms.n, len(catalog.FEATURES)))
    return Roster(offset, size, pa.array(ids, type=pa.string()), trait, affinity)


@dataclass(frozen=True)
class _Cells:
    """Active user-days of one month."""

    account: np.ndarray
    user: np.ndarray
    day: np.ndarray
    health: np.ndarray
    seconds: np.ndarray  # seconds after midnight of the first event of the day


def _daily_health(life: Lifecycle, m: int, acc: np.ndarray, frac: np.ndarray) -> np.ndarray:
    now = life.health[acc, m]
    nxt = life.health[acc, m + 1] if m + 1 < life.health.shape[1] else now
    nxt = np.where(np.isnan(nxt), now, nxt)
    return np.asarray(now + (nxt - now) * frac)


def _active_cells(
    rng: np.random.Generator,
    life: Lifecycle,
    roster: Roster,
    m: int,
    bounds: np.ndarray,
    weekday0: int,
) -> _Cells:
    acc = np.flatnonzero(life.use_hi[:, m] > life.use_lo[:, m])
    h = life.health[acc, m]
    n_users = np.minimum(
        np.round(life.seats[acc, m] * (0.2 + 0.75 * _sig(1.8 * h + 0.8))), roster.size[acc]
    )
    n_users = n_users.astype(np.int64)
    acc_u = np.repeat(acc, n_users)
    first = np.repeat(np.cumsum(n_users) - n_users, n_users)
    user = roster.offset[acc_u] + np.arange(len(acc_u)) - first
    days = int(bounds[m + 1] - bounds[m])
    acc_c, user_c = np.repeat(acc_u, days), np.repeat(user, days)
    day_c = np.tile(np.arange(days), len(acc_u)) + int(bounds[m])
    inside = (day_c >= life.use_lo[acc_c, m]) & (day_c < life.use_hi[acc_c, m])
    h_c = _daily_health(life, m, acc_c, (day_c - bounds[m]) / days)
    weekend = (weekday0 + day_c) % 7 >= 5
    p = roster.trait[user_c] * (0.02 + 0.42 * _sig(2.0 * h_c + 0.2)) * np.where(weekend, 0.1, 1.0)
    keep = inside & (rng.random(len(p)) < np.minimum(p, 0.97))
    seconds = (7.0 + 10.0 * rng.random(int(keep.sum()))) * 3600.0
    return _Cells(acc_c[keep], user_c[keep], day_c[keep], h_c[keep], seconds)


def _rows(
    rng: np.random.Generator, life: Lifecycle, roster: Roster, cells: _Cells, m: int
) -> dict[str, np.ndarray]:
    n = len(cells.user)
    parts = {
        "account": [cells.account],
        "user": [cells.user],
        "day": [cells.day],
        "code": [np.zeros(n, dtype=np.int64)],
        "count": [1 + rng.poisson(0.3 + 1.5 * _sig(cells.health))],
        "seconds": [cells.seconds],
    }
    for k, feature in enumerate(catalog.FEATURES):
        gate = life.holds[cells.account, m, catalog.PRODUCTS.index(feature.gate)]
        q = (
            feature.base_rate
            * roster.affinity[cells.account, k]
            * _sig(2.5 * (cells.health - feature.threshold))
        )
        use = gate & (rng.random(n) < q)
        hits = int(use.sum())
        parts["account"].append(cells.account[use])
        parts["user"].append(cells.user[use])
        parts["day"].append(cells.day[use])
        parts["code"].append(np.full(hits, k + 1, dtype=np.int64))
        extra = feature.mean_extra_count * (0.5 + _sig(cells.health[use]))
        parts["count"].append(1 + rng.poisson(extra))
        parts["seconds"].append(cells.seconds[use] + 60.0 + 7200.0 * rng.random(hits))
    rows = {key: np.concatenate(value) for key, value in parts.items()}
    when = rows["day"] * 86_400 + rows["seconds"].astype(np.int64)  # < 2**27 for 4 years
    key = (when * roster.trait.size + rows["user"]) * 16 + rows["code"]
    order = np.argsort(key, kind="stable")
    return {key: value[order] for key, value in rows.items()}


def _properties(rng: np.random.Generator, code: np.ndarray) -> pa.Array:
    templates: list[str] = []
    index = np.full(len(code), -1, dtype=np.int64)
    for name, options in PROPERTIES.items():
        sel = code == catalog.EVENT_NAMES.index(name)
        index[sel] = len(templates) + rng.integers(0, len(options), size=int(sel.sum()))
        templates.extend(options)
    return pa.array(templates, type=pa.string()).take(pa.array(index, mask=index < 0))


def _table(
    rng: np.random.Generator,
    rows: dict[str, np.ndarray],
    accounts: pa.Array,
    roster: Roster,
    timeline: Timeline,
) -> pa.Table:
    origin = datetime(timeline.start.year, timeline.start.month, timeline.start.day, tzinfo=UTC)
    epoch = int(origin.timestamp())
    micros = (epoch + rows["day"] * 86400 + rows["seconds"].astype(np.int64)) * 1_000_000
    user_id = roster.user_id.take(pa.array(rows["user"]))
    event = pa.array(catalog.EVENT_NAMES, type=pa.string()).take(pa.array(rows["code"]))
    day_labels = pa.array(
        [(timeline.start + timedelta(days=d)).strftime("%Y%m%d") for d in range(timeline.days)],
        type=pa.string(),
    )
    message_id = pc.binary_join_element_wise(
        user_id, day_labels.take(pa.array(rows["day"])), event, ":"
    )
    columns = [
        pa.array(micros, type=pa.timestamp("us", tz="UTC")),
        accounts.take(pa.array(rows["account"])),
        user_id,
        event,
        pa.array(rows["count"], type=pa.int64()),
        message_id,
        _properties(rng, rows["code"]),
    ]
    return pa.Table.from_arrays(columns, schema=EVENTS_SCHEMA)


def event_batches(
    rng: np.random.Generator, firms: Firms, life: Lifecycle, timeline: Timeline
) -> Iterator[pa.Table]:
    """Usage events month by month (ordered by time), as Arrow tables of EVENTS_SCHEMA."""
    roster = draw_roster(rng, firms, life)
    bounds = timeline.month_day_bounds()
    accounts = pa.array(firms.account_id, type=pa.string())
    weekday0 = timeline.start.weekday()
    for m in range(timeline.months):
        cells = _active_cells(rng, life, roster, m, bounds, weekday0)
        yield _table(rng, _rows(rng, life, roster, cells, m), accounts, roster, timeline)
