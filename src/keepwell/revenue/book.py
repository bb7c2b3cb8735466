"""The inputs of revenue analytics loaded once into an engine (a :class:`Book`), and
the per-book results every figure starts from, computed once and kept."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa

from keepwell.core.compiled import Builder, Template, Value, compile_template
from keepwell.revenue.ledger import converted_lines, mrr_changes, no_rate_error, unrated_lines
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
    #: the in-process DuckDB connection under ``con`` when the book made it (compiled
    #: queries run on it directly); None on another engine
    duckdb: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)
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

    def query(
        self,
        name: str,
        build: Builder,
        values: Mapping[str, Value],
        inputs: tuple[ir.Table, ...] = (),
    ) -> list[dict[str, Any]]:
        """Rows of the expression ``build(values)``, which reads the book's ``lines`` and
        ``accounts`` or else the tables ``inputs``.

        On DuckDB its SQL is compiled once per process for the names and schemas of the
        tables read (see :mod:`keepwell.core.compiled`) and later calls only
        substitute ``values``; ``name`` must identify ``build``, and ``build`` must
        depend on nothing else. Other engines compile each call.
        """
        if self.duckdb is None:
            return self.rows(build(values))
        sql = self._template(name, build, values, inputs).render(values)
        result: list[dict[str, Any]] = self.duckdb.sql(sql).to_arrow_table().to_pylist()
        return result

    def arrow(
        self,
        name: str,
        build: Builder,
        values: Mapping[str, Value],
        inputs: tuple[ir.Table, ...] = (),
    ) -> pa.Table:
        """:meth:`query` as an Arrow table (columns, not a dict per row: for results of
        one row per account that are summed further)."""
        if self.duckdb is None:
            return self.con.to_pyarrow(build(values))
        sql = self._template(name, build, values, inputs).render(values)
        table: pa.Table = self.duckdb.sql(sql).to_arrow_table()
        return table

    def _template(
        self, name: str, build: Builder, values: Mapping[str, Value], inputs: tuple[ir.Table, ...]
    ) -> Template:
        tables = inputs or (self.lines, self.accounts)
        key = (
            name,
            self.con.name,
            *((t.get_name(), t.schema()) for t in tables),
            tuple((k, type(v)) for k, v in values.items()),
        )
        template = _TEMPLATES.get(key)
        if template is None:
            template = _TEMPLATES[key] = compile_template(build, values, self.con.name)
        return template

    def materialize(self, name: str, expr: ir.Table) -> ir.Table:
        """Store ``expr`` as a temporary table ``name`` of the backend and return it.

        (``CREATE TEMP TABLE`` in SQL: ibis 12's ``create_table`` emits statements
        DuckDB 2.0 rejects.)
        """
        sql = ibis.to_sql(expr, dialect=self.con.name)
        return self._create(name, sql)

    def materialize_query(
        self, name: str, build: Builder, values: Mapping[str, Value], inputs: tuple[ir.Table, ...]
    ) -> ir.Table:
        """:meth:`materialize` of ``build(values)``, compiled as in :meth:`query`."""
        if self.duckdb is None:
            return self.materialize(name, build(values))
        return self._create(name, self._template(name, build, values, inputs).render(values))

    def _create(self, name: str, sql: str) -> ir.Table:
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
    raw = duckdb.connect()
    raw.register("kw_subscriptions", subscriptions)
    raw.register("kw_fx_rates", fx_rates)
    raw.register("kw_accounts", accounts)
    con = ibis.duckdb.from_connection(raw)
    subs, fx = con.table("kw_subscriptions"), con.table("kw_fx_rates")
    book = Book(con, subs, con.table("kw_accounts"), base_currency, raw)
    values: dict[str, Value] = {"base": base_currency}
    missing = book.query(
        "unrated_lines", lambda v: unrated_lines(subs, fx, v["base"]), values, (subs, fx)
    )
    if missing:
        raise no_rate_error(str(missing[0]["currency"]), int(missing[0]["start_m"]))
    book.lines = book.materialize_query(
        "kw_lines", lambda v: converted_lines(subs, fx, v["base"], check=False), values, (subs, fx)
    )
    return book
