"""The inputs of revenue analytics loaded once into an engine (a :class:`Book`), and
the per-book results every figure starts from, computed once and kept."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from keepwell.revenue.compiled import Builder, Template, Value, compile_template
from keepwell.revenue.ledger import converted_lines, mrr_changes
from keepwell.revenue.movements import ALL, movement_amounts

#: Compiled templates by (query name, dialect, names and schemas of the inputs, names and
#: types of the parameters): shared by every book of the process.
_TEMPLATES: dict[tuple[Any, ...], Template] = {}


@dataclass
class Book:
    """Subscription lines converted to the base currency (``lines``) and ``accounts``,
    as Ibis tables on ``con``; pass one book to several service calls to load once."""

    con: Any
    lines: ir.Table
    accounts: ir.Table
    base_currency: str
    _amounts: list[dict[str, Any]] | None = field(default=None, repr=False)

    def movement_amounts(self) -> list[dict[str, Any]]:
        """Movement amounts and counts of every month with a change, over all accounts
        (rows of :func:`keepwell.revenue.movements.movement_amounts`, group "all").

        One query (MRR changes, one window pass, aggregated per month), run once per
        book: the MRR report and every monthly figure of the summary read from it.
        """
        if self._amounts is None:
            self._amounts = self.query("movement_amounts", self._all_amounts, {})
        return self._amounts

    def _all_amounts(self, _: Mapping[str, Any]) -> ir.Table:
        changes = mrr_changes(self.lines).mutate(group=ibis.literal(ALL))
        return movement_amounts(changes)

    def query(self, name: str, build: Builder, values: Mapping[str, Value]) -> list[dict[str, Any]]:
        """Rows of the expression ``build(values)`` over this book's tables.

        On DuckDB its SQL is compiled once per process for the shape of the inputs
        (see :mod:`keepwell.revenue.compiled`) and later calls only substitute
        ``values``; ``name`` must identify ``build``. Other engines compile each call.
        """
        if self.con.name != "duckdb":
            return self.rows(build(values))
        key = (
            name,
            self.con.name,
            *((t.get_name(), t.schema()) for t in (self.lines, self.accounts)),
            tuple((k, type(v)) for k, v in values.items()),
        )
        template = _TEMPLATES.get(key)
        if template is None:
            template = _TEMPLATES[key] = compile_template(build, values, self.con.name)
        result: list[dict[str, Any]] = (
            self.con.con.sql(template.render(values)).to_arrow_table().to_pylist()
        )
        return result

    def materialize(self, name: str, expr: ir.Table) -> ir.Table:
        """Store ``expr`` as a temporary table ``name`` of the backend and return it.

        (``CREATE TEMP TABLE`` in SQL: ibis 12's ``create_table`` emits statements
        DuckDB 2.0 rejects.)
        """
        sql = ibis.to_sql(expr, dialect=self.con.name)
        self.con.raw_sql(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {sql}')
        table: ir.Table = self.con.table(name)
        return table

    def rows(self, expr: ir.Table) -> list[dict[str, Any]]:
        """Run ``expr`` and return its rows as dicts."""
        result: list[dict[str, Any]] = self.con.to_pyarrow(expr).to_pylist()
        return result


def book_from_arrow(
    subscriptions: pa.Table, accounts: pa.Table, fx_rates: pa.Table, base_currency: str
) -> Book:
    """A :class:`Book` from Arrow tables in the contract's layout, on an in-memory
    DuckDB. Raises :class:`InputError` when a line's currency has no fx rate."""
    con = ibis.duckdb.connect()
    raw = con.con
    raw.register("kw_subscriptions", subscriptions)
    raw.register("kw_fx_rates", fx_rates)
    lines = converted_lines(con.table("kw_subscriptions"), con.table("kw_fx_rates"), base_currency)
    raw.register("kw_accounts", accounts)
    book = Book(con, lines, con.table("kw_accounts"), base_currency)
    book.lines = book.materialize("kw_lines", lines)
    return book
