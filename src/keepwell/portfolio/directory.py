"""The account directory: one row per account with its latest health and revenue, kept
in memory so the accounts page filters, sorts and pages 50,000 accounts without
re-reading every store on each request. Pure: :func:`build` takes what the services
read (see ``portfolio.service.directory``).

A row joins the contract's account with the latest health snapshot (segment, stage,
score, band, churn prediction) and revenue's ARR on the directory's day (12 x the MRR of
lines active that day, base currency) with the next renewal (the earliest end of a line
after that day, with the ARR of the lines ending then).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from keepwell.core.csvtext import csv_text

PAGE_SIZE = 50
SORTS = ("name", "arr", "score", "renewal", "owner", "segment", "band", "churn")
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
    #: revenue's story per account (MRR changes, past renewals) up to ``as_of``, kept
    #: with the rows so Account 360's timeline reads it instead of a book per account
    histories: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    #: rows sorted by each sort key, and filter options per owner scope, made on demand
    _orders: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)
    _options: dict[str | None, dict[str, list[str]]] = field(default_factory=dict, repr=False)
    _groups: dict[tuple[Any, Any], list[dict[str, Any]]] | None = field(default=None, repr=False)

    def customers_of(self, segment: Any, industry: Any) -> list[dict[str, Any]]:
        """The rows of the customers (not prospects) of ``segment`` and ``industry``
        (an account's peers), grouped once for every pair and kept."""
        if self._groups is None:
            groups: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
            for row in self.rows:
                if not row["is_prospect"]:
                    groups.setdefault((row["segment"], row["industry"]), []).append(row)
            self._groups = groups
        return self._groups.get((segment, industry), [])

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


def build(
    as_of: date,
    accounts: Iterable[dict[str, Any]],
    snapshot: date | None,
    health: dict[str, dict[str, Any]],
    revenue: dict[str, dict[str, Any]],
    histories: dict[str, dict[str, Any]] | None = None,
) -> Directory:
    """The directory of ``as_of`` from the contract's ``accounts``, the rows of the
    health ``snapshot`` per account, revenue's ARR and next renewal per account and its
    ``histories`` per account (see :attr:`Directory.histories`)."""
    rows = []
    for account in accounts:
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
                "days_in_stage": h.get("days_in_stage"),
                "stage_overdue": bool(h.get("stage_overdue")),
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
    built = Directory(
        as_of, snapshot, rows, {row["account_id"]: row for row in rows}, histories or {}
    )
    for sort in SORTS:  # sorted once here, not by the first page that asks
        built.ordered(sort)
    built.options(None)
    return built


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
    if sort == "churn":
        return lambda r: (r.get("churn_probability") is None,
                          float(r.get("churn_probability") or 0), r["account_id"])  # fmt: skip
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
