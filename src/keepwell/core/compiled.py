"""SQL templates: an Ibis expression built from named scalar parameters, compiled to SQL
once and run again with other values by substituting their literals.

Building and compiling a large expression (Ibis, then sqlglot) costs tens of
milliseconds of Python, as much as the engine spends running the query on a book of
150,000 lines. A :class:`Template` is compiled with ``ibis.param`` placeholders bound
to sentinel values no real query uses; the sentinels' literals in the SQL are then
replaced by markers. Rendering puts standard SQL literals of the real values in their
place (``CAST('2025-12-31' AS DATE)``, integers, quoted strings). Parameters must reach
the SQL only through the placeholders: derive values from them with Ibis arithmetic
(``day + timedelta(days=30)`` on a placeholder is SQL), never in Python beforehand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir

#: A parameter value: a day, a month index or a count, or a string.
Value = date | int | str
#: Builds an expression from parameter values (placeholders or plain values) by name.
Builder = Callable[[Mapping[str, Any]], ir.Table]

_TYPES: dict[type, dt.DataType] = {date: dt.date, int: dt.int64, str: dt.string}
#: What any literal derived from a sentinel in Python would contain (year 1111 of the
#: sentinel days, the digits of the sentinel ints, the sentinel strings).
_SENTINEL_MARKS = ("1111", "98765", "kw~sentinel~")


@dataclass(frozen=True)
class Template:
    """SQL with a marker ``__kw_<name>__`` where each parameter's value goes."""

    sql: str

    def render(self, values: Mapping[str, Value]) -> str:
        """The SQL with the literal of each value of ``values`` in place of its marker."""
        sql = self.sql
        for name, value in values.items():
            sql = sql.replace(_marker(name), sql_literal(value))
        return sql


def sql_literal(value: Value) -> str:
    """A standard SQL literal of ``value`` (a date, an int or a string)."""
    if isinstance(value, date):
        return f"CAST('{value.isoformat()}' AS DATE)"
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"template parameters are dates, ints or strings, not {value!r}")
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


def compile_template(build: Builder, values: Mapping[str, Value], dialect: str) -> Template:
    """Compile ``build`` with a placeholder for each parameter of ``values`` (whose
    values only give the types). Raises ``ValueError`` when the expression reads an
    in-memory table (its generated name would not be valid in another run) or when a
    sentinel literal shows up in the SQL other than through its placeholder."""
    params = {name: ibis.param(_type(value)) for name, value in values.items()}
    sentinels = {name: _sentinel(i, values[name]) for i, name in enumerate(params)}
    expr = build(params)
    if expr.op().find(ops.InMemoryTable):
        raise ValueError("a template cannot read an in-memory table")
    bound = {params[name]: sentinels[name] for name in params}
    sql = str(ibis.to_sql(expr, dialect=dialect, pretty=False, params=bound))
    for name, sentinel in sentinels.items():
        literal = _rendered(params[name], sentinel, dialect)
        sql = sql.replace(literal, _marker(name))
    if any(mark in sql for mark in _SENTINEL_MARKS):
        raise ValueError("a parameter reached the SQL other than through its placeholder")
    return Template(sql)


def _type(value: Value) -> dt.DataType:
    for kind, dtype in _TYPES.items():
        if isinstance(value, kind) and not isinstance(value, bool):
            return dtype
    raise TypeError(f"template parameters are dates, ints or strings, not {value!r}")


def _sentinel(index: int, value: Value) -> Value:
    if isinstance(value, date):
        return date(1111, 11, 11 + index)
    if isinstance(value, int):
        return 987_654_300 + index
    return f"kw~sentinel~{index}"


def _rendered(param: ir.Scalar, sentinel: Value, dialect: str) -> str:
    probe = ibis.table({"x": "int64"}, name="kw_probe")
    sql = str(
        ibis.to_sql(probe.select(v=param), dialect=dialect, pretty=False, params={param: sentinel})
    )
    return sql[len("SELECT ") : sql.index(' AS "v"')]


def _marker(name: str) -> str:
    return f"__kw_{name}__"
