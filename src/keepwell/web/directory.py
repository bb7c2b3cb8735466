"""The pages' account directory: one row per account with its latest health and revenue,
built once and kept for a short while, so the accounts page filters, sorts and pages
50,000 accounts in memory instead of re-reading every store on each request.

A row joins the contract's account with the latest health snapshot (segment, stage,
score, band) and the revenue book on the directory's day: ARR (12 x the MRR of lines
active that day, base currency) and the next renewal (the earliest end of a line after
that day, with the ARR of the lines ending then).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.contract import service as contract_service
from keepwell.core.csvtext import csv_text
from keepwell.core.workspace import Workspace
from keepwell.health.models import HealthScore
from keepwell.revenue import service as revenue_service

#: Seconds a built directory is served before it is rebuilt (in the background).
TTL_SECONDS = 300.0
#: Directories (days) kept per workspace.
KEEP = 3
PAGE_SIZE = 50
SORTS = ("name", "arr", "score", "renewal", "owner", "segment", "band")
COLUMNS = (
    "account_id",
    "name",
    "industry",
    "country",
    "owner",
    "segment",
    "stage",
    "band",
    "score",
    "arr",
    "next_renewal",
    "renewal_arr",
)
BANDS = ("green", "yellow", "red", "unknown")
Row = dict[str, Any]
RISK_COLUMNS = ("churn_probability", "arr_at_risk")


@dataclass(frozen=True)
class Filters:
    """What the accounts page asks for; None or "" means any."""

    search: str | None = None
    segment: str | None = None
    band: str | None = None
    owner: str | None = None
    stage: str | None = None
    industry: str | None = None
    renewal_days: int | None = None
    sort: str = "name"
    descending: bool = False
    page: int = 1


@dataclass
class Directory:
    """Every account's row on ``as_of`` (see the module docstring)."""

    as_of: date
    snapshot: date | None
    rows: list[dict[str, Any]]
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: rows sorted by each sort key, and filter options per owner scope, made on demand
    _orders: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)
    _options: dict[str | None, dict[str, list[str]]] = field(default_factory=dict, repr=False)

    def ordered(self, sort: str) -> list[dict[str, Any]]:
        """Every row sorted by ``sort`` (ascending; ties by name, then id), kept."""
        if sort not in self._orders:
            self._orders[sort] = (
                self.rows if sort == "name" else sorted(self.rows, key=_sort_key(sort))
            )
        return self._orders[sort]

    def options(self, scope: str | None) -> dict[str, list[str]]:
        """The distinct values of each filterable column among the rows of ``scope``."""
        if scope not in self._options:
            keys = ("segment", "owner", "stage", "industry")
            found: dict[str, set[str]] = {k: set() for k in keys}
            for row in visible(self.rows, scope):
                for key, values in found.items():
                    if row[key]:
                        values.add(row[key])
            self._options[scope] = {k: sorted(v) for k, v in found.items()}
        return self._options[scope]


_cache: dict[tuple[tuple[str, str], date], tuple[float, Directory]] = {}
_lock = threading.Lock()
_refreshing: set[tuple[tuple[str, str], date]] = set()


def workspace_key(workspace: Workspace) -> tuple[str, str]:
    """What names a workspace in the pages' caches: its folder and database (not the
    object's id, which Python reuses once an object is gone)."""
    return str(workspace.root), workspace.database_url


def directory(workspace: Workspace, as_of: date) -> Directory:
    """The directory of ``workspace`` on ``as_of``. The first request builds it; once
    older than :data:`TTL_SECONDS` it is rebuilt in the background while requests keep
    reading the previous one (so no page waits for a rebuild but the first)."""
    key = (workspace_key(workspace), as_of)
    with _lock:
        hit = _cache.get(key)
        if hit is None:
            mine = sorted((v[0], k) for k, v in _cache.items() if k[0] == key[0])
            for _, old in mine[: max(0, len(mine) - KEEP + 1)]:
                del _cache[old]  # the oldest days' directories of this workspace
            _cache[key] = (time.monotonic(), build_directory(workspace, as_of))
            return _cache[key][1]
        if time.monotonic() - hit[0] >= TTL_SECONDS and key not in _refreshing:
            _refreshing.add(key)
            threading.Thread(target=_refresh, args=(workspace, as_of, key), daemon=True).start()
        return hit[1]


