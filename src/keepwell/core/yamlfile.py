"""Reading the workspace's YAML configuration files (health scorecards, success rules,
playbooks, plan templates) with the file and line of every problem, from the YAML node
marks.

Pure: no store is touched. A reader checks a file piece by piece, so a caller can report
one bad item (``file line N: reason``) and keep the others usable.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, TypeVar

import yaml

from keepwell.core.errors import ConfigurationError

T = TypeVar("T")
D = TypeVar("D")


def compose(text: str, source: str) -> yaml.Node:
    """The YAML node tree of ``text``; :class:`ConfigurationError` (file, line) if invalid."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise ConfigurationError(
            f"{source}{line}: not valid YAML: {getattr(exc, 'problem', exc)}"
        ) from exc
    if root is None:
        raise ConfigurationError(f"{source}: the file is empty")
    return root


class Reader:
    """Walks a YAML node tree, checking each piece and saying where it went wrong."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._loader = yaml.SafeLoader("")

    def at(self, node: yaml.Node) -> str:
        return f"{self.source} line {node.start_mark.line + 1}"

    def fail(self, node: yaml.Node, message: str, hint: str | None = None) -> ConfigurationError:
        return ConfigurationError(f"{self.at(node)}: {message}", hint=hint)

    def mapping(
        self, node: yaml.Node, what: str, required: Collection[str], optional: Collection[str]
    ) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping of keys to values")
        result: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key not in required and key not in optional:
                known = ", ".join([*required, *optional])
                raise self.fail(key_node, f"unknown key {key!r} in {what}", hint=f"known: {known}")
            if key in result:
                raise self.fail(key_node, f"{key!r} appears twice in {what}")
            result[key] = value_node
        for key in required:
            if key not in result:
                raise self.fail(node, f"{what} needs {key!r}")
        return result

    def named(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """A mapping of names to items: (name, name node, item node) in file order."""
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must map names to their definitions")
        seen: set[str] = set()
        result = []
        for key_node, value_node in node.value:
            name = self.value(key_node, "a name", identifier)
            if name in seen:
                raise self.fail(key_node, f"{name!r} appears twice in {what}")
            seen.add(name)
            result.append((name, key_node, value_node))
        return result

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def value(self, node: yaml.Node, what: str, check: Callable[[Any], T]) -> T:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, f"{what} must be a single value")
        raw = self._loader.construct_object(node)
        try:
            return check(raw)
        except (TypeError, ValueError) as exc:
            raise self.fail(node, f"{what}: {exc}") from exc

    def opt(
        self, keys: dict[str, yaml.Node], key: str, check: Callable[[Any], T], default: D
    ) -> T | D:
        return self.value(keys[key], key, check) if key in keys else default

    def texts(self, node: yaml.Node, what: str) -> tuple[str, ...]:
        return tuple(self.value(n, what, text) for n in self.sequence(node, what))

    def version(self, keys: dict[str, yaml.Node]) -> None:
        if "version" in keys:
            self.value(keys["version"], "version", _version)


def text(raw: Any) -> str:
    if raw is None or isinstance(raw, bool | dict | list):
        raise ValueError(f"expected text, got {raw!r}")
    return str(raw)


def identifier(raw: Any) -> str:
    """A name of lower-case letters, digits, ``-`` and ``_`` (rules, playbooks, roles)."""
    value = text(raw)
    if not value or not value.replace("-", "_").isidentifier() or value.lower() != value:
        raise ValueError(f"{value!r} must be a lower-case name of letters, digits, - and _")
    return value


def days(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise ValueError(f"expected a whole number of days (0 or more), got {raw!r}")
    return raw


def positive(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
        raise ValueError(f"expected a positive whole number, got {raw!r}")
    return raw


def number(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError(f"expected a number, got {raw!r}")
    return float(raw)


def choice(options: Collection[str]) -> Callable[[Any], str]:
    def check(raw: Any) -> str:
        value = text(raw)
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {value!r}")
        return value

    return check


def _version(raw: Any) -> int:
    if raw != 1:
        raise ValueError(f"only version 1 is known, got {raw!r}")
    return 1
