"""Mappings: YAML files that turn the rows of a source file into contract rows.

A mapping names the contract entity it feeds and, for each contract column, how its
value is made from the source row::

    entity: subscriptions
    dialect: {decimal: ",", date_order: dmy}      # how the file is written (optional)
    where: "Status <> 'trialing'"                 # rows kept (the others are counted)
    lookups:                                      # other files of the same export
      coupons: {file: coupons.csv, key: id}
    let:                                          # helper values, in order
      months: {column: Interval, map: {month: 1, year: 12}}
    columns:
      line_id: id                                 # a source column
      product: {value: Pro}                       # a constant
      mrr: {expr: "Amount * Quantity / months"}   # the rule language, exact decimals
      ends_on:
        first:                                    # the first of these that has a value
          - {column: "Ended At (UTC)"}
          - {column: "Current Period End (UTC)", when: "\\"Cancel At Period End\\" = 'true'"}
    attributes:                                   # kept as custom attributes
      plan: Plan

A spec is a source column name, or a mapping with one of ``column``, ``value``,
``expr``, ``first``, ``lookup`` and optionally ``map`` (with ``default``), ``when``,
``date_format`` and ``plus_months``. Expressions are those of the rule language
(:mod:`keepwell.core.expressions`), evaluated here row by row on exact decimals.

Every mistake (unknown key, unknown target column, bad expression, unknown source
column) is a :class:`ConfigurationError` naming the file and line, raised before any
row is read. Pure: no I/O (lookup files are read by the service).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from collections.abc import Mapping as MappingType
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, DivisionByZero, InvalidOperation
from typing import Any

import yaml
from sqlglot import exp

from keepwell.contract.dialect import (
    DATE_ORDERS,
    DELIMITERS,
    Dialect,
    MissingFlagError,
    number_text,
)
from keepwell.contract.schema import ENTITIES, Kind, get_entity
from keepwell.core.errors import ConfigurationError, InputError
from keepwell.core.expressions import Expression, parse_expression
from keepwell.core.yamlfile import Reader, choice, compose, text

_SPEC_KEYS = ("column", "value", "expr", "first", "join", "lookup")
_SPEC_OPTIONS = ("map", "default", "when", "date_format", "plus_months", "key", "field")
#: Decimal places a computed amount keeps (the stores keep 6): half to even beyond.
PLACES = Decimal("0.000001")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}([T ]|$)")


class RowMappingError(ValueError):
    """A source row whose value cannot be made (a reason naming the target column)."""


@dataclass(frozen=True)
class Spec:
    """How one value is made from a source row; ``where`` is "FILE line N"."""

    where: str
    column: str | None = None
    value: str | None = None
    expr: Expression | None = None
    first: tuple[Spec, ...] = ()
    join: tuple[Spec, ...] = ()
    lookup: str | None = None
    key: Spec | None = None
    field: str | None = None
    map: dict[str, str | None] | None = None
    has_default: bool = False
    default: str | None = None
    when: Expression | None = None
    date_format: str | None = None
    plus_months: Expression | None = None

    def reads(self) -> list[tuple[str, str]]:
        """(source column or helper, where) for every name this spec reads."""
        names: list[tuple[str, str]] = []
        if self.column is not None:
            names.append((self.column, self.where))
        for expression in (self.expr, self.when, self.plus_months):
            if expression is not None:
                names += [(c, self.where) for c in sorted(expression.columns)]
        for part in (*self.first, *self.join, *((self.key,) if self.key else ())):
            names += part.reads()
        return names


@dataclass(frozen=True)
class Lookup:
    """Another file of the same export, read as a table keyed on ``key``."""

    name: str
    file: str
    key: str
    where: str


@dataclass(frozen=True)
class ExportMapping:
    source: str
    entity: str
    dialect: Dialect = field(default_factory=Dialect)
    where: Expression | None = None
    let: dict[str, Spec] = field(default_factory=dict)
    columns: dict[str, Spec] = field(default_factory=dict)
    attributes: dict[str, Spec] = field(default_factory=dict)
    lookups: dict[str, Lookup] = field(default_factory=dict)
    detect: tuple[str, ...] = ()
    description: str = ""

    def check_columns(self, header: list[str]) -> None:
        """:class:`ConfigurationError` (file, line) for a source column the file lacks."""
        known = set(header)
        for helper, spec in self.let.items():
            for name, where in spec.reads():
                if name not in known:
                    raise _unknown_column(where, name, header)
            known.add(helper)
        specs = [*self.columns.values(), *self.attributes.values()]
        reads = [r for s in specs for r in s.reads()]
        if self.where is not None:
            reads += [(c, self.where.where) for c in sorted(self.where.columns)]
        for name, where in reads:
            if name not in known:
                raise _unknown_column(where, name, header)


def _unknown_column(where: str, name: str, header: list[str]) -> ConfigurationError:
    return ConfigurationError(
        f"{where}: the file has no column {name!r}",
        hint=f"its columns: {', '.join(header)}",
    )


def load_mapping(text_: str, source: str) -> ExportMapping:
    """Parse and check a mapping file's text; ``source`` names it in errors."""
    root = compose(text_, source)
    reader = Reader(source)
    keys = reader.mapping(
        root,
        "the mapping",
        required=("entity", "columns"),
        optional=("version", "description", "detect", "dialect", "where", "lookups", "let",
                  "attributes"),
    )  # fmt: skip
    reader.version(keys)
    entity = get_entity_at(reader, keys["entity"])
    dialect = _dialect(reader, keys["dialect"]) if "dialect" in keys else Dialect()
    lookups: dict[str, Lookup] = {}
    if "lookups" in keys:
        for name, _, node in reader.named(keys["lookups"], "lookups"):
            parts = reader.mapping(node, f"lookup {name!r}", ("file", "key"), ())
            lookups[name] = Lookup(
                name, reader.value(parts["file"], "file", text),
                reader.value(parts["key"], "key", text), reader.at(node),
            )  # fmt: skip
    let: dict[str, Spec] = {}
    if "let" in keys:
        for name, _, node in reader.named(keys["let"], "let"):
            let[name] = _spec(reader, node, lookups, Kind.STRING)
    target = get_entity(entity)
    kinds = {c.name: c.kind for c in target.columns}
    columns: dict[str, Spec] = {}
    if not isinstance(keys["columns"], yaml.MappingNode):
        raise reader.fail(keys["columns"], "columns must map contract columns to their values")
    for key_node, node in keys["columns"].value:
        name = str(key_node.value)
        if name not in kinds:
            raise reader.fail(
                key_node,
                f"{entity} has no column {name!r}",
                hint=f"its columns: {', '.join(kinds)}; put other values under attributes:",
            )
        if name in columns:
            raise reader.fail(key_node, f"{name!r} appears twice in columns")
        columns[name] = _spec(reader, node, lookups, kinds[name])
    missing = [c for c in target.required if c not in columns]
    if missing:
        raise reader.fail(
            keys["columns"],
            f"columns must give {', '.join(missing)} (required by {entity})",
        )
    attributes: dict[str, Spec] = {}
    if "attributes" in keys:
        if not isinstance(keys["attributes"], yaml.MappingNode):
            raise reader.fail(keys["attributes"], "attributes must map names to values")
        for key_node, node in keys["attributes"].value:
            name = str(key_node.value)
            if name in kinds:
                raise reader.fail(key_node, f"{name!r} is a contract column: map it in columns")
            attributes[name] = _spec(reader, node, lookups, Kind.STRING)
    return ExportMapping(
        source=source,
        entity=entity,
        dialect=dialect,
        where=_expression(reader, keys["where"]) if "where" in keys else None,
        let=let,
        columns=columns,
        attributes=attributes,
        lookups=lookups,
        detect=reader.texts(keys["detect"], "detect") if "detect" in keys else (),
        description=reader.opt(keys, "description", text, ""),
    )


