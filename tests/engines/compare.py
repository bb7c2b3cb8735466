"""Result comparison across engines: counts and money exactly, floats to 1e-9."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def same_rows(
    actual: Sequence[dict[str, Any]], expected: Sequence[dict[str, Any]], key: Sequence[str]
) -> None:
    """Assert ``actual`` equals ``expected`` row for row once both are sorted by ``key``.

    Integers, strings, dates and decimals (money) must be identical; floats may differ
    in the last bits (engines sum in different orders): relative tolerance 1e-9.
    """
    assert len(actual) == len(expected), f"{len(actual)} rows, expected {len(expected)}"
    assert expected, "an empty reference proves nothing"
    left = sorted(actual, key=lambda r: tuple(str(r[k]) for k in key))
    right = sorted(expected, key=lambda r: tuple(str(r[k]) for k in key))
    for a, e in zip(left, right, strict=True):
        assert a.keys() == e.keys()
        for column, want in e.items():
            got = a[column]
            where = f"{column} of {[e[k] for k in key]}"
            if isinstance(want, float) and got is not None:
                assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), f"{where}: {got}"
            else:
                assert got == want, f"{where}: {got!r} != {want!r}"
                assert type(got) is type(want), f"{where}: {type(got)} != {type(want)}"


def same_values(actual: Any, expected: Any, where: str = "") -> None:
    """Assert nested dicts and lists are equal, floats to a relative 1e-9."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        assert actual.keys() == expected.keys(), where
        for key, want in expected.items():
            same_values(actual[key], want, f"{where}.{key}")
    elif isinstance(expected, list | tuple):
        assert len(actual) == len(expected), where
        for i, (got, want) in enumerate(zip(actual, expected, strict=True)):
            same_values(got, want, f"{where}[{i}]")
    elif isinstance(expected, float) and actual is not None:
        assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12), f"{where}: {actual}"
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"
