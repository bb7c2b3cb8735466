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
from collections.abc import Callable, Mapping as MappingType
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, DivisionByZero, InvalidOperation
from typing import Any

import yaml
from sqlglot import exp

from keepwell.contract.dialect import DATE_ORDERS, DELIMITERS, Dialect, NeedsFlag, number_text
from keepwell.contract.schema import ENTITIES, Kind, get_entity
from keepwell.core.errors import ConfigurationError, InputError
from keepwell.core.expressions import Expression, parse_expression
from keepwell.core.yamlfile import Reader, choice, compose, text

_SPEC_KEYS = ("column", "value", "expr", "first", "join", "lookup")
_SPEC_OPTIONS = ("map", "default", "when", "date_format", "plus_months", "key", "field")
#: Decimal places a computed amount keeps (the stores keep 6): half to even beyond.
PLACES = Decimal("0.000001")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}([T ]|$)")


class RowProblem(ValueError):
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
class Mapping:
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


def load_mapping(text_: str, source: str) -> Mapping:
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
    return Mapping(
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
        raise reader.fail(node, f"unknown entity {name!r}", hint=f"one of: {', '.join(ENTITIES)}")


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


class Mapper:
    """Applies a checked mapping to source rows (text values by source column)."""

    def __init__(self, mapping: Mapping, lookups: LookupTables | None = None) -> None:
        self.mapping = mapping
        self.lookups = lookups or {}
        self._decimal = mapping.dialect.decimal
        entity = get_entity(mapping.entity)
        self._kinds = {c.name: c.kind for c in entity.columns}

    def apply(self, row: MappingType[str, str]) -> dict[str, Any] | None:
        """The contract row made from ``row``, or None when ``where`` drops it.
        :class:`RowProblem` names what could not be made."""
        env: dict[str, Value] = {k: (v if v.strip() else None) for k, v in row.items()}
        for name, spec in self.mapping.let.items():
            env[name] = self._value(spec, env, name)
        if self.mapping.where is not None and self._eval(self.mapping.where, env) is not True:
            return None
        result: dict[str, Any] = {}
        for name, spec in self.mapping.columns.items():
            result[name] = _out(self._value(spec, env, name), self._kinds[name])
        for name, spec in self.mapping.attributes.items():
            value = _out(self._value(spec, env, name), Kind.STRING)
            if value:
                result[name] = value
        return result

    def _value(self, spec: Spec, env: dict[str, Value], target: str) -> Value:
        try:
            return self._made(spec, env, target)
        except (RowProblem, NeedsFlag):
            raise
        except (ArithmeticError, ValueError) as exc:
            raise RowProblem(f"{target}: {exc} ({spec.where})") from None

    def _made(self, spec: Spec, env: dict[str, Value], target: str) -> Value:
        if spec.when is not None and self._eval(spec.when, env) is not True:
            return None
        value: Value
        if spec.lookup is not None:
            assert spec.key is not None
            key = self._value(spec.key, env, target)
            if key is None:
                value = None
            else:
                table = self.lookups.get(spec.lookup, {})
                found = table.get(_plain(key))
                if found is None and spec.has_default:
                    found = {spec.field or "": spec.default or ""}
                if found is None:
                    lookup = self.mapping.lookups[spec.lookup]
                    raise RowProblem(
                        f"{target}: {_plain(key)!r} is not in {lookup.file} ({spec.where})"
                    )
                cell = found.get(spec.field or "", "")
                value = cell if cell.strip() else None
        elif spec.column is not None:
            value = env.get(spec.column)
        elif spec.expr is not None:
            value = self._eval(spec.expr, env)
        elif spec.first:
            value = None
            for part in spec.first:
                value = self._value(part, env, target)
                if value is not None and value != "":
                    break
        elif spec.join:
            pieces = [_plain(self._value(part, env, target)) for part in spec.join]
            value = " ".join(p for p in pieces if p) or None
        else:
            value = spec.value
        if spec.map is not None and value is not None:
            value = self._mapped(spec, _plain(value), target)
        if spec.date_format is not None and isinstance(value, str):
            try:
                moment = datetime.strptime(value.strip(), spec.date_format)
                timestamp = self._kinds.get(target) is Kind.TIMESTAMP
                value = moment.isoformat() if timestamp else moment.date().isoformat()
            except ValueError:
                if _ISO_DAY.match(value.strip()):  # ISO is never ambiguous: take it as well
                    timestamp = self._kinds.get(target) is Kind.TIMESTAMP
                    return value.strip() if timestamp else value.strip()[:10]
                raise RowProblem(
                    f"{target}: {value!r} does not match the date format {spec.date_format} "
                    f"({spec.where})"
                ) from None
        if spec.plus_months is not None and value is not None:
            value = _plus_months(_plain(value), self._eval(spec.plus_months, env))
        return value

    def _mapped(self, spec: Spec, key: str, target: str) -> Value:
        assert spec.map is not None
        if key in spec.map:
            return spec.map[key]
        folded = {k.casefold(): v for k, v in spec.map.items()}
        if key.casefold() in folded:
            return folded[key.casefold()]
        if spec.has_default:
            return spec.default
        raise RowProblem(
            f"{target}: {key!r} is not one of the mapped values "
            f"({', '.join(spec.map)}) ({spec.where})"
        )

    def _eval(self, expression: Expression, env: dict[str, Value]) -> Value:
        return _Evaluator(env, self._decimal).run(expression.tree)


def _plain(value: Value) -> str:
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return (value or "").strip()


def _decimal_text(value: Decimal) -> str:
    if value.as_tuple().exponent < -6:  # type: ignore[operator]
        value = value.quantize(PLACES, rounding=ROUND_HALF_EVEN)
    text_ = format(value, "f")
    return text_


def _out(value: Value, kind: Kind) -> Any:
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
    count = Decimal(str(months)) if not isinstance(months, Decimal) else months
    if count != count.to_integral_value():
        raise ValueError(f"plus_months needs whole months, got {months}")
    total = day.year * 12 + day.month - 1 + int(count)
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last)).isoformat()