def get_entity_at(reader: Reader, node: yaml.Node) -> str:
    name = reader.value(node, "entity", text)
    try:
        return get_entity(name).name
    except InputError:
        raise reader.fail(
            node, f"unknown entity {name!r}", hint=f"one of: {', '.join(ENTITIES)}"
        ) from None


def _dialect(reader: Reader, node: yaml.Node) -> Dialect:
    parts = reader.mapping(
        node, "dialect", (), ("delimiter", "encoding", "decimal", "date_order", "date_format",
                              "sheet"),
    )  # fmt: skip
    try:
        return Dialect(
            delimiter=reader.opt(parts, "delimiter", choice(DELIMITERS), None),
            encoding=reader.opt(parts, "encoding", text, "utf-8"),
            decimal=reader.opt(parts, "decimal", choice((".", ",")), None),
            date_order=reader.opt(parts, "date_order", choice(DATE_ORDERS), None),
            date_format=reader.opt(parts, "date_format", text, None),
            sheet=reader.opt(parts, "sheet", text, None),
        )
    except ValueError as exc:
        raise reader.fail(node, f"dialect: {exc}") from exc


def _expression(reader: Reader, node: yaml.Node) -> Expression:
    source = reader.value(node, "an expression", text)
    return parse_expression(source, where=reader.at(node))


