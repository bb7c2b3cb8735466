"""The rule language: a small whitelisted expression language over the columns of a table.

Segments, journey stages, rules and custom measures are written as SQL-like expressions::

    arr >= 100000 and industry in ('saas', 'fintech')
    coalesce(active_users_30d, 0) / licensed_seats between 0.2 and 0.8
    not (owner is null)

They are parsed with sqlglot and checked against a whitelist: column names, literals
(numbers, strings, true/false/null), comparisons, ``and``/``or``/``not``, ``in (...)``,
``between``, ``is [not] null``, arithmetic (``+ - * / %``, unary minus) and the
functions ``abs``, ``coalesce``, ``least``, ``greatest`` and ``round``. Anything else —
attribute access (``a.b``), other functions, subqueries, several statements, casts —
is refused with a :class:`~keepwell.core.errors.ConfigurationError` naming the piece
and where it came from. A checked expression compiles to an Ibis value over a table, so
a rule runs where the data is. Nothing is ever evaluated by Python's ``eval``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import ibis
import sqlglot
from sqlglot import exp

from keepwell.core.errors import ConfigurationError

_COMPARISONS: dict[type[exp.Expr], Callable[[Any, Any], Any]] = {
    exp.EQ: lambda a, b: a == b,
    exp.NEQ: lambda a, b: a != b,
    exp.GT: lambda a, b: a > b,
    exp.GTE: lambda a, b: a >= b,
    exp.LT: lambda a, b: a < b,
    exp.LTE: lambda a, b: a <= b,
}
_ARITHMETIC: dict[type[exp.Expr], Callable[[Any, Any], Any]] = {
    exp.Add: lambda a, b: a + b,
    exp.Sub: lambda a, b: a - b,
    exp.Mul: lambda a, b: a * b,
    exp.Div: lambda a, b: a / b,
    exp.Mod: lambda a, b: a % b,
}
_LOGICAL: dict[type[exp.Expr], Callable[[Any, Any], Any]] = {
    exp.And: lambda a, b: a & b,
    exp.Or: lambda a, b: a | b,
}
_FUNCTIONS: dict[type[exp.Expr], str] = {
    exp.Abs: "abs",
    exp.Coalesce: "coalesce",
    exp.Least: "least",
    exp.Greatest: "greatest",
    exp.Round: "round",
}
#: Node types allowed anywhere in an expression (beyond the operator tables above).
_STRUCTURAL = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.Not,
    exp.Neg,
    exp.In,
    exp.Between,
    exp.Is,
)
_ALLOWED = (*_COMPARISONS, *_ARITHMETIC, *_LOGICAL, *_FUNCTIONS, *_STRUCTURAL)
MAX_LENGTH = 2000
#: Deepest nesting of parentheses and ``not``s accepted: the parser and compiler recurse
#: about ten frames per level, so a few hundred levels exhausted Python's stack and the
#: RecursionError stopped the whole cycle. No readable rule comes near this.
MAX_DEPTH = 32


@dataclass(frozen=True)
class Expression:
    """A checked expression: its source text, where it came from and the columns it reads."""

    source: str
    where: str
    tree: exp.Expr
    columns: frozenset[str]

    def to_ibis(self, table: ibis.Table) -> Any:
        """This expression as an Ibis value over ``table`` (every column must exist)."""
        missing = sorted(self.columns - set(table.columns))
        if missing:
            raise ConfigurationError(
                f"{self.where}: unknown column {missing[0]!r} in {self.source!r}",
                hint=f"known columns: {', '.join(sorted(table.columns))}",
            )
        try:
            return _compile(self.tree, table)
        except RecursionError:
            raise _too_deep(self.where) from None


def _too_deep(where: str) -> ConfigurationError:
    return ConfigurationError(
        f"{where}: the expression is nested too deeply (at most {MAX_DEPTH} levels of "
        "parentheses or 'not')",
        hint="split it into simpler conditions",
    )


def nesting_depth(text: str) -> int:
    """The deepest nesting of parentheses and ``not``s in ``text``, outside quoted
    strings (pure; a cheap bound checked before the recursive parser runs)."""
    depth = deepest = 0
    quote: str | None = None
    for char in text:
        if quote is not None:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth = max(0, depth - 1)
    words = text.lower().replace("(", " ").replace(")", " ").split()
    return deepest + words.count("not")


def parse_expression(
    text: str, *, where: str = "expression", columns: Collection[str] | None = None
) -> Expression:
    """Parse and check ``text``; ``where`` names its origin in error messages (file, line).

    When ``columns`` is given, every column the expression reads must be one of them.
    Raises :class:`ConfigurationError` for anything outside the whitelist.
    """
    if not isinstance(text, str) or not text.strip():
        raise ConfigurationError(f"{where}: an expression is required, got {text!r}")
    if len(text) > MAX_LENGTH:
        raise ConfigurationError(f"{where}: expression longer than {MAX_LENGTH} characters")
    if nesting_depth(text) > MAX_DEPTH:
        raise _too_deep(where)
    try:
        tree = _parse(text, where)
        _check(tree, text, where)
    except RecursionError:
        raise _too_deep(where) from None
    used = frozenset(col.name for col in tree.find_all(exp.Column))
    if columns is not None:
        unknown = sorted(used - set(columns))
        if unknown:
            raise ConfigurationError(
                f"{where}: unknown column {unknown[0]!r} in {text!r}",
                hint=f"known columns: {', '.join(sorted(columns))}",
            )
    return Expression(source=text, where=where, tree=tree, columns=used)


def _parse(text: str, where: str) -> exp.Expr:
    try:
        statements = sqlglot.parse(text, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        raise ConfigurationError(
            f"{where}: cannot parse {text!r} at column {first.get('col', '?')}: "
            f"{first.get('description', str(exc))}"
        ) from exc
    except sqlglot.errors.TokenError as exc:
        raise ConfigurationError(f"{where}: cannot read {text!r}: {exc}") from exc
    trees = [s for s in statements if s is not None]
    tokens = sqlglot.Dialect.get_or_raise("duckdb").tokenize(text)
    if len(trees) != 1 or any(t.token_type == sqlglot.TokenType.SEMICOLON for t in tokens):
        raise ConfigurationError(
            f"{where}: exactly one expression is allowed, without ';', got {text!r}"
        )
    return trees[0]


def _check(tree: exp.Expr, text: str, where: str) -> None:
    for node in tree.walk():
        if isinstance(node, exp.Column) and node.table:
            raise _refused(where, text, node, "attribute or table access")
        if isinstance(node, exp.Is) and not isinstance(node.expression, exp.Null):
            raise _refused(where, text, node, "'is' other than 'is [not] null'")
        if isinstance(node, exp.In) and (node.args.get("query") or node.args.get("unnest")):
            raise _refused(where, text, node, "a subquery")
        if isinstance(node, _ALLOWED):
            continue
        if isinstance(node, exp.Subquery | exp.Query):
            raise _refused(where, text, node, "a subquery")
        if isinstance(node, exp.Func) and not isinstance(node, tuple(_FUNCTIONS)):
            name = node.sql_name() if not isinstance(node, exp.Anonymous) else node.name
            raise _refused(
                where,
                text,
                node,
                f"the function {name.lower()}()",
                hint=f"allowed functions: {', '.join(sorted(_FUNCTIONS.values()))}",
            )
        raise _refused(where, text, node, f"{type(node).__name__.lower()} syntax")


def _refused(
    where: str, text: str, node: exp.Expr, what: str, *, hint: str | None = None
) -> ConfigurationError:
    snippet = node.sql(dialect="duckdb")
    position = text.lower().find(snippet.lower())
    at = f" at column {position + 1}" if position >= 0 else ""
    return ConfigurationError(
        f"{where}: {what} is not allowed in rule expressions: {snippet!r}{at} of {text!r}",
        hint=hint
        or "use columns, literals, comparisons, and/or/not, in, between, is null, arithmetic",
    )


def _compile(node: exp.Expr, table: ibis.Table) -> Any:
    kind = type(node)
    if kind in _COMPARISONS:
        return _COMPARISONS[kind](_compile(node.this, table), _compile(node.expression, table))
    if kind in _ARITHMETIC:
        return _ARITHMETIC[kind](_compile(node.this, table), _compile(node.expression, table))
    if kind in _LOGICAL:
        return _LOGICAL[kind](_compile(node.this, table), _compile(node.expression, table))
    if kind in _FUNCTIONS:
        return _function(node, table)
    return _compile_structural(node, table)


def _compile_structural(node: exp.Expr, table: ibis.Table) -> Any:
    if isinstance(node, exp.Column):
        return table[node.name]
    if isinstance(node, exp.Literal):
        return ibis.literal(_number(node.this) if not node.is_string else node.this)
    if isinstance(node, exp.Boolean):
        return ibis.literal(bool(node.this))
    if isinstance(node, exp.Null):
        return ibis.null()
    if isinstance(node, exp.Paren):
        return _compile(node.this, table)
    if isinstance(node, exp.Not):
        inner = node.this
        if isinstance(inner, exp.Is):
            return _compile(inner.this, table).notnull()
        return ~_compile(inner, table)
    if isinstance(node, exp.Neg):
        return -_compile(node.this, table)
    if isinstance(node, exp.Is):
        return _compile(node.this, table).isnull()
    if isinstance(node, exp.Between):
        value = _compile(node.this, table)
        return value.between(_compile(node.args["low"], table), _compile(node.args["high"], table))
    if isinstance(node, exp.In):
        value = _compile(node.this, table)
        return value.isin([_compile(item, table) for item in node.expressions])
    raise ConfigurationError(f"cannot compile {node.sql()!r}")  # unreachable after _check


def _function(node: exp.Expr, table: ibis.Table) -> Any:
    args = [_compile(node.this, table)]
    args += [_compile(e, table) for e in node.expressions]
    if isinstance(node, exp.Abs):
        return args[0].abs()
    if isinstance(node, exp.Coalesce):
        return ibis.coalesce(*args)
    if isinstance(node, exp.Least):
        return ibis.least(*args)
    if isinstance(node, exp.Greatest):
        return ibis.greatest(*args)
    decimals = node.args.get("decimals")
    return args[0].round(int(_number(decimals.this)) if decimals is not None else 0)


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)