def warm(
    workspace: Workspace, as_of: date, on_error: Callable[[Exception], None]
) -> threading.Thread:
    """Build the directory of ``as_of`` in a background thread (the server calls it at
    start, so the first visitor does not wait for it); a failure goes to ``on_error``
    and the first request builds it instead."""

    def build() -> None:
        try:
            directory(workspace, as_of)
        except Exception as exc:  # reported; the pages build it on demand
            on_error(exc)

    thread = threading.Thread(target=build, name="keepwell-directory-warm", daemon=True)
    thread.start()
    return thread


def _refresh(workspace: Workspace, as_of: date, key: tuple[tuple[str, str], date]) -> None:
    try:
        built = build_directory(workspace, as_of)
        with _lock:
            _cache[key] = (time.monotonic(), built)
    finally:
        with _lock:
            _refreshing.discard(key)


def forget(workspace: Workspace) -> None:
    """Drop the cached directories of ``workspace`` (after a write that changes rows:
    the next request rebuilds)."""
    with _lock:
        for key in [k for k in _cache if k[0] == workspace_key(workspace)]:
            del _cache[key]


def build_directory(workspace: Workspace, as_of: date) -> Directory:
    """Read accounts, the latest snapshot on or before ``as_of`` and the book."""
    snapshot, health = _latest_health(workspace, as_of)
    revenue = _revenue(workspace, as_of)
    rows = []
    for account in contract_service.read_table(workspace, "accounts").to_pylist():
        h = health.get(account["account_id"], {})
        r = revenue.get(account["account_id"], {})
        rows.append(
            {
                "account_id": account["account_id"],
                "name": account["name"],
                "industry": account["industry"],
                "country": account["country"],
                "owner": account["owner"],
                "employees": account["employees"],
                "is_prospect": bool(account["is_prospect"]),
                "segment": h.get("segment"),
                "stage": h.get("stage"),
                "band": h.get("band", "unknown"),
                "score": h.get("score"),
                "churn_probability": h.get("churn_probability"),
                "arr_at_risk": h.get("arr_at_risk"),
                "arr": r.get("arr", Decimal(0)),
                "next_renewal": r.get("next_renewal"),
                "renewal_arr": r.get("renewal_arr"),
                "text": f"{account['name']}\x00{account['account_id']}".lower(),
            }
        )
    rows.sort(key=lambda row: (row["name"].lower(), row["account_id"]))
    built = Directory(as_of, snapshot, rows, {row["account_id"]: row for row in rows})
    for sort in SORTS:  # sorted once here, not by the first page that asks
        built.ordered(sort)
    built.options(None)
    return built


def _latest_health(workspace: Workspace, as_of: date) -> tuple[date | None, dict[str, Any]]:
    with Session(workspace.engine) as session:
        snapshot = session.execute(
            sa.select(sa.func.max(HealthScore.as_of)).where(HealthScore.as_of <= as_of)
        ).scalar_one_or_none()
        if snapshot is None:
            return None, {}
        columns = [HealthScore.account_id, HealthScore.segment, HealthScore.stage,
                   HealthScore.band, HealthScore.score]  # fmt: skip
        # Churn predictions live beside the snapshot once the risk slice stores them.
        columns += [getattr(HealthScore, c) for c in RISK_COLUMNS if hasattr(HealthScore, c)]
        query = sa.select(*columns).where(HealthScore.as_of == snapshot)
        return snapshot, {r.account_id: dict(r._mapping) for r in session.execute(query)}


def _revenue(workspace: Workspace, as_of: date) -> dict[str, dict[str, Any]]:
    book = revenue_service.load_book(workspace)
    lines = book.lines
    active = lines.filter(
        (lines.starts_on <= as_of) & (lines.ends_on.isnull() | (lines.ends_on > as_of))
    )
    arr = active.group_by("account_id").aggregate(arr=(active.mrr.sum() * 12))
    ending = active.filter(active.ends_on.notnull())
    first = ending.group_by("account_id").aggregate(next_renewal=ending.ends_on.min())
    joined = ending.join(first, "account_id")
    due = joined.filter(joined.ends_on == joined.next_renewal)
    renewal = due.group_by(["account_id", "next_renewal"]).aggregate(renewal_arr=due.mrr.sum() * 12)
    result: dict[str, dict[str, Any]] = {r["account_id"]: dict(r) for r in book.rows(arr)}
    for row in book.rows(renewal):
        result.setdefault(row["account_id"], {"arr": Decimal(0)}).update(row)
    return result