def _scalar(raw: Any) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, dict | list):
        raise ValueError(f"expected a single value, got {raw!r}")
    return str(raw)


def _spec(reader: Reader, node: yaml.Node, lookups: MappingType[str, Lookup], kind: Kind) -> Spec:
    where = reader.at(node)
    if isinstance(node, yaml.ScalarNode):
        return Spec(where, column=reader.value(node, "a source column", text))
    parts = reader.mapping(node, "a value", (), (*_SPEC_KEYS, *_SPEC_OPTIONS))
    given = [k for k in _SPEC_KEYS if k in parts]
    if len(given) != 1:
        raise reader.fail(
            node, f"a value needs exactly one of {', '.join(_SPEC_KEYS)}, got {given or 'none'}"
        )
    how = given[0]
    fields: dict[str, Any] = {}
    if how == "column":
        fields["column"] = reader.value(parts["column"], "column", text)
    elif how == "value":
        fields["value"] = reader.value(parts["value"], "value", _scalar)
    elif how == "expr":
        fields["expr"] = _expression(reader, parts["expr"])
    elif how == "first":
        items = reader.sequence(parts["first"], "first")
        if not items:
            raise reader.fail(parts["first"], "first needs at least one value")
        fields["first"] = tuple(_spec(reader, n, lookups, kind) for n in items)
    elif how == "join":
        items = reader.sequence(parts["join"], "join")
        if not items:
            raise reader.fail(parts["join"], "join needs at least one value")
        fields["join"] = tuple(_spec(reader, n, lookups, Kind.STRING) for n in items)
    else:
        name = reader.value(parts["lookup"], "lookup", text)
        if name not in lookups:
            raise reader.fail(
                parts["lookup"], f"no lookup named {name!r}", hint="declare it under lookups:"
            )
        if "key" not in parts or "field" not in parts:
            raise reader.fail(
                node, "a lookup needs key: (the value to look up) and field: (what to read)"
            )
        fields["lookup"] = name
    if "key" in parts:
        if how != "lookup":
            raise reader.fail(parts["key"], "key: belongs to a lookup")
        fields["key"] = _spec(reader, parts["key"], lookups, Kind.STRING)
    if "field" in parts:
        if how != "lookup":
            raise reader.fail(parts["field"], "field: belongs to a lookup")
        fields["field"] = reader.value(parts["field"], "field", text)
    if "map" in parts:
        if not isinstance(parts["map"], yaml.MappingNode):
            raise reader.fail(parts["map"], "map must map source values to values")
        table: dict[str, str | None] = {}
        for key_node, value_node in parts["map"].value:
            table[str(reader.value(key_node, "a map key", _scalar))] = reader.value(
                value_node, "a map value", _scalar
            )
        fields["map"] = table
    if "default" in parts:
        fields["has_default"] = True
        fields["default"] = reader.value(parts["default"], "default", _scalar)
    if "when" in parts:
        fields["when"] = _expression(reader, parts["when"])
    if "date_format" in parts:
        fields["date_format"] = reader.value(parts["date_format"], "date_format", text)
        if "%" not in fields["date_format"]:
            raise reader.fail(parts["date_format"], "date_format needs % fields, e.g. %d/%m/%Y")
    if "plus_months" in parts:
        fields["plus_months"] = _expression(reader, parts["plus_months"])
    return Spec(where, **fields)


