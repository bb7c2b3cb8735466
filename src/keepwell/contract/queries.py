"""Read use cases of the contract entities for the API: account lists, account detail,
usage, and the visibility rule that limits a user to the accounts they own.

``owner`` is always the scope of the caller: None sees every account, an email sees
only accounts whose ``owner`` is that email; an account out of scope is reported as
not found, exactly like one that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

import ibis
import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.contract.models import (
    Account,
    Activity,
    Contact,
    Invoice,
    Subscription,
    Survey,
    Ticket,
)
from keepwell.core.compiled import Template, Value, compile_template
from keepwell.core.errors import NotFoundError
from keepwell.core.warehouse import AnalyticsStore
from keepwell.core.workspace import Workspace

#: The most rows of each related entity an account detail carries.
DETAIL_LIMIT = 200


class AccountSort(StrEnum):
    NAME = "name"
    NAME_DESC = "-name"
    ACCOUNT_ID = "account_id"
    ACCOUNT_ID_DESC = "-account_id"
    CREATED_AT = "created_at"
    CREATED_AT_DESC = "-created_at"
    EMPLOYEES = "employees"
    EMPLOYEES_DESC = "-employees"


@dataclass(frozen=True)
class AccountFilter:
    """Filters of the account list; None means "any". ``search`` matches a substring of
    the name or the id, case-insensitively."""

    search: str | None = None
    industry: str | None = None
    country: str | None = None
    owner: str | None = None
    is_prospect: bool | None = None


def account_fields(account: Account) -> dict[str, Any]:
    return {
        "account_id": account.account_id,
        "name": account.name,
        "parent_account_id": account.parent_account_id,
        "industry": account.industry,
        "employees": account.employees,
        "country": account.country,
        "owner": account.owner,
        "created_at": account.created_at,
        "category_budget": account.category_budget,
        "is_prospect": account.is_prospect,
        "attributes": account.attributes or {},
    }


def _conditions(filters: AccountFilter, scope: str | None) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if scope is not None:
        conditions.append(Account.owner == scope)
    if filters.search:
        needle = filters.search.lower()
        conditions.append(
            sa.or_(
                sa.func.lower(Account.name).contains(needle, autoescape=True),
                sa.func.lower(Account.account_id).contains(needle, autoescape=True),
            )
        )
    for column, value in (
        (Account.industry, filters.industry),
        (Account.country, filters.country),
        (Account.owner, filters.owner),
    ):
        if value is not None:
            conditions.append(column == value)
    if filters.is_prospect is not None:
        conditions.append(Account.is_prospect.is_(filters.is_prospect))
    return conditions


def list_accounts(
    workspace: Workspace,
    *,
    scope: str | None,
    filters: AccountFilter | None = None,
    sort: AccountSort = AccountSort.NAME,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """One page of accounts visible to ``scope`` matching ``filters``, and the total
    number that match. Ties of the sort key are broken by ``account_id``."""
    conditions = _conditions(filters or AccountFilter(), scope)
    column = getattr(Account, sort.value.lstrip("-"))
    order = column.desc() if sort.value.startswith("-") else column.asc()
    query = sa.select(Account).where(*conditions).order_by(order, Account.account_id)
    with Session(workspace.engine) as session:
        total = session.execute(
            sa.select(sa.func.count()).select_from(Account).where(*conditions)
        ).scalar_one()
        rows = session.execute(query.limit(limit).offset(offset)).scalars().all()
    return [account_fields(a) for a in rows], int(total)


def visible_account(workspace: Workspace, account_id: str, *, scope: str | None) -> Account:
    """The account ``account_id`` if ``scope`` may see it, else :class:`NotFoundError`."""
    with Session(workspace.engine) as session:
        account = session.get(Account, account_id)
    if account is None or (scope is not None and account.owner != scope):
        raise NotFoundError(f"no account {account_id!r}")
    return account


def account_owners(workspace: Workspace, account_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The name and owner of each of ``account_ids`` that exists."""
    result: dict[str, dict[str, Any]] = {}
    ids = sorted(set(account_ids))
    with Session(workspace.engine) as session:
        for start in range(0, len(ids), 500):
            query = sa.select(Account.account_id, Account.name, Account.owner).where(
                Account.account_id.in_(ids[start : start + 500])
            )
            for account_id, name, owner in session.execute(query):
                result[account_id] = {"name": name, "owner": owner}
    return result


