"""Parsers of single contract values: text (CSV) or typed (Parquet, JSON) in, Python out.

Each parser raises :class:`ValueError` with a reason a person can act on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from keepwell.contract.schema import Column, Kind

_INT = re.compile(r"[+-]?\d+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


def parse_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"expected text, got {_describe(value)}")


def parse_integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a whole number, got true/false")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT.fullmatch(value.strip()):
        return int(value)
    raise ValueError(f"expected a whole number, got {_describe(value)}")


def parse_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("expected a number, got true/false")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | float | str):
        text = str(value).strip()
        try:
            if "_" in text:  # Decimal() would accept 1_000; a CSV cell should not
                raise InvalidOperation
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"expected a number like 1234.50, got {_describe(value)}") from None
    else:
        raise ValueError(f"expected a number, got {_describe(value)}")
    if not number.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


def parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"expected a date like 2026-03-01, got the timestamp {value.isoformat()}")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected a date like 2026-03-01, got {_describe(value)}")


def parse_timestamp(value: Any) -> datetime:
    """An aware UTC datetime; naive input is UTC (the contract's rule)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"expected an ISO 8601 timestamp like 2026-03-01T09:30:00Z, got {_describe(value)}"
            ) from None
    else:
        raise ValueError(f"expected a timestamp, got {_describe(value)}")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected true or false, got {_describe(value)}")


def parse_email(value: Any) -> str:
    text = parse_string(value).strip()
    if not _EMAIL.fullmatch(text):
        raise ValueError(f"expected an email address, got {_describe(value)}")
    return text


def parse_country(value: Any) -> str:
    text = parse_string(value).strip()
    if len(text) != 2 or not text.isascii() or not text.isalpha():
        raise ValueError(
            f"expected an ISO 3166 alpha-2 country code like DE, got {_describe(value)}"
        )
    return text.upper()


def parse_currency(value: Any) -> str:
    text = parse_string(value).strip()
    if len(text) != 3 or not text.isascii() or not text.isalpha():
        raise ValueError(f"expected an ISO 4217 currency code like USD, got {_describe(value)}")
    return text.upper()


def parse_json_object(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"expected a JSON object, got invalid JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {_describe(value)}")
    return value


def parse_tags(value: Any) -> list[str]:
    if isinstance(value, str):
        return [t.strip() for t in value.split(";") if t.strip()]
    if isinstance(value, list | tuple) and all(isinstance(t, str) for t in value):
        return [t.strip() for t in value if t.strip()]
    raise ValueError(f"expected tags separated by ';', got {_describe(value)}")


def _describe(value: Any) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return repr(shown)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return repr(value)


_PARSERS: dict[Kind, Callable[[Any], Any]] = {
    Kind.STRING: parse_string,
    Kind.INTEGER: parse_integer,
    Kind.DECIMAL: parse_decimal,
    Kind.DATE: parse_date,
    Kind.TIMESTAMP: parse_timestamp,
    Kind.BOOLEAN: parse_boolean,
    Kind.EMAIL: parse_email,
    Kind.COUNTRY: parse_country,
    Kind.CURRENCY: parse_currency,
    Kind.JSON_OBJECT: parse_json_object,
    Kind.TAGS: parse_tags,
}


def _limited(parse: Callable[[Any], Any], most: int) -> Callable[[Any], Any]:
    def parse_limited(value: Any) -> Any:
        parsed = parse(value)
        if isinstance(parsed, str) and len(parsed) > most:
            raise ValueError(f"is {len(parsed):,} characters long; at most {most} fit")
        return parsed

    return parse_limited


def parser_for(column: Column) -> Callable[[Any], Any]:
    """The parser of ``column``, with its enum choices and bounds applied."""
    if column.kind is Kind.ENUM:
        choices = {c.lower(): c for c in column.choices}
        listed = ", ".join(column.choices)

        def parse_enum(value: Any) -> str:
            text = parse_string(value).strip().lower()
            if text not in choices:
                raise ValueError(f"expected one of {listed}, got {_describe(value)}")
            return choices[text]

        return parse_enum
    base = _PARSERS[column.kind]
    if column.max_length is not None:
        base = _limited(base, column.max_length)
    low, high = column.minimum, column.maximum
    if low is None and high is None:
        return base

    def parse_bounded(value: Any) -> Any:
        number = base(value)
        if low is not None and number < low:
            raise ValueError(f"must be at least {low}, got {number}")
        if high is not None and number > high:
            raise ValueError(f"must be at most {high}, got {number}")
        return number

    return parse_bounded