Value = str | Decimal | bool | None
LookupTables = dict[str, dict[str, dict[str, str]]]


Fn = Callable[[dict[str, Any]], Value]


class Mapper:
    """Applies a checked mapping to source rows (values by source column).

    The mapping is compiled once into Python closures (one per value, expressions
    included), so a row costs a few dictionary look-ups and the arithmetic it needs.
    """

    def __init__(self, mapping: ExportMapping, lookups: LookupTables | None = None) -> None:
        self.mapping = mapping
        self.lookups = lookups or {}
        self._decimal = mapping.dialect.decimal
        entity = get_entity(mapping.entity)
        self._kinds = {c.name: c.kind for c in entity.columns}
        self._let = [(n, self._compile(s, n)) for n, s in mapping.let.items()]
        self._where = (
            _compile_expression(mapping.where.tree, self._decimal) if mapping.where else None
        )
        self._columns = [
            (n, self._compile(s, n), self._kinds[n]) for n, s in mapping.columns.items()
        ]
        self._attributes = [(n, self._compile(s, n)) for n, s in mapping.attributes.items()]

    def apply(self, row: MappingType[str, Any]) -> dict[str, Any] | None:
        """The contract row made from ``row``, or None when ``where`` drops it.
        :class:`RowMappingError` names what could not be made."""
        env: dict[str, Any] = dict(row)  # source cells are read through _cell
        for name, make in self._let:
            env[name] = make(env)
        if self._where is not None and self._where(env) is not True:
            return None
        result: dict[str, Any] = {name: _out(make(env), kind) for name, make, kind in self._columns}
        for name, make in self._attributes:
            value = _out(make(env), Kind.STRING)
            if value:
                result[name] = value
        return result

    def _compile(self, spec: Spec, target: str) -> Fn:
        made = self._made(spec, target)
        where = spec.where

        def value(env: dict[str, Value]) -> Value:
            try:
                return made(env)
            except (RowMappingError, MissingFlagError):
                raise
            except (ArithmeticError, ValueError) as exc:
                raise RowMappingError(f"{target}: {exc} ({where})") from None

        return value

    def _made(self, spec: Spec, target: str) -> Fn:
        base = self._base(spec, target)
        if spec.map is not None:
            base = self._mapped(spec, base, target)
        if spec.date_format is not None:
            base = _dated(base, spec, self._kinds.get(target) is Kind.TIMESTAMP, target)
        if spec.plus_months is not None:
            months = _compile_expression(spec.plus_months.tree, self._decimal)
            inner = base

            def base(env: dict[str, Value]) -> Value:
                value = inner(env)
                return None if value is None else _plus_months(_plain(value), months(env))

        if spec.when is not None:
            when = _compile_expression(spec.when.tree, self._decimal)
            guarded = base

            def base(env: dict[str, Value]) -> Value:
                return guarded(env) if when(env) is True else None

        return base

    def _base(self, spec: Spec, target: str) -> Fn:
        if spec.lookup is not None:
            return self._lookup(spec, target)
        if spec.column is not None:
            return _reader(spec.column)
        if spec.expr is not None:
            return _compile_expression(spec.expr.tree, self._decimal)
        if spec.first:
            parts = [self._compile(p, target) for p in spec.first]

            def first(env: dict[str, Value]) -> Value:
                for part in parts:
                    value = part(env)
                    if value is not None and value != "":
                        return value
                return None

            return first
        if spec.join:
            pieces = [self._compile(p, target) for p in spec.join]

            def join(env: dict[str, Value]) -> Value:
                text_ = " ".join(t for t in (_plain(p(env)) for p in pieces) if t)
                return text_ or None

            return join
        constant = spec.value
        return lambda env: constant

    def _lookup(self, spec: Spec, target: str) -> Fn:
        assert spec.key is not None
        assert spec.lookup is not None
        key_of = self._compile(spec.key, target)
        table = self.lookups.get(spec.lookup, {})
        file = self.mapping.lookups[spec.lookup].file
        field_name = spec.field or ""
        fallback = {field_name: spec.default or ""} if spec.has_default else None
        where = spec.where

        def lookup(env: dict[str, Value]) -> Value:
            key = key_of(env)
            if key is None:
                return None
            found = table.get(_plain(key)) or fallback
            if found is None:
                raise RowMappingError(f"{target}: {_plain(key)!r} is not in {file} ({where})")
            cell = found.get(field_name, "")
            return cell if cell.strip() else None

        return lookup

    def _mapped(self, spec: Spec, base: Fn, target: str) -> Fn:
        table = dict(spec.map or {})
        folded = {k.casefold(): v for k, v in table.items()}
        has_default, default, where = spec.has_default, spec.default, spec.where
        shown = ", ".join(table)

        def mapped(env: dict[str, Value]) -> Value:
            value = base(env)
            if value is None:
                return None
            key = _plain(value)
            if key in table:
                return table[key]
            if key.casefold() in folded:
                return folded[key.casefold()]
            if has_default:
                return default
            raise RowMappingError(
                f"{target}: {key!r} is not one of the mapped values ({shown}) ({where})"
            )

        return mapped