def _rows(session: Session, model: Any, account_id: str, order: Any) -> list[dict[str, Any]]:
    query = sa.select(model).where(model.account_id == account_id).order_by(order)
    result = []
    for row in session.execute(query.limit(DETAIL_LIMIT)).scalars():
        result.append({c.key: getattr(row, c.key) for c in sa.inspect(model).column_attrs})
    return result


def account_detail(workspace: Workspace, account_id: str, *, scope: str | None) -> dict[str, Any]:
    """An account with its subscription lines, contacts, invoices, tickets, surveys and
    timeline (activities, newest first); at most :data:`DETAIL_LIMIT` of each."""
    account = visible_account(workspace, account_id, scope=scope)
    with Session(workspace.engine) as session:
        return {
            **account_fields(account),
            "subscriptions": _rows(session, Subscription, account_id, Subscription.starts_on),
            "contacts": _rows(session, Contact, account_id, Contact.contact_id),
            "invoices": _rows(session, Invoice, account_id, Invoice.issued_on.desc()),
            "tickets": _rows(session, Ticket, account_id, Ticket.opened_at.desc()),
            "surveys": _rows(session, Survey, account_id, Survey.responded_at.desc()),
            "timeline": _rows(session, Activity, account_id, Activity.occurred_at.desc()),
        }


#: Compiled usage queries by (dialect, shape of the rollup, bounds given).
_USAGE_TEMPLATES: dict[tuple[Any, ...], Template] = {}


def account_usage(
    store: AnalyticsStore, account_id: str, start: date | None = None, end: date | None = None
) -> list[dict[str, Any]]:
    """Events of ``account_id`` per day and event name from the rollup (counts summed
    over users) and its distinct users, oldest first; ``start``/``end`` bound the day
    inclusively. One Ibis expression on every engine; on DuckDB its SQL is compiled once
    per process (:mod:`keepwell.core.compiled`) so a page view only substitutes values."""
    rollup = store.rollup_rows()
    values: dict[str, Value] = {"account": account_id}
    if start is not None:
        values["first"] = start
    if end is not None:
        values["last"] = end

    def build(v: Mapping[str, Any]) -> ibis.Table:
        expr = rollup.filter(rollup.account_id == v["account"])
        if "first" in v:
            expr = expr.filter(expr.day >= v["first"])
        if "last" in v:
            expr = expr.filter(expr.day <= v["last"])
        expr = expr.group_by(["day", "event"]).aggregate(
            count=expr["count"].sum().cast("int64"), users=expr.user_id.nunique()
        )
        return expr.order_by(["day", "event"])

    if store.con.name != "duckdb":
        rows: list[dict[str, Any]] = build(values).to_pyarrow().to_pylist()
        return rows
    shape = (type(rollup.op()).__name__, tuple(rollup.schema().items()))
    key = (store.con.name, shape, tuple(values))
    template = _USAGE_TEMPLATES.get(key)
    if template is None:
        template = _USAGE_TEMPLATES[key] = compile_template(build, values, store.con.name)
    return store.sql_rows(template.render(values))


def subscription_lines(workspace: Workspace, prefix: str) -> list[dict[str, Any]]:
    """Every subscription line whose ``line_id`` starts with ``prefix``, as contract rows
    (custom attributes merged in)."""
    query = sa.select(Subscription).where(Subscription.line_id.startswith(prefix, autoescape=True))
    with Session(workspace.engine) as session:
        lines: Sequence[Subscription] = session.execute(query).scalars().all()
    return [
        {**(line.attributes or {}),
         **{c.key: getattr(line, c.key) for c in sa.inspect(Subscription).column_attrs
            if c.key != "attributes"}}
        for line in lines
    ]  # fmt: skip


