"""Use cases of leading the team (the public surface of ``team``): teams, CSMs and
assignments; books of business; coverage and rebalancing; targets and attainment;
"why did it move"; cost to serve and renewal margin; the leader's scorecard.

Figures come from the other slices' services: the account directory (portfolio:
ARR, health band, churn risk, next renewal), revenue (summary figures, movements),
risk (churn probabilities), success (CTAs, references). Attainment reads
:func:`keepwell.revenue.service.portfolio_summary` on the scope's own book: the same
function as ``keepwell metrics summary``. Nothing reads the clock here.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.contract import service as contract_service
from keepwell.core.database import to_decimal, transaction
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.expressions import parse_expression
from keepwell.core.memo import memo
from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from keepwell.portfolio import service as portfolio_service
from keepwell.revenue import service as revenue_service
from keepwell.risk import service as risk_service
from keepwell.success import service as success_service
from keepwell.team import attainment as targets
from keepwell.team import books as books_module
from keepwell.team import cost, coverage
from keepwell.team.books import POOL, UNASSIGNED, Book
from keepwell.team.explain import (
    EXPLAIN_METRICS,
    RATE_KEYS,
    explanation,
    key_parts,
    parts_table,
    table_of,
)
from keepwell.team.models import Assignment, CostInput, Csm, Target, Team

__all__ = ["EXPLAIN_METRICS", "POOL", "UNASSIGNED"]

TOUCH_KINDS = ("meeting", "call", "email", "business_review")
SCOPES = ("company", "team", "csm")


# --- teams, CSMs, assignments ------------------------------------------------------


def add_team(
    workspace: Workspace,
    team_id: str,
    name: str | None = None,
    *,
    manager: str | None = None,
    segment: str | None = None,
    region: str | None = None,
    pooled: bool = False,
    accounts_per_csm: int | None = None,
) -> dict[str, Any]:
    """Create or update the team ``team_id``."""
    if not team_id.strip():
        raise InputError("a team needs an id")
    with transaction(workspace.engine) as session:
        team = session.get(Team, team_id) or Team(team_id=team_id)
        team.name = name or team.name or team_id
        team.manager, team.segment, team.region = manager, segment, region
        team.pooled, team.accounts_per_csm = pooled, accounts_per_csm
        session.add(team)
    return _team(team)


TEAM_FIELDS = ("team_id", "name", "manager", "segment", "region", "pooled", "accounts_per_csm")


def _team(team: Team) -> dict[str, Any]:
    return {k: getattr(team, k) for k in TEAM_FIELDS}


def add_csm(
    workspace: Workspace,
    email: str,
    team_id: str,
    *,
    capacity_accounts: int | None = None,
    capacity_arr: Decimal | None = None,
) -> dict[str, Any]:
    """Add (or move) the CSM ``email`` to ``team_id`` with a capacity."""
    with transaction(workspace.engine) as session:
        if session.get(Team, team_id) is None:
            raise NotFoundError(f"no team {team_id!r}", hint="keepwell team add TEAM first")
        csm = session.get(Csm, email) or Csm(email=email)
        csm.team_id = team_id
        csm.capacity_accounts, csm.capacity_arr = capacity_accounts, capacity_arr
        session.add(csm)
    return {"email": email, "team_id": team_id, "capacity_accounts": capacity_accounts,
            "capacity_arr": capacity_arr}  # fmt: skip


def list_teams(workspace: Workspace) -> list[dict[str, Any]]:
    """Every team with its CSMs."""
    with Session(workspace.engine) as session:
        teams = [_team(t) for t in session.scalars(sa.select(Team).order_by(Team.team_id))]
        csms = list(session.scalars(sa.select(Csm).order_by(Csm.email)))
    for team in teams:
        team["csms"] = [c.email for c in csms if c.team_id == team["team_id"]]
    return teams


@dataclass(frozen=True)
class Org:
    """Teams, CSMs and assignments as the books read them."""

    teams: dict[str, dict[str, Any]]
    csm_teams: dict[str, str]
    capacities: dict[str, tuple[int | None, Decimal | None]]
    assignments: dict[str, str]


def org(workspace: Workspace) -> Org:
    """Read the teams, CSMs and assignments."""
    with Session(workspace.engine) as session:
        teams = {t.team_id: _team(t) for t in session.scalars(sa.select(Team))}
        csms = list(session.scalars(sa.select(Csm)))
        query = sa.select(Assignment.account_id, Assignment.holder)
        assigned = {str(a): str(h) for a, h in session.execute(query).all()}
    return Org(
        teams,
        {c.email: c.team_id for c in csms},
        {c.email: (c.capacity_accounts, c.capacity_arr) for c in csms},
        assigned,
    )


def assign(
    workspace: Workspace,
    to: str,
    as_of: date,
    *,
    accounts: Collection[str] = (),
    rule: str | None = None,
) -> int:
    """Assign ``accounts`` and/or the customers matching ``rule`` (the expression
    language over segment, industry, country, band, arr, owner) to ``to``: a CSM's
    email or ``pool:<team>``. Returns how many accounts were assigned."""
    the_org = org(workspace)
    if to.startswith(POOL):
        if to[len(POOL) :] not in the_org.teams:
            raise NotFoundError(f"no team {to[len(POOL) :]!r} for the pool {to!r}")
    elif to not in the_org.csm_teams:
        raise NotFoundError(
            f"{to!r} is not a CSM of any team", hint="keepwell team csm EMAIL --team T"
        )
    chosen = set(accounts)
    if rule is not None:
        chosen |= _matching(workspace, rule, as_of)
    rows = portfolio_service.directory(workspace, as_of).by_id
    unknown = sorted(a for a in chosen if a not in rows)
    if unknown:
        raise NotFoundError(f"no account {unknown[0]!r}", hint=f"{len(unknown)} unknown in all")
    with transaction(workspace.engine) as session:
        for account_id in sorted(chosen):
            session.merge(Assignment(account_id=account_id, holder=to, rule=rule))
    return len(chosen)


RULE_COLUMNS = ("segment", "industry", "country", "band", "arr", "owner", "employees")


def _matching(workspace: Workspace, rule: str, as_of: date) -> set[str]:
    import ibis

    expression = parse_expression(rule, where="--rule", columns=RULE_COLUMNS)
    rows = [r for r in portfolio_service.directory(workspace, as_of).rows if not r["is_prospect"]]
    table = ibis.memtable(
        {
            "account_id": [r["account_id"] for r in rows],
            **{c: [r.get(c) for r in rows] for c in RULE_COLUMNS if c not in ("arr", "employees")},
            "arr": [float(r["arr"]) for r in rows],
            "employees": [r.get("employees") for r in rows],
        },
        schema={
            "account_id": "string",
            "segment": "string",
            "industry": "string",
            "country": "string",
            "band": "string",
            "owner": "string",
            "arr": "float64",
            "employees": "int64",
        },
    )
    picked = table.filter(expression.to_ibis(table)).select("account_id").to_pyarrow()
    return set(picked.column("account_id").to_pylist())


# --- books ---------------------------------------------------------------------------


def default_scope(workspace: Workspace, email: str, role: str) -> tuple[str, str]:
    """What a person sees first: a CSM their own book, a manager their team's (the
    team they manage, else the one they belong to), an admin or viewer the company."""
    the_org = org(workspace)
    if role == "csm":
        return ("csm", email)
    if role == "manager":
        managed = sorted(t for t, team in the_org.teams.items() if team["manager"] == email)
        team = managed[0] if managed else the_org.csm_teams.get(email)
        if team is not None:
            return ("team", team)
    return ("company", "")


def _touches(workspace: Workspace, as_of: date) -> dict[str, date]:
    """Each account's last touch on or before ``as_of``; kept :data:`TTL_SECONDS` (the
    activities change with imports, not from one request to the next)."""
    return memo(("team-touches", workspace.key, as_of), lambda: _read_touches(workspace, as_of))


def _read_touches(workspace: Workspace, as_of: date) -> dict[str, date]:
    table = contract_service.read_table(workspace, "activities")
    if table.num_rows == 0:
        return {}
    day = pc.cast(table["occurred_at"], pa.date32())
    keep = pc.and_(pc.is_in(table["kind"], value_set=pa.array(TOUCH_KINDS)),
                   pc.less_equal(day, pa.scalar(as_of, pa.date32())))  # fmt: skip
    recent = pa.table({"account_id": table["account_id"], "day": day}).filter(keep)
    latest = recent.group_by("account_id").aggregate([("day", "max")])
    return dict(zip(latest["account_id"].to_pylist(), latest["day_max"].to_pylist(), strict=True))


def _cta_counts(
    workspace: Workspace, as_of: date, accounts: Collection[str] | None = None
) -> dict[str, tuple[int, int, int, int]]:
    """Per account (of ``accounts`` only, when given): live CTAs, overdue CTAs, open
    tasks of live CTAs, overdue tasks."""
    return success_service.work_counts(workspace, as_of, accounts)


def customer_rows(workspace: Workspace, as_of: date) -> list[dict[str, Any]]:
    """The directory's paying customers on ``as_of`` (ARR > 0; prospects and former
    customers left out): the accounts a book holds."""
    rows = portfolio_service.directory(workspace, as_of).rows
    return [r for r in rows if not r["is_prospect"] and r["arr"] > 0]


def held_rows(workspace: Workspace, as_of: date) -> list[dict[str, Any]]:
    """Every account but prospects, former customers included: the accounts whose
    retention a scope answers for (a churned account stays in its holder's figures)."""
    return [r for r in portfolio_service.directory(workspace, as_of).rows if not r["is_prospect"]]


def books(
    workspace: Workspace, as_of: date, kind: str = "company", scope_id: str = ""
) -> tuple[dict[str, Book], dict[str, Book]]:
    """Every CSM's (and pool's) book and every team's on ``as_of`` (see
    :func:`keepwell.team.books.build_books`); of a team's or a CSM's accounts only when
    ``kind`` is ``team`` or ``csm`` (that scope's books are the same, the others empty)."""
    the_org = org(workspace)
    rows = customer_rows(workspace, as_of)
    if kind == "csm":
        rows = [r for r in rows if books_module.holder_of(r, the_org.assignments) == scope_id]
    elif kind == "team":
        teams = the_org.csm_teams
        rows = [r for r in rows if books_module.team_of(
            books_module.holder_of(r, the_org.assignments), teams) == scope_id]  # fmt: skip
    mine = None if kind == "company" else [r["account_id"] for r in rows]
    return books_module.build_books(
        rows,
        as_of,
        assignments=the_org.assignments,
        csm_teams=the_org.csm_teams,
        touches=_touches(workspace, as_of),
        ctas=_cta_counts(workspace, as_of, mine),
        capacities=the_org.capacities,
        plans=success_service.plans_behind(workspace, as_of, mine),
    )


def check_scope(kind: str, scope_id: str, owner_scope: str | None) -> None:
    """A caller limited to one owner's accounts (``owner_scope``) sees only that CSM's
    own scope; :class:`InputError` for an unknown kind."""
    if kind not in SCOPES:
        raise InputError(f"unknown scope {kind!r}", hint=f"one of: {', '.join(SCOPES)}")
    if owner_scope is not None and (kind, scope_id) != ("csm", owner_scope):
        from keepwell.auth.errors import PermissionDeniedError

        raise PermissionDeniedError(f"{owner_scope} may only see their own book")


Books = tuple[dict[str, Book], dict[str, Book]]


def team_overview(
    workspace: Workspace, as_of: date, kind: str, scope_id: str
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The team page's figures: :func:`book_view` of the scope and, for the company,
    :func:`coverage_report`, from the books built once."""
    built = books(workspace, as_of, kind, scope_id)
    view = book_view(workspace, as_of, kind, scope_id, built=built)
    return view, coverage_report(workspace, as_of, built=built) if kind == "company" else None


def book_view(
    workspace: Workspace, as_of: date, kind: str, scope_id: str, *, built: Books | None = None
) -> dict[str, Any]:
    """The books a scope shows: a CSM's own; a team's and its CSMs'; the company's
    teams and CSMs. Rows are :meth:`Book.as_dict`. ``built``: :func:`books` of
    ``as_of`` (of the company or of this scope) when the caller has them."""
    holders, teams = built or books(workspace, as_of, kind, scope_id)
    if kind == "csm":
        mine = holders.get(scope_id) or Book(scope_id, None)
        return {"scope": kind, "id": scope_id, "total": mine.as_dict(), "teams": [],
                "csms": [mine.as_dict()]}  # fmt: skip
    if kind == "team":
        if scope_id not in org(workspace).teams:
            raise NotFoundError(f"no team {scope_id!r}")
        team = teams.get(scope_id) or Book(scope_id, scope_id)
        csms = [b.as_dict() for h, b in sorted(holders.items()) if b.team == scope_id]
        return {"scope": kind, "id": scope_id, "total": team.as_dict(),
                "teams": [team.as_dict()], "csms": csms}  # fmt: skip
    total = Book("company", None)
    for b in holders.values():  # the company's days since the last touch: not shown
        books_module.add_book(total, b, touches=False)
    return {"scope": kind, "id": "", "total": total.as_dict(),
            "teams": [b.as_dict() for _, b in sorted(teams.items())],
            "csms": [b.as_dict() for _, b in sorted(holders.items())]}  # fmt: skip


def scope_accounts(workspace: Workspace, as_of: date, kind: str, scope_id: str) -> set[str]:
    """The accounts a scope answers for on ``as_of`` (:func:`held_rows`; the company:
    all of them)."""
    rows = held_rows(workspace, as_of)
    if kind == "company":
        return {r["account_id"] for r in rows}
    the_org = org(workspace)
    found = set()
    for r in rows:
        holder = books_module.holder_of(r, the_org.assignments)
        if (kind == "csm" and holder == scope_id) or (
            kind == "team" and books_module.team_of(holder, the_org.csm_teams) == scope_id
        ):
            found.add(r["account_id"])
    return found


# --- coverage ------------------------------------------------------------------------


def coverage_report(
    workspace: Workspace, as_of: date, *, built: Books | None = None
) -> dict[str, Any]:
    """Coverage per segment and the rebalancing suggestion (see :mod:`coverage`);
    ``built``: :func:`books` of ``as_of`` when the caller has them."""
    the_org = org(workspace)
    holders, _ = built or books(workspace, as_of)
    seats = [
        coverage.Seat(
            email, the_org.teams[team]["segment"], *the_org.capacities[email],
            holders[email].accounts if email in holders else 0,
            holders[email].arr if email in holders else Decimal(0),
            the_org.teams[team]["region"],
        )
        for email, team in sorted(the_org.csm_teams.items())
    ]  # fmt: skip
    accounts = []
    for r in customer_rows(workspace, as_of):
        holder = books_module.holder_of(r, the_org.assignments)
        if holder is not None and holder.startswith(POOL):
            continue  # the pooled book is covered by automation, not by a CSM
        accounts.append({"account_id": r["account_id"], "name": r.get("name", r["account_id"]),
                         "segment": r.get("segment"), "country": r.get("country"),
                         "arr": r["arr"], "holder": holder})  # fmt: skip
    ratios = {t["segment"]: t["accounts_per_csm"] for t in the_org.teams.values()
              if t["segment"] and not t["pooled"]}  # fmt: skip
    return {
        "segments": coverage.coverage(accounts, seats, ratios),
        "moves": coverage.rebalance(accounts, seats),
    }


# --- targets and attainment ----------------------------------------------------------


def set_target(
    workspace: Workspace, period: str, metric: str, value: Decimal, kind: str = "company",
    scope_id: str = "",
) -> dict[str, Any]:  # fmt: skip
    """Set the target of ``metric`` for ``period`` and a scope (replaces an earlier one)."""
    label = targets.parse_period(period).label
    name = targets.metric(metric)
    check_scope(kind, scope_id, None)
    with transaction(workspace.engine) as session:
        found = session.scalars(sa.select(Target).where(
            Target.period == label, Target.scope_kind == kind, Target.scope_id == scope_id,
            Target.metric == str(name))).first()  # fmt: skip
        target = found or Target(period=label, scope_kind=kind, scope_id=scope_id, metric=str(name))
        target.value = value
        session.add(target)
    return {"period": label, "scope": kind, "id": scope_id, "metric": str(name), "value": value}


def list_targets(workspace: Workspace, period: str | None = None) -> list[dict[str, Any]]:
    """Targets, of one period when given."""
    query = sa.select(Target).order_by(
        Target.period, Target.scope_kind, Target.scope_id, Target.metric
    )
    if period is not None:
        query = query.where(Target.period == targets.parse_period(period).label)
    with Session(workspace.engine) as session:
        return [{"period": t.period, "scope": t.scope_kind, "id": t.scope_id, "metric": t.metric,
                 "value": t.value} for t in session.scalars(query)]  # fmt: skip


def summary_for(
    workspace: Workspace, day: date, accounts: Collection[str]
) -> revenue_service.Summary:
    """``keepwell metrics summary`` as of ``day`` over ``accounts`` only: the one
    function every attainment figure of a scope reads."""
    book = revenue_service.book_of(workspace, accounts)
    return revenue_service.portfolio_summary(workspace, day, book=book)


def _actuals(
    workspace: Workspace,
    period: targets.Period,
    day: date,
    accounts: Collection[str],
    book: revenue_service.Book,
    paying: list[str],
) -> dict[str, Decimal | None]:
    """The figures of a scope on ``day`` (``paying``: its accounts paying the day before
    the period, the base of logo retention)."""
    summary = revenue_service.portfolio_summary(
        workspace, day, renewal_days=(day - period.start).days + 1, book=book
    )
    now = revenue_service.paying_accounts(workspace, day, book=book)
    kept = [a for a in paying if a in now]
    references = {r["account_id"] for r in success_service.list_references(workspace, day)}

    def dec(value: float | None) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    return {
        "nrr": dec(summary.nrr_ttm),
        "grr": dec(summary.grr_ttm),
        "logo_retention": Decimal(len(kept)) / len(paying) if paying else None,
        "renewal_rate": dec(summary.logo_renewal_rate),
        "cmrr": summary.cmrr,
        "referenceable": Decimal(len(references & set(accounts))),
    }


def attainment(
    workspace: Workspace, period: str, as_of: date, kind: str = "company", scope_id: str = ""
) -> dict[str, Any]:
    """Targets of a scope for ``period`` with actual, attainment, forecast and forecast
    attainment (see :mod:`keepwell.team.attainment`), and the history of attainment at
    each month end of the period so far."""
    p = targets.parse_period(period)
    check_scope(kind, scope_id, None)
    day = p.day(as_of)
    accounts = scope_accounts(workspace, day, kind, scope_id)
    goals = {t["metric"]: t["value"] for t in list_targets(workspace, p.label)
             if t["scope"] == kind and t["id"] == scope_id}  # fmt: skip
    actual, expected, past_figures = memo(
        ("team-attainment", workspace.key, kind, scope_id, p.label, day),
        lambda: _figures(workspace, p, day, accounts, as_of),
    )
    rows = []
    for name in targets.TargetMetric:
        if str(name) not in goals:
            continue
        fc = targets.forecast_value(name, actual[str(name)], **expected)
        rows.append(targets.row(name, goals[str(name)], actual[str(name)], fc))
    history = []
    for end, past in past_figures:
        attained = {m: targets.attainment(past[m], v) for m, v in goals.items()}
        history.append({"day": end, "attainment": attained})
    history.append({"day": day, "attainment": {r["metric"]: r["attainment"] for r in rows}})
    return {"period": p.label, "start": p.start, "end": p.end, "as_of": day, "scope": kind,
            "id": scope_id, "accounts": len(accounts), "rows": rows, "history": history,
            "expected": expected}  # fmt: skip


def _figures(
    workspace: Workspace, p: targets.Period, day: date, accounts: Collection[str], as_of: date
) -> tuple[dict[str, Decimal | None], dict[str, Any], list[tuple[date, dict[str, Decimal | None]]]]:
    """A scope's figures to date, the forecast's inputs and the figures at each earlier
    month end of the period: read from the scope's book, loaded once. They change with
    imports and scoring, so the faces reuse them :data:`TTL_SECONDS` (targets are read
    fresh on every call)."""
    book = revenue_service.book_of(workspace, accounts)
    paying = sorted(
        revenue_service.paying_accounts(workspace, p.start - timedelta(days=1), book=book)
    )
    actual = _actuals(workspace, p, day, accounts, book, paying)
    expected = _expected_losses(workspace, day, p.end, accounts, book)
    past = [(end, _actuals(workspace, p, end, accounts, book, paying))
            for end in p.month_ends(as_of) if end < day]  # fmt: skip
    return actual, expected, past


def _expected_losses(
    workspace: Workspace, day: date, end: date, accounts: Collection[str],
    book: revenue_service.Book,
) -> dict[str, Any]:  # fmt: skip
    """Expected lost ARR and logos of the renewals in (day, end] of ``accounts``, and
    their ARR and count now (the forecast's inputs)."""
    rows = [r for r in customer_rows(workspace, day) if r["account_id"] in accounts]
    probability = {r["account_id"]: r.get("churn_probability") for r in rows}
    due = revenue_service.upcoming_renewals(workspace, day, max(1, (end - day).days), book=book)
    lost_arr, lost_logos, seen = Decimal(0), Decimal(0), set()
    for line in due:
        p = probability.get(line["account_id"])
        if p is None:
            continue
        lost_arr += line["arr"] * Decimal(str(p))
        if line["account_id"] not in seen:
            seen.add(line["account_id"])
            lost_logos += Decimal(str(p))
    return {"lost_arr": lost_arr, "arr": sum((r["arr"] for r in rows), Decimal(0)),
            "lost_logos": lost_logos, "accounts": len(rows)}  # fmt: skip


def forecast_buckets(workspace: Workspace, as_of: date, end: date) -> list[dict[str, Any]]:
    """The renewal forecast's buckets (commit / likely / at risk) for the renewals up to
    the period's end ``end``."""
    if not risk_service.has_model(workspace):
        return []
    days = max(1, (end - as_of).days)
    result = risk_service.renewal_forecast(workspace, as_of, days)
    buckets: list[dict[str, Any]] = result["upcoming"]["buckets"]
    return buckets


# --- why did it move -----------------------------------------------------------------


def explain_metric(
    workspace: Workspace, metric: str, month: date, vs: date | None = None
) -> dict[str, Any]:
    """The change of ``metric`` from month ``vs`` (default: the month before) to
    ``month``, split by segment, team, CSM, product, plan, industry and country into mix
    and rate effects, with the accounts that moved it most and a summary (see
    :mod:`keepwell.team.explain`). The explanation of two past months changes with
    imports and scoring only: it is reused :data:`TTL_SECONDS`."""
    if metric not in EXPLAIN_METRICS:
        raise InputError(f"cannot explain {metric!r}", hint=f"one of: {', '.join(EXPLAIN_METRICS)}")
    m1 = date(month.year, month.month, 1)
    m0 = date(vs.year, vs.month, 1) if vs is not None else (m1 - timedelta(days=1)).replace(day=1)
    if m0 >= m1:
        raise InputError(f"--vs {m0:%Y-%m} must be before --month {m1:%Y-%m}")
    return memo(
        ("team-explain", workspace.key, metric, m0, m1),
        lambda: _explain(workspace, metric, m0, m1),
    )


def _explain(workspace: Workspace, metric: str, m0: date, m1: date) -> dict[str, Any]:
    end1 = revenue_service.month_end(m1.year * 12 + m1.month - 1)
    end0 = revenue_service.month_end(m0.year * 12 + m0.month - 1)
    book = revenue_service.load_book(workspace)
    labels = _labels(workspace, end1, book)
    if metric == "red_share":
        rows0, rows1 = _band_parts(workspace, end0), _band_parts(workspace, end1)
        parts = table_of(key_parts(metric, rows0, rows1, revenue_service.rate_parts))
        by_product = None
    else:
        both = revenue_service.account_rate_parts(workspace, m0, m1, book=book)
        name = RATE_KEYS.get(metric, metric)
        parts = parts_table(both["account_id"], both[f"{name}_n0"], both[f"{name}_d0"],
                            both[f"{name}_n1"], both[f"{name}_d1"])  # fmt: skip
        by_product = _two_months(workspace, m0, m1, "product", book)
    names = revenue_service.account_names(workspace, book=book)
    return explanation(
        metric, f"{m0:%Y-%m}", f"{m1:%Y-%m}", parts, labels, by_product, names,
        revenue_service.rate_parts,
    )  # fmt: skip


def _by_group(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(r["group"]): r for r in rows}


def _two_months(
    workspace: Workspace, m0: date, m1: date, by: str, book: revenue_service.Book
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Movements per ``by`` group of month ``m0`` and of month ``m1``: one query over
    both when they are adjacent, else one per month."""
    end1 = revenue_service.month_end(m1.year * 12 + m1.month - 1)
    if (m1.year * 12 + m1.month) - (m0.year * 12 + m0.month) == 1:
        rows = revenue_service.mrr_movements(workspace, m0, end1, by, book=book)
        first, second = f"{m0:%Y-%m}", f"{m1:%Y-%m}"
        return (
            {str(r["group"]): r for r in rows if r["month"] == first},
            {str(r["group"]): r for r in rows if r["month"] == second},
        )
    end0 = revenue_service.month_end(m0.year * 12 + m0.month - 1)
    return (
        _by_group(revenue_service.mrr_movements(workspace, m0, end0, by, book=book)),
        _by_group(revenue_service.mrr_movements(workspace, m1, end1, by, book=book)),
    )


def _band_parts(workspace: Workspace, day: date) -> dict[str, dict[str, Any]]:
    bands = health_service.account_groups(workspace, "band", day)
    return {a: {"band": b} for a, b in bands.items()}


def _segments(workspace: Workspace, day: date) -> dict[str, str]:
    """Each account's segment in its latest snapshot on or before ``day``; an account
    scored only earlier (one that left) keeps the segment of that snapshot."""
    return health_service.account_groups(workspace, "segment", day)


def _labels(
    workspace: Workspace, day: date, book: revenue_service.Book
) -> dict[str, dict[str, str]]:
    """Per dimension, each account's group on ``day`` (account columns from the book
    already loaded)."""
    columns = [c for c in ("account_id", "owner", "industry", "country", "plan", "plan_tier",
                           "tier") if c in book.accounts.columns]  # fmt: skip
    table = book.con.to_pyarrow(book.accounts.select(*columns))
    values = {c: table[c].to_pylist() for c in columns}
    ids = values["account_id"]
    the_org = org(workspace)
    owners = values.get("owner") or [None] * len(ids)
    holders = {a: books_module.holder_of({"account_id": a, "owner": o}, the_org.assignments)
               for a, o in zip(ids, owners, strict=True)}  # fmt: skip
    labels: dict[str, dict[str, str]] = {
        "segment": _segments(workspace, day),
        "team": {
            a: t
            for a, h in holders.items()
            if (t := books_module.team_of(h, the_org.csm_teams)) is not None
        },
        "csm": {a: h for a, h in holders.items() if h is not None},
    }
    for name in ("industry", "country"):
        if name in values:
            labels[name] = {a: v for a, v in zip(ids, values[name], strict=True) if v}
    for column in ("plan", "plan_tier", "tier"):
        if ids and column in values:
            labels["plan"] = {a: str(v) for a, v in zip(ids, values[column], strict=True) if v}
            break
    return labels


# --- cost to serve -------------------------------------------------------------------


def cost_inputs(workspace: Workspace) -> dict[str, Decimal]:
    """The workspace's cost inputs over the defaults (see :mod:`keepwell.team.cost`)."""
    with Session(workspace.engine) as session:
        query = sa.select(CostInput.key, CostInput.value)
        stored = {k: to_decimal(v) for k, v in session.execute(query).all()}
    return {**cost.DEFAULTS, **stored}


def set_cost_input(workspace: Workspace, key: str, value: Decimal) -> dict[str, Decimal]:
    """Set one cost input; :class:`InputError` for an unknown key or a negative value."""
    if key not in cost.INPUTS:
        raise InputError(f"unknown cost input {key!r}", hint=f"one of: {', '.join(cost.INPUTS)}")
    if value < 0:
        raise InputError(f"{key} must not be negative, got {value}")
    with transaction(workspace.engine) as session:
        session.merge(CostInput(key=key, value=value))
    return cost_inputs(workspace)


def cost_to_serve(workspace: Workspace, as_of: date) -> dict[str, Any]:
    """Cost to serve and renewal margin per segment and per tier over the 12 months up
    to ``as_of`` (see :mod:`keepwell.team.cost`)."""
    inputs = cost_inputs(workspace)
    start = as_of - timedelta(days=365)
    done = _in_period(
        contract_service.read_table(workspace, "activities"), "occurred_at", start, as_of
    )
    activities = [
        {"account_id": a["account_id"], "kind": a["kind"], "automated": not a.get("author")}
        for a in done
    ]
    tickets = _in_period(
        contract_service.read_table(workspace, "tickets"), "opened_at", start, as_of
    )
    costs = cost.account_costs(activities, tickets, inputs)
    the_org = org(workspace)
    book = revenue_service.load_book(workspace)
    before = revenue_service.account_arr(workspace, start, book=book)
    rows = []
    for r in customer_rows(workspace, as_of):
        holder = books_module.holder_of(r, the_org.assignments)
        renewing = before.get(r["account_id"], {}).get("arr", Decimal(0)) > 0
        rows.append({
            "account_id": r["account_id"], "segment": r.get("segment"), "arr": r["arr"],
            "tier": cost.HIGH_TOUCH if holder and not holder.startswith(POOL) else cost.TECH_TOUCH,
            "renewing": renewing, "new_arr": None if renewing or r["arr"] == 0 else r["arr"],
        })  # fmt: skip
    return {
        "as_of": as_of, "start": start, "inputs": inputs,
        "segments": cost.margin_by(rows, costs, inputs, "segment"),
        "tiers": cost.margin_by(rows, costs, inputs, "tier"),
    }  # fmt: skip


def _in_period(table: pa.Table, column: str, start: date, end: date) -> list[dict[str, Any]]:
    if table.num_rows == 0:
        return []
    day = pc.cast(table[column], pa.date32())
    keep = pc.and_(pc.greater(day, pa.scalar(start, pa.date32())),
                   pc.less_equal(day, pa.scalar(end, pa.date32())))  # fmt: skip
    rows: list[dict[str, Any]] = table.filter(keep).to_pylist()
    return rows


# --- scorecard -----------------------------------------------------------------------


SIX = Decimal("0.000001")
SCORECARD_COLUMNS = (
    "scope", "id", "team", "accounts", "arr", "renewals_due", "renewals_won", "renewal_rate",
    "renewed_arr", "expansion_arr", "referenceable", "nrr",
)  # fmt: skip


def scorecard(workspace: Workspace, period: str, as_of: date) -> list[dict[str, Any]]:
    """Per team and per CSM for ``period`` (up to ``as_of``): renewals due and won
    (any successor line: renewed, expanded or contracted) with the renewed ARR (12 ×
    successor MRR), expansion ARR (12 × expansion MRR of the
    period's months), referenceable customers and TTM NRR at the period's end so far
    (:func:`summary_for`) — the figures a bonus plan reads."""
    p = targets.parse_period(period)
    day = p.day(as_of)
    the_org = org(workspace)
    holders, teams = books(workspace, day)
    book = revenue_service.load_book(workspace)
    ended = revenue_service.past_renewals(workspace, p.start, day, book=book)
    moves = revenue_service.mrr_movements(workspace, p.start, day, "account_id", book=book)
    references = {r["account_id"] for r in success_service.list_references(workspace, day)}
    owner: dict[str, str | None] = {}
    for r in held_rows(workspace, day):
        owner[r["account_id"]] = books_module.holder_of(r, the_org.assignments)
    rows = []
    scopes: list[tuple[str, str, str | None, Book]]
    scopes = [("team", t, t, b) for t, b in sorted(teams.items())]
    scopes += [("csm", h, b.team, b) for h, b in sorted(holders.items()) if h != UNASSIGNED]
    for kind, ident, team, b in scopes:

        def mine(account: str, kind: str = kind, ident: str = ident) -> bool:
            holder = owner.get(account)
            if kind == "csm":
                return holder == ident
            return books_module.team_of(holder, the_org.csm_teams) == ident

        due = [e for e in ended if mine(e["account_id"])]
        won = [e for e in due if e["outcome"] != "churned"]
        expansion = sum((m["expansion"] for m in moves if mine(str(m["group"]))), Decimal(0))
        accounts = {a for a in owner if mine(a)}
        nrr = summary_for(workspace, day, accounts).nrr_ttm if accounts else None
        rows.append({
            "scope": kind, "id": ident, "team": team, "accounts": b.accounts, "arr": b.arr,
            "renewals_due": len(due), "renewals_won": len(won),
            "renewal_rate": None if not due else (Decimal(len(won)) / len(due)).quantize(SIX),
            "renewed_arr": sum((e["successor_mrr"] * 12 for e in won), Decimal(0)),
            "expansion_arr": expansion * 12,
            "referenceable": len(references & accounts),
            "nrr": None if nrr is None else Decimal(str(nrr)).quantize(SIX),
        })  # fmt: skip
    return rows


# --- the demo company's team ---------------------------------------------------------

DEMO_TARGETS = {"nrr": Decimal("1.05"), "grr": Decimal("0.90"), "logo_retention": Decimal("0.95"),
                "renewal_rate": Decimal("0.85")}  # fmt: skip
DEMO_CAC = Decimal(6000)
DEMO_POOL = "pool"


def set_up_demo_team(workspace: Workspace, as_of: date) -> dict[str, int]:
    """Give the demo company a team per health segment (its CSMs: the owners whose
    accounts are mostly in it; capacity 15 % above today's book, the busiest CSM's 15 %
    below it so coverage suggests moves), a pooled tech-touch book (the smallest 30 % of
    the smallest segment's customers), a manager per team, targets for the quarter and
    the year of ``as_of`` (company, teams, CSMs), the default cost inputs with a CAC, and
    the happiest 5 % of green customers flagged referenceable."""
    rows = [r for r in customer_rows(workspace, as_of) if r["segment"]]
    by_owner: dict[str, dict[str, int]] = {}
    arr: dict[str, Decimal] = {}
    for r in rows:
        if r["owner"]:
            seg = r["segment"]
            by_owner.setdefault(r["owner"], {}).setdefault(seg, 0)
            by_owner[r["owner"]][seg] += 1
            arr[r["owner"]] = arr.get(r["owner"], Decimal(0)) + r["arr"]
    segments = sorted({s for counts in by_owner.values() for s in counts})
    home = {o: max(counts, key=lambda s: (counts[s], s)) for o, counts in by_owner.items()}
    for seg in segments:
        members = [o for o in home if home[o] == seg]
        add_team(workspace, seg, f"{seg.replace('_', ' ').capitalize()} team",
                 manager=f"lead.{seg}@keepwell-demo.example", segment=seg,
                 accounts_per_csm=max(1, round(sum(by_owner[o][seg] for o in members)
                                               / max(1, len(members)))))  # fmt: skip
    busiest = max(by_owner, key=lambda o: (sum(by_owner[o].values()), o)) if by_owner else None
    for owner, seg in sorted(home.items()):
        count = sum(by_owner[owner].values())
        factor = Decimal("0.85") if owner == busiest else Decimal("1.15")
        add_csm(workspace, owner, seg, capacity_accounts=max(1, int(count * factor)),
                capacity_arr=(arr[owner] * factor).quantize(Decimal(1)))  # fmt: skip
    pooled = 0
    if segments:
        smallest = min(segments, key=lambda s: sum(
            (r["arr"] for r in rows if r["segment"] == s), Decimal(0)))  # fmt: skip
        add_team(workspace, DEMO_POOL, "Pooled tech-touch book", segment=smallest, pooled=True,
                 manager=f"lead.{smallest}@keepwell-demo.example")  # fmt: skip
        small = sorted((r for r in rows if r["segment"] == smallest),
                       key=lambda r: (r["arr"], r["account_id"]))  # fmt: skip
        picked = [r["account_id"] for r in small[: len(small) * 3 // 10]]
        if picked:
            pooled = assign(workspace, f"{POOL}{DEMO_POOL}", as_of, accounts=picked)
    happy = sorted((r for r in rows if r["band"] == "green"),
                   key=lambda r: (-(r["score"] or 0), r["account_id"]))  # fmt: skip
    for r in happy[: max(1, len(rows) // 20)]:  # the happiest 5 % agreed to be references
        success_service.set_referenceable(workspace, r["account_id"], True, on=as_of)
    count = _demo_targets(workspace, as_of, segments, sorted(home))
    for key, value in cost.DEFAULTS.items():
        set_cost_input(workspace, key, value)
    set_cost_input(workspace, "cac", DEMO_CAC)
    return {"teams": len(segments) + 1, "csms": len(home), "pooled": pooled, "targets": count}


def _demo_targets(workspace: Workspace, as_of: date, teams: list[str], csms: list[str]) -> int:
    count = 0
    periods = (targets.period_of(as_of).label, targets.period_of(as_of, quarter=False).label)
    scopes = [("company", ""), *(("team", t) for t in teams), *(("csm", c) for c in csms)]
    for kind, ident in scopes:
        accounts = scope_accounts(workspace, as_of, kind, ident)
        figures = dict(DEMO_TARGETS)
        if accounts:
            figures["cmrr"] = (summary_for(workspace, as_of, accounts).cmrr
                               * Decimal("1.03")).quantize(Decimal(1))  # fmt: skip
        figures["referenceable"] = Decimal(max(1, len(accounts) // 25))
        for period in periods:
            for name, value in figures.items():
                set_target(workspace, period, name, value, kind, ident)
                count += 1
    return count


# --- helpers of the faces ------------------------------------------------------------


def current_period(day: date) -> str:
    """The quarter of ``day`` (``YYYY-Qn``): the targets pages' default period."""
    return targets.period_of(day).label


def last_complete_month_start(day: date) -> date:
    """The first day of the last complete month of ``day`` (explain's default month)."""
    index = revenue_service.last_complete_month(day)
    return date(index // 12, index % 12 + 1, 1)


def book_accounts(workspace: Workspace, as_of: date, holder: str) -> list[dict[str, Any]]:
    """The accounts of one holder's book on ``as_of`` with their ARR, band, churn risk,
    next renewal, live and overdue CTAs and days since the last touch, largest first."""
    the_org = org(workspace)
    mine = [r for r in customer_rows(workspace, as_of)
            if books_module.holder_of(r, the_org.assignments) == holder]  # fmt: skip
    ids = [r["account_id"] for r in mine]
    touches, ctas = _touches(workspace, as_of), _cta_counts(workspace, as_of, ids)
    plans = success_service.plans_behind(workspace, as_of, ids)
    rows = []
    for r in sorted(mine, key=lambda r: (-r["arr"], r["account_id"])):
        touch = touches.get(r["account_id"])
        live, overdue, tasks, late = ctas.get(r["account_id"], (0, 0, 0, 0))
        days = None if touch is None else (as_of - touch).days
        rows.append({**r, "risk_arr": books_module.risk_arr(r), "live_ctas": live,
                     "overdue_ctas": overdue, "open_tasks": tasks, "overdue_tasks": late,
                     "plans_behind": plans.get(r["account_id"], 0),
                     "days_since_touch": days})  # fmt: skip
    return rows