def _reader(name: str) -> Fn:
    """A source column's (or helper's) value: text, None when empty."""

    def read(env: dict[str, Any]) -> Value:
        value = env.get(name)
        if type(value) is str:
            return value if value and not value.isspace() else None
        return _cell(value)

    return read


def _cell(value: Any) -> Value:
    """A source cell as the mapping sees it: text, or None when empty."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


_FAST_FIELDS = {
    "%Y": r"(?P<Y>\d{4})",
    "%m": r"(?P<m>\d{1,2})",
    "%d": r"(?P<d>\d{1,2})",
    "%H": r"(?P<H>\d{1,2})",
    "%M": r"(?P<M>\d{1,2})",
    "%S": r"(?P<S>\d{1,2})",
}


def _date_reader(fmt: str) -> Callable[[str], datetime]:
    """A parser of ``fmt``: strptime's result, by a compiled pattern when the format
    uses only %Y %m %d %H %M %S (strptime is slow on millions of rows)."""
    pieces = re.split(r"(%.)", fmt)
    if any(p.startswith("%") and p not in _FAST_FIELDS for p in pieces):
        return lambda text_: datetime.strptime(text_, fmt)
    pattern = re.compile(
        "".join(_FAST_FIELDS[p] if p.startswith("%") else re.escape(p) for p in pieces if p)
    )

    def read(text_: str) -> datetime:
        match = pattern.fullmatch(text_)
        if match is None:
            raise ValueError(f"{text_!r} does not match {fmt}")
        part = match.groupdict()
        return datetime(
            int(part["Y"]) if "Y" in part else 1900, int(part.get("m") or 1),
            int(part.get("d") or 1), int(part.get("H") or 0), int(part.get("M") or 0),
            int(part.get("S") or 0),
        )  # fmt: skip

    return read


def _dated(base: Fn, spec: Spec, timestamp: bool, target: str) -> Fn:
    assert spec.date_format is not None
    read, fmt, where = _date_reader(spec.date_format), spec.date_format, spec.where

    def dated(env: dict[str, Value]) -> Value:
        value = base(env)
        if not isinstance(value, str):
            return value
        text_ = value.strip()
        try:
            moment = read(text_)
        except ValueError:
            if _ISO_DAY.match(text_):  # ISO is never ambiguous: take it as well
                return text_ if timestamp else text_[:10]
            raise RowMappingError(
                f"{target}: {value!r} does not match the date format {fmt} ({where})"
            ) from None
        return moment.isoformat() if timestamp else moment.date().isoformat()

    return dated


def _plain(value: Value) -> str:
    if type(value) is str:
        return value.strip()
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return (value or "").strip()


def _decimal_text(value: Decimal) -> str:
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6:
        value = value.quantize(PLACES, rounding=ROUND_HALF_EVEN)
    return format(value, "f")


def _out(value: Value, kind: Kind) -> Any:
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, Decimal):
        if kind is Kind.INTEGER and value == value.to_integral_value():
            return str(int(value))
        return _decimal_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _plus_months(start: str, months: Value) -> str:
    try:
        day = date.fromisoformat(start[:10])
    except ValueError:
        raise ValueError(f"plus_months needs an ISO date, got {start!r}") from None
    if months is None:
        raise ValueError("plus_months: the number of months is empty")
    count = months if isinstance(months, Decimal) else Decimal(_plain(months))
    if count != count.to_integral_value():
        raise ValueError(f"plus_months needs whole months, got {months}")
    total = day.year * 12 + day.month - 1 + int(count)
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last)).isoformat()


def _number_of(decimal: str | None) -> Callable[[Value], Decimal | None]:
    """The rule language's number conversion for a file whose decimal mark is ``decimal``."""

    def number(value: Value) -> Decimal | None:
        if value is None:
            return None
        if type(value) is Decimal:
            return value
        if isinstance(value, bool):
            raise ValueError("a true/false value used as a number")
        text_ = str(value)
        if decimal is not None or "," in text_:
            text_ = number_text(text_, decimal)
        try:
            if "_" in text_:  # Decimal() would accept 1_000; a cell should not
                raise InvalidOperation
            result = Decimal(text_)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
        if not result.is_finite():
            raise ValueError(f"{value!r} is not a finite number")
        return result

    return number


