"""Row validation: every rule of the contract checked on one raw row, no I/O.

A raw row is a mapping of column name to a value as the source gave it (text for CSV,
typed for Parquet and JSON). Validation returns the clean record, or the list of
problems, each naming its column and a reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from keepwell.contract.schema import REJECT_REASON_COLUMN, Entity
from keepwell.contract.values import parser_for


@dataclass(frozen=True)
class Problem:
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.column}: {self.reason}" if self.column else self.reason


Record = dict[str, Any]


#: Why a value holding a NUL character is rejected (PostgreSQL text cannot hold one).
NUL_REASON = "contains a NUL character (\\x00), which cannot be stored: remove it"


def has_nul(value: Any) -> bool:
    """True when ``value`` (text, or a JSON value from Parquet or JSON Lines) holds a NUL."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


def _undecodable(text: str) -> bool:
    """True when ``text`` carries bytes the reader could not decode (lone surrogates)."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class RowValidator:
    """Validates raw rows of one entity.

    ``known_account`` answers whether an ``account_id`` exists (rows of other entities
    must belong to a known account). Keys already seen in this file are rejected as
    duplicates, naming the line of the first occurrence.
    """

    def __init__(self, entity: Entity, known_account: Callable[[str], bool] | None = None):
        self.entity = entity
        self.known_account = known_account
        self._parsers = {c.name: parser_for(c) for c in entity.columns}
        self._required = set(entity.required)
        self._defaults = {c.name: c.default for c in entity.columns}
        self._seen: dict[tuple[Any, ...], int] = {}

    def validate(self, raw: Mapping[str, Any], line: int) -> tuple[Record | None, list[Problem]]:
        record: Record = {}
        attributes: dict[str, Any] = {}
        problems: list[Problem] = []
        for name, value in raw.items():
            if name == REJECT_REASON_COLUMN:
                continue
            if isinstance(value, str):
                if not value or value.isspace():
                    value = None
                elif _undecodable(value):
                    problems.append(Problem(name, "contains bytes that are not valid UTF-8"))
                    continue
            if value is not None and has_nul(value):
                problems.append(Problem(name, NUL_REASON))
                continue
            parse = self._parsers.get(name)
            if parse is None:
                if value is not None:
                    attributes[name] = value
                continue
            if value is None:
                if name in self._required:
                    problems.append(Problem(name, "is required but empty"))
                else:
                    record[name] = self._defaults[name]
                continue
            try:
                record[name] = parse(value)
            except ValueError as exc:
                problems.append(Problem(name, str(exc)))
        for name in self._required - raw.keys():
            problems.append(Problem(name, "is required but missing"))
        if not problems:
            problems.extend(self._cross_checks(record, line))
        if problems:
            return None, problems
        record["attributes"] = attributes
        return record, []

    def _cross_checks(self, record: Record, line: int) -> list[Problem]:
        problems = list(self._order_problems(record))
        if (
            self.entity.name == "surveys"
            and record["kind"] == "csat"
            and not 1 <= record["score"] <= 5
        ):
            problems.append(Problem("score", f"a csat score must be 1 to 5, got {record['score']}"))
        account = record.get("account_id")
        if self.known_account is not None and not self.known_account(account or ""):
            problems.append(Problem("account_id", f"unknown account {account!r}; import it first"))
        if self.entity.key and not problems:
            problems.extend(self._key_problems(record, line))
        return problems

    def _order_problems(self, record: Record) -> Iterator[Problem]:
        rule = _ORDER_RULES.get(self.entity.name)
        if rule is None:
            return
        later, earlier, strict = rule
        end, start = record.get(later), record[earlier]
        if end is not None and (end <= start if strict else end < start):
            yield Problem(later, f"must be {'after' if strict else 'on or after'} {earlier}")

    def _key_problems(self, record: Record, line: int) -> Iterator[Problem]:
        key = tuple(record[k] for k in self.entity.key)
        first = self._seen.setdefault(key, line)
        if first != line:
            shown = ", ".join(str(k) for k in key)
            yield Problem(self.entity.key[0], f"duplicate key {shown!r} (first on line {first})")


#: entity -> (column that must not come before, the column it follows, strictly after?)
_ORDER_RULES: dict[str, tuple[str, str, bool]] = {
    "subscriptions": ("ends_on", "starts_on", True),  # ranges are [starts_on, ends_on)
    "invoices": ("due_on", "issued_on", False),
    "tickets": ("closed_at", "opened_at", False),
}


def event_message_id(record: Mapping[str, Any]) -> str:
    """The idempotency key of an event: its ``message_id``, or a hash of its content.

    Events without a message id are deduplicated on their full content, so importing
    the same file twice stores them once.
    """
    given = record.get("message_id")
    if given:
        return str(given)
    canonical = json.dumps(
        [
            record["timestamp"].isoformat(),
            record["account_id"],
            record.get("user_id"),
            record["event"],
            record.get("count") or 1,
            record.get("properties"),
        ],
        sort_keys=True,
        default=str,
    )
    return "kw-" + hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()