def visible(rows: Iterable[dict[str, Any]], scope: str | None) -> list[dict[str, Any]]:
    """The rows a caller limited to ``scope`` (an owner's email; None: all) may see."""
    return list(rows) if scope is None else [r for r in rows if r["owner"] == scope]


def _equals(key: str, value: str) -> Callable[[Row], bool]:
    return lambda row: bool(row[key] == value)


def _checks(f: Filters, scope: str | None, until: date | None) -> list[Callable[[Row], bool]]:
    """One predicate per active filter (none: every row matches)."""
    equal = {k: getattr(f, k) for k in ("segment", "band", "owner", "stage", "industry")}
    if scope is not None:
        equal["owner"] = scope if equal["owner"] in (None, scope) else "\x00no owner\x00"
    checks = [_equals(key, value) for key, value in equal.items() if value]
    if until is not None:
        checks.append(lambda r: r["next_renewal"] is not None and r["next_renewal"] <= until)
    needle = (f.search or "").strip().lower()
    if needle:
        checks.append(lambda r: needle in r["text"])
    return checks


def _sort_key(sort: str) -> Any:
    if sort == "name":
        return lambda r: (r["name"].lower(), r["account_id"])
    if sort in ("arr", "score"):
        return lambda r: (r[sort] is None, float(r[sort] or 0), r["account_id"])
    if sort == "renewal":
        return lambda r: (r["next_renewal"] is None, r["next_renewal"] or date.max)
    return lambda r: ((r[sort] or "").lower(), r["name"].lower())


def search(d: Directory, scope: str | None, f: Filters) -> list[dict[str, Any]]:
    """Every row visible to ``scope`` matching ``f``, sorted (ties: name, then id)."""
    until = d.as_of + timedelta(days=f.renewal_days) if f.renewal_days else None
    sort = f.sort if f.sort in SORTS else "name"
    checks = _checks(f, scope, until)
    if not checks:  # every row: the kept order
        rows = d.ordered(sort)
        return rows[::-1] if f.descending else list(rows)
    # Filter in the stored order (rows side by side in memory), then sort the matches.
    if len(checks) == 1:
        check = checks[0]
        found = [r for r in d.rows if check(r)]
    else:
        found = [r for r in d.rows if all(c(r) for c in checks)]
    if sort != "name":
        found.sort(key=_sort_key(sort))
    if f.descending:
        found.reverse()
    return found


def page_of(rows: list[dict[str, Any]], f: Filters) -> tuple[list[dict[str, Any]], Filters, int]:
    """One page of ``rows``, the filters with the page clamped, and the page count."""
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    current = replace(f, page=min(max(1, f.page), pages))
    start = (current.page - 1) * PAGE_SIZE
    return rows[start : start + PAGE_SIZE], current, pages


def to_csv(rows: Iterable[dict[str, Any]]) -> str:
    """Rows as CSV with the :data:`COLUMNS` header, through the one CSV writer
    (:func:`keepwell.core.csvtext.csv_text`: formula-like cells are quoted)."""
    return csv_text(COLUMNS, rows)


def band_counts(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    """How many of ``rows`` (customers with a score) fall in each band."""
    counts = dict.fromkeys(BANDS, 0)
    for row in rows:
        counts[row["band"] if row["band"] in counts else "unknown"] += 1
    return counts


def band_trend(
    workspace: Workspace, scope: str | None, snapshots: int = 12
) -> list[dict[str, Any]]:
    """Band counts of the last ``snapshots`` stored snapshots (oldest first), limited to
    the accounts of ``scope`` when given."""
    from keepwell.contract.models import Account

    with Session(workspace.engine) as session:
        dates = list(
            session.execute(
                sa.select(HealthScore.as_of)
                .distinct()
                .order_by(HealthScore.as_of.desc())
                .limit(snapshots)
            ).scalars()
        )
        if not dates:
            return []
        query = (
            sa.select(HealthScore.as_of, HealthScore.band, sa.func.count())
            .where(HealthScore.as_of.in_(dates))
            .group_by(HealthScore.as_of, HealthScore.band)
        )
        if scope is not None:
            query = query.join(Account, Account.account_id == HealthScore.account_id).where(
                Account.owner == scope
            )
        found = session.execute(query).all()
    trend = {d: dict.fromkeys(BANDS, 0) for d in sorted(dates)}
    for as_of, band, count in found:
        trend[as_of][band if band in BANDS else "unknown"] += int(count)
    return [{"as_of": d, **counts} for d, counts in trend.items()]