_ARITHMETIC: dict[type[exp.Expr], Callable[[Decimal, Decimal], Decimal]] = {
    exp.Add: lambda a, b: a + b,
    exp.Sub: lambda a, b: a - b,
    exp.Mul: lambda a, b: a * b,
    exp.Div: lambda a, b: a / b,
    exp.Mod: lambda a, b: a % b,
}
_COMPARISONS: dict[type[exp.Expr], Callable[[Any, Any], bool]] = {
    exp.EQ: lambda a, b: bool(a == b),
    exp.NEQ: lambda a, b: bool(a != b),
    exp.GT: lambda a, b: bool(a > b),
    exp.GTE: lambda a, b: bool(a >= b),
    exp.LT: lambda a, b: bool(a < b),
    exp.LTE: lambda a, b: bool(a <= b),
}


def _compile_expression(node: exp.Expr, decimal: str | None) -> Fn:
    """The rule language on one row as a closure, with SQL's nulls (``None``) and exact
    decimals (numbers are :class:`Decimal`; text is compared as text)."""
    number = _number_of(decimal)

    def go(node: exp.Expr) -> Fn:
        kind = type(node)
        if kind in _ARITHMETIC:
            return _arith(go(node.this), go(node.expression), _ARITHMETIC[kind], number, node)
        if kind in _COMPARISONS:
            a, b, op = go(node.this), go(node.expression), _COMPARISONS[kind]
            return lambda env: _compared(a(env), b(env), op, number)
        if isinstance(node, exp.And | exp.Or):
            return _logic(go(node.this), go(node.expression), isinstance(node, exp.And))
        if isinstance(node, exp.Column):
            return _reader(node.name)
        if isinstance(node, exp.Literal):
            constant: Value = node.this if node.is_string else Decimal(node.this)
            return lambda env: constant
        if isinstance(node, exp.Boolean):
            flag = bool(node.this)
            return lambda env: flag
        if isinstance(node, exp.Null):
            return lambda env: None
        if isinstance(node, exp.Paren):
            return go(node.this)
        if isinstance(node, exp.Not):
            if isinstance(node.this, exp.Is):
                inner = go(node.this.this)
                return lambda env: inner(env) is not None
            negated = go(node.this)
            return lambda env: None if (v := negated(env)) is None else not v
        if isinstance(node, exp.Neg):
            operand = go(node.this)
            return lambda env: None if (n := number(operand(env))) is None else -n
        if isinstance(node, exp.Is):
            tested = go(node.this)
            return lambda env: tested(env) is None
        if isinstance(node, exp.In):
            return _in(go(node.this), [go(e) for e in node.expressions], number)
        if isinstance(node, exp.Between):
            return _between(go(node.this), go(node.args["low"]), go(node.args["high"]), number)
        if isinstance(node, exp.Abs | exp.Coalesce | exp.Least | exp.Greatest | exp.Round):
            return _function(node, [go(node.this), *(go(e) for e in node.expressions)], number)
        raise ConfigurationError(f"cannot evaluate {node.sql()!r}")  # unreachable: checked

    return go(node)