def event_count(store: AnalyticsStore, account_id: str | None = None) -> int:
    """How many raw events are stored (for one account, or in all)."""
    events = store.events()
    if account_id is not None:
        events = events.filter(events.account_id == account_id)
    return int(events.count().to_pyarrow().as_py())


def account_contacts(
    session: Session, account_id: str, *, role: str | None = None
) -> list[dict[str, Any]]:
    """Active contacts of ``account_id`` with an email (of ``role`` when given), in the
    caller's session: contact_id, email, name, title, role and the account's name."""
    query = (
        sa.select(Contact, Account.name)
        .join(Account, Account.account_id == Contact.account_id)
        .where(Contact.account_id == account_id, Contact.is_active.is_(True))
        .where(Contact.email.is_not(None), Contact.email != "")
        .order_by(Contact.contact_id)
    )
    if role is not None:
        query = query.where(Contact.role == role)
    return [
        {"contact_id": c.contact_id, "email": c.email, "name": c.name, "title": c.title,
         "role": c.role, "account_id": account_id, "account_name": name}
        for c, name in session.execute(query).all()
    ]  # fmt: skip


def accounts_contacts(
    session: Session, account_ids: Collection[str], *, role: str | None = None
) -> dict[str, list[dict[str, Any]]]:
    """:func:`account_contacts` of many accounts at once (a query per 500 accounts): by
    account, each account's contacts in ``contact_id`` order; an account without one
    is left out."""
    result: dict[str, list[dict[str, Any]]] = {}
    wanted = sorted(set(account_ids))
    for start in range(0, len(wanted), 500):
        query = (
            sa.select(Contact, Account.name)
            .join(Account, Account.account_id == Contact.account_id)
            .where(Contact.account_id.in_(wanted[start : start + 500]))
            .where(Contact.is_active.is_(True))
            .where(Contact.email.is_not(None), Contact.email != "")
            .order_by(Contact.account_id, Contact.contact_id)
        )
        if role is not None:
            query = query.where(Contact.role == role)
        for c, name in session.execute(query).all():
            result.setdefault(c.account_id, []).append(
                {"contact_id": c.contact_id, "email": c.email, "name": c.name, "title": c.title,
                 "role": c.role, "account_id": c.account_id, "account_name": name}
            )  # fmt: skip
    return result


def account_activities(
    workspace: Workspace, account_id: str, *, limit: int | None = None
) -> list[dict[str, Any]]:
    """Activities (the timeline) of ``account_id``, newest first, at most ``limit``."""
    query = (
        sa.select(Activity)
        .where(Activity.account_id == account_id)
        .order_by(Activity.occurred_at.desc(), Activity.activity_id)
        .limit(limit)
    )
    with Session(workspace.engine) as session:
        return [
            {c.key: getattr(row, c.key) for c in sa.inspect(Activity).column_attrs}
            for row in session.execute(query).scalars()
        ]


def tagged_activities(workspace: Workspace, tag: str) -> list[dict[str, Any]]:
    """Every activity carrying ``tag`` (tags compared trimmed and case-insensitively),
    oldest first. The store picks the rows whose tags' text holds the tag; only those
    are read and checked: a board that looks for new requests on each visit does not
    read every note and meeting of the book."""
    wanted = tag.strip().lower()
    query = sa.select(Activity).order_by(Activity.occurred_at, Activity.activity_id)
    if re.fullmatch(r"[a-z0-9_\- ]+", wanted):  # stored as written in the JSON text
        text = sa.cast(Activity.tags, sa.Text)
        query = query.where(text.ilike(f"%{_like_escaped(wanted)}%", escape="\\"))
    with Session(workspace.engine) as session:
        rows = [
            {c.key: getattr(row, c.key) for c in sa.inspect(Activity).column_attrs}
            for row in session.execute(query).scalars()
        ]
    return [r for r in rows if wanted in {str(t).strip().lower() for t in r["tags"] or []}]


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
