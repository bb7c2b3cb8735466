"""Evaluating rules over the per-account rule table (one row per customer).

Pure: the rows come in as dictionaries, the table is an in-memory Ibis table and each
condition compiles to an Ibis filter. A rule that fails on the data (an unknown column,
a type error) becomes a problem naming its file and line; the other rules still run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb
import ibis
import pyarrow as pa
from ibis.common.exceptions import IbisError

from keepwell.core.errors import ConfigurationError
from keepwell.success.rules import Rule, template_columns

#: Columns of text even when every value is missing (all other all-null columns: numbers).
TEXT_COLUMNS = frozenset(
    {"band", "previous_band", "segment", "stage", "owner", "name", "churn_driver"}
)
#: Columns shown with every CTA besides those its rule reads.
SHOWN = ("name", "owner", "segment", "stage", "score", "band", "previous_band", "arr")
#: Columns the CTA's stake and priority read (:mod:`keepwell.success.routing`).
STAKE = ("churn_probability", "days_to_renewal", "key_contact_left_90d")


@dataclass(frozen=True)
class Match:
    """A rule that fired for an account, with the values that made it fire."""

    rule: Rule
    account_id: str
    values: dict[str, Any]


def rule_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    """The rows as an Arrow table (the columns of the first row, as
    ``pa.Table.from_pylist`` takes them): decimals become floats, all-null columns get
    a type.

    Column by column: ``from_pylist`` walks every row and key in one compiled call that
    holds the interpreter lock throughout (0.4 s at 50,000 accounts, during which a
    server's requests cannot run); here each column's values are gathered in Python,
    which lets other threads in, and only each column's conversion holds the lock."""
    if not rows:
        return pa.table({})
    columns = {name: pa.array([_plain(r.get(name)) for r in rows]) for name in rows[0]}
    table = pa.table(columns)
    for index, column in enumerate(table.schema):
        if pa.types.is_null(column.type):
            kind = pa.string() if column.name in TEXT_COLUMNS else pa.float64()
            table = table.set_column(index, column.name, table.column(index).cast(kind))
    return table


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def evaluate_rules(
    rules: Iterable[Rule], rows: Sequence[dict[str, Any]]
) -> tuple[list[Match], list[str]]:
    """Every (rule, account) whose condition holds (null counts as false), in rule order
    then account order, and one problem per rule that could not be evaluated."""
    if not rows:
        return [], []
    arrow = rule_table(rows)
    table = ibis.memtable(arrow)
    by_id = {str(r["account_id"]): r for r in rows}
    matches: list[Match] = []
    problems: list[str] = []
    for rule in rules:
        try:
            ids = _matching(rule, table)
        except ConfigurationError as exc:
            problems.append(str(exc))
            continue
        except (IbisError, duckdb.Error, TypeError, ValueError, AttributeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            problems.append(f"{rule.where} (rule {rule.name}): cannot evaluate: {first}")
            continue
        wanted = [*sorted(rule.when.columns), *SHOWN, *STAKE]
        if rule.cta is not None and rule.cta.reason:
            wanted += template_columns(rule.cta.reason)
        if rule.cta is not None and rule.cta.due_in:
            wanted.append(rule.cta.due_in)
        for account_id in sorted(ids):
            row = by_id[account_id]
            matches.append(Match(rule, account_id, {c: row.get(c) for c in dict.fromkeys(wanted)}))
    return matches, problems


def _matching(rule: Rule, table: ibis.Table) -> list[str]:
    condition = rule.when.to_ibis(table)
    if rule.segments:
        condition = condition & table.segment.isin(list(rule.segments))
    picked = table.filter(condition.fill_null(False)).select("account_id")
    return [str(v) for v in picked.to_pyarrow().column("account_id").to_pylist()]