def _arith(
    a: Fn,
    b: Fn,
    op: Callable[[Decimal, Decimal], Decimal],
    number: Callable[[Value], Decimal | None],
    node: exp.Expr,
) -> Fn:
    def run(env: dict[str, Value]) -> Value:
        x, y = number(a(env)), number(b(env))
        if x is None or y is None:
            return None
        try:
            return op(x, y)
        except (DivisionByZero, InvalidOperation):
            raise ValueError(f"division by zero in {node.sql()!r}") from None

    return run


def _compared(
    a: Value, b: Value, op: Callable[[Any, Any], bool], number: Callable[[Value], Decimal | None]
) -> Value:
    if a is None or b is None:
        return None
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return op(number(a), number(b))
    return op(_plain(a), _plain(b))


def _logic(a: Fn, b: Fn, is_and: bool) -> Fn:
    def run(env: dict[str, Value]) -> Value:
        x, y = a(env), b(env)
        if is_and:
            if x is False or y is False:
                return False
            return None if x is None or y is None else True
        if x is True or y is True:
            return True
        return None if x is None or y is None else False

    return run


def _in(value: Fn, items: list[Fn], number: Callable[[Value], Decimal | None]) -> Fn:
    def run(env: dict[str, Value]) -> Value:
        tested = value(env)
        if tested is None:
            return None
        return any(_compared(tested, item(env), _COMPARISONS[exp.EQ], number) for item in items)

    return run


def _between(value: Fn, low: Fn, high: Fn, number: Callable[[Value], Decimal | None]) -> Fn:
    def run(env: dict[str, Value]) -> Value:
        tested = value(env)
        first = _compared(tested, low(env), _COMPARISONS[exp.GTE], number)
        second = _compared(tested, high(env), _COMPARISONS[exp.LTE], number)
        if first is False or second is False:
            return False
        return None if first is None or second is None else True

    return run


