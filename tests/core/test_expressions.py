"""The rule language: what it computes, and everything it refuses."""

from __future__ import annotations

from typing import Any

import ibis
import pytest

from keepwell.core.errors import ConfigurationError
from keepwell.core.expressions import parse_expression


def _table() -> ibis.Table:
    return ibis.memtable(
        {
            "arr": [150_000.0, 50_000.0, 5_000.0, None],
            "industry": ["saas", "retail", None, "saas"],
            "users": [10, 0, 3, 1],
        }
    )


def _evaluate(text: str) -> list[Any]:
    table = _table()
    value = parse_expression(text).to_ibis(table)
    return list(table.mutate(result=value).result.to_pyarrow().to_pylist())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("arr >= 100000", [True, False, False, None]),
        ("arr >= 20000 and arr < 100000", [False, True, False, None]),
        ("industry in ('saas', 'fintech')", [True, False, None, True]),
        ("arr between 20000 and 150000", [True, True, False, None]),
        ("industry is null", [False, False, True, False]),
        ("industry is not null", [True, True, False, True]),
        ("not (users > 2)", [False, True, False, True]),
        ("users > 5 or industry = 'retail'", [True, True, None, False]),
        ("coalesce(arr, 0) / 1000 + users * 2 - 1", [169.0, 49.0, 10.0, 1.0]),
        ("abs(-users) % 3", [1, 0, 0, 1]),
        ("least(users, 2) + greatest(users, 5)", [12, 5, 7, 6]),
        ("round(arr / 7, 1)", [21428.6, 7142.9, 714.3, None]),
        ("industry = ';'", [False, False, None, False]),
        ("true", [True, True, True, True]),
    ],
)
def test_whitelisted_expressions_compile_to_ibis(text: str, expected: list[Any]) -> None:
    assert _evaluate(text) == expected


def test_columns_read_are_reported() -> None:
    parsed = parse_expression("arr > 1 and coalesce(users, 0) = 0")
    assert parsed.columns == {"arr", "users"}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("accounts.arr > 1", "attribute or table access"),
        ("a.b.c = 1", "attribute or table access"),
        ("arr > (select max(arr) from accounts)", "subquery"),
        ("arr in (select arr from accounts)", "subquery"),
        ("exists(select 1)", "exists()"),
        ("lower(industry) = 'saas'", "lower()"),
        ("read_csv('/etc/passwd') is null", "read_csv()"),
        ("system('rm -rf /')", "system()"),
        ("cast(arr as int) > 1", "cast()"),
        ("arr::int > 1", "cast()"),
        ("industry like 's%'", "like syntax"),
        ("arr is true", "'is' other than"),
        ("arr > 1; drop table accounts", "without ';'"),
        ("industry = 'x'; --", "without ';'"),
        ("industry = '' or 1=1 union select * from accounts", "subquery"),
        ("arr[1] > 0", "bracket"),
        ("*", "star"),
        ("arr >", "cannot parse"),
        ("", "an expression is required"),
        ("x" * 3000, "longer than"),
    ],
)
def test_anything_outside_the_whitelist_is_refused(text: str, fragment: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_expression(text, where="health.yaml line 7")
    assert fragment in str(caught.value)
    assert "health.yaml line 7" in str(caught.value)


def test_unknown_columns_are_refused_at_parse_and_compile() -> None:
    with pytest.raises(ConfigurationError, match="unknown column 'revenue'"):
        parse_expression("revenue > 1", where="rule", columns=["arr", "users"])
    parsed = parse_expression("revenue > 1", where="segments[0].rule")
    with pytest.raises(ConfigurationError, match=r"segments\[0\].rule: unknown column 'revenue'"):
        parsed.to_ibis(_table())


def test_refusal_says_where_in_the_text() -> None:
    with pytest.raises(ConfigurationError, match="at column 15"):
        parse_expression("users > 1 and foo(arr) = 2", where="rule")


@pytest.mark.parametrize(
    "text", ["(" * 300 + "x > 1" + ")" * 300, "not " * 300 + "x > 1", "(" * 33 + "x" + ")" * 33]
)
def test_a_deeply_nested_expression_is_refused_not_a_recursion_error(text: str) -> None:
    """Before: a few hundred levels raised RecursionError out of the parser."""
    with pytest.raises(ConfigurationError, match=r"rules\.yaml:4: .*nested too deeply"):
        parse_expression(text, where="rules.yaml:4", columns=["x"])


def test_the_deepest_accepted_nesting_compiles_and_runs() -> None:
    text = "(" * 32 + "x > 1" + ")" * 32
    table = ibis.memtable({"x": [0, 2]})
    value = parse_expression(text, columns=["x"]).to_ibis(table)
    assert table.select(hit=value).to_pyarrow().column("hit").to_pylist() == [False, True]