class _Evaluator:
    """The rule language on one row, with SQL's nulls and exact decimals."""

    def __init__(self, env: dict[str, Value], decimal: str | None) -> None:
        self.env = env
        self.decimal = decimal

    def number(self, value: Value) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value
        if isinstance(value, bool):
            raise ValueError("a true/false value used as a number")
        try:
            return Decimal(number_text(value, self.decimal))
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None

    def run(self, node: exp.Expr) -> Value:
        handler = _HANDLERS.get(type(node))
        if handler is not None:
            return handler(self, node)
        if isinstance(node, exp.Column):
            return self.env.get(node.name)
        if isinstance(node, exp.Literal):
            return node.this if node.is_string else Decimal(node.this)
        if isinstance(node, exp.Boolean):
            return bool(node.this)
        if isinstance(node, exp.Null):
            return None
        if isinstance(node, exp.Paren):
            return self.run(node.this)
        raise ValueError(f"cannot evaluate {node.sql()!r}")


def _arith(op: Callable[[Decimal, Decimal], Decimal]) -> Callable[[_Evaluator, Any], Value]:
    def run(ev: _Evaluator, node: Any) -> Value:
        a, b = ev.number(ev.run(node.this)), ev.number(ev.run(node.expression))
        if a is None or b is None:
            return None
        try:
            return op(a, b)
        except (DivisionByZero, InvalidOperation):
            raise ValueError(f"division by zero in {node.sql()!r}") from None

    return run


def _compare(op: Callable[[Any, Any], bool]) -> Callable[[_Evaluator, Any], Value]:
    def run(ev: _Evaluator, node: Any) -> Value:
        return _compared(ev, ev.run(node.this), ev.run(node.expression), op)

    return run


def _compared(ev: _Evaluator, a: Value, b: Value, op: Callable[[Any, Any], bool]) -> Value:
    if a is None or b is None:
        return None
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return op(ev.number(a), ev.number(b))
    return op(_plain(a), _plain(b))


def _logic(node: Any, ev: _Evaluator, is_and: bool) -> Value:
    a, b = ev.run(node.this), ev.run(node.expression)
    if is_and:
        if a is False or b is False:
            return False
        return None if a is None or b is None else True
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


def _not(ev: _Evaluator, node: Any) -> Value:
    inner = node.this
    if isinstance(inner, exp.Is):
        return ev.run(inner.this) is not None
    value = ev.run(inner)
    return None if value is None else not value


def _in(ev: _Evaluator, node: Any) -> Value:
    value = ev.run(node.this)
    items = [ev.run(e) for e in node.expressions]
    if value is None:
        return None
    return any(_compared(ev, value, item, lambda a, b: bool(a == b)) for item in items)


def _between(ev: _Evaluator, node: Any) -> Value:
    value = ev.run(node.this)
    low, high = ev.run(node.args["low"]), ev.run(node.args["high"])
    first = _compared(ev, value, low, lambda a, b: bool(a >= b))
    second = _compared(ev, value, high, lambda a, b: bool(a <= b))
    return _logic_values(first, second)


def _logic_values(a: Value, b: Value) -> Value:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _function(ev: _Evaluator, node: Any) -> Value:
    args = [ev.run(node.this), *(ev.run(e) for e in node.expressions)]
    if isinstance(node, exp.Coalesce):
        return next((a for a in args if a is not None), None)
    numbers = [ev.number(a) for a in args]
    if isinstance(node, exp.Abs):
        return None if numbers[0] is None else abs(numbers[0])
    if isinstance(node, exp.Round):
        decimals = node.args.get("decimals")
        places = int(decimals.this) if decimals is not None else 0
        if numbers[0] is None:
            return None
        return numbers[0].quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    present = [n for n in numbers if n is not None]
    if not present:
        return None
    return min(present) if isinstance(node, exp.Least) else max(present)


_HANDLERS: dict[type[exp.Expr], Callable[[_Evaluator, Any], Value]] = {
    exp.Add: _arith(lambda a, b: a + b),
    exp.Sub: _arith(lambda a, b: a - b),
    exp.Mul: _arith(lambda a, b: a * b),
    exp.Div: _arith(lambda a, b: a / b),
    exp.Mod: _arith(lambda a, b: a % b),
    exp.EQ: _compare(lambda a, b: bool(a == b)),
    exp.NEQ: _compare(lambda a, b: bool(a != b)),
    exp.GT: _compare(lambda a, b: bool(a > b)),
    exp.GTE: _compare(lambda a, b: bool(a >= b)),
    exp.LT: _compare(lambda a, b: bool(a < b)),
    exp.LTE: _compare(lambda a, b: bool(a <= b)),
    exp.And: lambda ev, node: _logic(node, ev, True),
    exp.Or: lambda ev, node: _logic(node, ev, False),
    exp.Not: _not,
    exp.Neg: lambda ev, node: None if (n := ev.number(ev.run(node.this))) is None else -n,
    exp.Is: lambda ev, node: ev.run(node.this) is None,
    exp.In: _in,
    exp.Between: _between,
    exp.Abs: _function,
    exp.Coalesce: _function,
    exp.Least: _function,
    exp.Greatest: _function,
    exp.Round: _function,
}


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
    header: list[str], presets: MappingType[str, Mapping], entity: str | None = None
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
        matches = {}
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