def _function(node: exp.Expr, args: list[Fn], number: Callable[[Value], Decimal | None]) -> Fn:
    if isinstance(node, exp.Coalesce):
        return lambda env: next((v for v in (a(env) for a in args) if v is not None), None)
    if isinstance(node, exp.Abs):
        return lambda env: None if (n := number(args[0](env))) is None else abs(n)
    if isinstance(node, exp.Round):
        decimals = node.args.get("decimals")
        step = Decimal(1).scaleb(-int(decimals.this) if decimals is not None else 0)
        return lambda env: (
            None if (n := number(args[0](env))) is None else n.quantize(step, ROUND_HALF_EVEN)
        )
    pick = min if isinstance(node, exp.Least) else max

    def extreme(env: dict[str, Value]) -> Value:
        present = [n for n in (number(a(env)) for a in args) if n is not None]
        return pick(present) if present else None

    return extreme


def _folded(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


#: Source column names that commonly mean a contract column (folded: lower case, no
#: punctuation), beyond the contract's own name.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "account_id": ("customerid", "customer", "companyid", "accountnumber"),
    "name": ("companyname", "accountname", "customername"),
    "line_id": ("subscriptionid", "id"),
    "mrr": ("monthlyrecurringrevenue",),
    "starts_on": ("startdate", "start", "startedat"),
    "ends_on": ("enddate", "endedat", "canceledat", "cancelledat"),
    "email": ("emailaddress",),
    "contact_id": ("id", "recordid"),
    "invoice_id": ("id", "number", "invoicenumber"),
    "issued_on": ("date", "invoicedate", "created"),
    "due_on": ("duedate",),
    "amount": ("total", "amountdue"),
}


@dataclass(frozen=True)
class Suggestion:
    """A proposed mapping: the preset recognised (if any) and the YAML text."""

    preset: str | None
    entity: str
    text: str
    unmatched: tuple[str, ...] = ()


def suggest(
    header: list[str], presets: MappingType[str, ExportMapping], entity: str | None = None
) -> Suggestion:
    """A mapping for a file with ``header``: a preset whose ``detect`` columns are all
    there (the one recognising the most), else one matching columns by name."""
    present = set(header)
    best: tuple[int, str] | None = None
    for name, preset in presets.items():
        if entity and preset.entity != entity:
            continue
        if preset.detect and set(preset.detect) <= present:
            score = len(preset.detect)
            if best is None or score > best[0]:
                best = (score, name)
    if best is not None:
        chosen = presets[best[1]]
        return Suggestion(best[1], chosen.entity, "")  # the caller gives the preset's text
    folded = {_folded(h): h for h in header}
    candidates = [entity] if entity else list(ENTITIES)
    scored = []
    for candidate in candidates:
        target = get_entity(candidate)
        matches: dict[str, str] = {}
        for column in target.columns:
            for alias in (_folded(column.name), *SYNONYMS.get(column.name, ())):
                if alias in folded and folded[alias] not in matches.values():
                    matches[column.name] = folded[alias]
                    break
        required = sum(1 for c in target.required if c in matches)
        scored.append((required, len(matches), candidate, matches))
    scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
    _, _, chosen_entity, matches = scored[0]
    target = get_entity(chosen_entity)
    lines = [f"entity: {chosen_entity}", "columns:"]
    unmatched = []
    for column in target.columns:
        if column.name in matches:
            lines.append(f"  {column.name}: {_yaml_text(matches[column.name])}")
        elif column.name in target.required:
            unmatched.append(column.name)
            lines.append(f"  # {column.name}: ???   (required: name its source column)")
    used = set(matches.values())
    rest = [h for h in header if h not in used]
    if rest:
        lines.append("attributes:")
        lines += [f"  {_attribute_name(h)}: {_yaml_text(h)}" for h in rest]
    return Suggestion(None, chosen_entity, "\n".join(lines) + "\n", tuple(unmatched))


def _yaml_text(value: str) -> str:
    return yaml.safe_dump(value, default_style='"').strip()


def _attribute_name(header: str) -> str:
    name = "".join(ch if ch.isalnum() else "_" for ch in header.casefold()).strip("_")
    return name or "column"
