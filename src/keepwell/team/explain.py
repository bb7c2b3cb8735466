""" "Why did it move" for one metric: per dimension (segment, team, CSM, product, plan,
industry, country) the mix and rate effect of each group (see
:mod:`keepwell.team.decomposition`), the accounts that moved it most, and a
plain-language summary. Pure.

Metrics and their parts per account (from a month's movements, or health bands):

- ``nrr``, ``grr``, ``logo_churn``: the numerator and denominator of the monthly rate
  as revenue computes it (``revenue.service.rate_parts``, passed in as ``rates``:
  starting MRR, or accounts with MRR at the start of the month, as weight);
- ``mrr``: ending MRR over ending accounts (a level: accounts × ARPA);
- ``red_share`` (health-band mix): accounts in the red band over scored accounts.

Groups are each account's group at the end of the later month, for both months.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from keepwell.core.errors import InputError
from keepwell.team import decomposition as dec

EXPLAIN_METRICS = ("nrr", "grr", "logo_churn", "mrr", "red_share")
LABELS = {"nrr": "NRR", "grr": "GRR", "logo_churn": "logo churn", "mrr": "MRR",
          "red_share": "share of accounts in the red band"}  # fmt: skip
RATE_KEYS = {"nrr": "nrr", "grr": "grr", "logo_churn": "logo_churn_rate"}
DIMENSIONS = ("segment", "team", "csm", "product", "plan", "industry", "country")
NONE = "(none)"
TOP = 10


Rates = Callable[[Mapping[str, Any]], dict[str, tuple[Decimal | int, Decimal | int]]]


def month_parts(
    metric: str, row: Mapping[str, Any] | None, rates: Rates
) -> tuple[Decimal | int, Decimal | int]:
    """(numerator, denominator) of ``metric`` for one row of monthly movements (or a
    ``{"band": ...}`` row for ``red_share``); (0, 0) without a row."""
    if row is None:
        return (0, 0)
    if metric == "red_share":
        return (int(row["band"] == "red"), 1)
    if metric == "mrr":
        return (row["ending_mrr"], row["ending_accounts"])
    return rates(row)[RATE_KEYS[metric]]


def key_parts(
    metric: str,
    rows0: Mapping[str, Mapping[str, Any]],
    rows1: Mapping[str, Mapping[str, Any]],
    rates: Rates,
) -> dict[str, dec.Parts]:
    """Per key (an account or a product) its parts in both months."""
    found = {}
    for key in rows0.keys() | rows1.keys():
        n0, d0 = month_parts(metric, rows0.get(key), rates)
        n1, d1 = month_parts(metric, rows1.get(key), rates)
        if d0 or d1 or n0 or n1:
            found[key] = dec.parts(n0, d0, n1, d1)
    return found


def _shown_groups(d: dec.Decomposition, places: int) -> list[dict[str, Any]]:
    values = [x for e in d.groups for x in (e.mix, e.rate)]
    rounded = dec.shown(values, d.change, places)
    return [
        {
            "group": e.group,
            "mix": rounded[2 * i],
            "rate": rounded[2 * i + 1],
            "total": rounded[2 * i] + rounded[2 * i + 1],
            "weight0": dec.to_decimal(e.weight0),
            "weight1": dec.to_decimal(e.weight1),
            "rate0": dec.to_decimal(e.rate0),
            "rate1": dec.to_decimal(e.rate1),
        }
        for i, e in enumerate(d.groups)
    ]


def parts_table(
    account_ids: pa.Array | pa.ChunkedArray,
    n0: pa.Array | pa.ChunkedArray,
    d0: pa.Array | pa.ChunkedArray,
    n1: pa.Array | pa.ChunkedArray,
    d1: pa.Array | pa.ChunkedArray,
) -> pa.Table:
    """Per account its parts in both months as units (:func:`dec.units_array`) from
    columns of exact decimals or counts; accounts with nothing in either month left
    out (as :func:`key_parts` leaves them)."""
    table = pa.table({"account_id": account_ids, "n0": dec.units_array(n0),
                      "d0": dec.units_array(d0), "n1": dec.units_array(n1),
                      "d1": dec.units_array(d1)})  # fmt: skip
    zero = pa.scalar(Decimal(0), dec.UNITS)
    nonzero = [pc.not_equal(table[f], zero) for f in dec.Parts._fields]
    some = pc.or_(pc.or_(nonzero[0], nonzero[1]), pc.or_(nonzero[2], nonzero[3]))
    return table.filter(some)


def table_of(by_key: Mapping[str, dec.Parts]) -> pa.Table:
    """:func:`key_parts`' parts as a table of the layout of :func:`parts_table`."""
    keys = list(by_key)
    columns = {f: pa.array([Decimal(getattr(by_key[k], f)) for k in keys], dec.UNITS)
               for f in dec.Parts._fields}  # fmt: skip
    return pa.table({"account_id": pa.array(keys, pa.string()), **columns})


def explanation(
    metric: str,
    month0: str,
    month1: str,
    accounts: pa.Table,
    labels: Mapping[str, Mapping[str, str]],
    by_product: tuple[Mapping[str, Mapping[str, Any]], Mapping[str, Mapping[str, Any]]] | None,
    names: Mapping[str, str],
    rates: Rates,
) -> dict[str, Any]:
    """The explanation of ``metric`` from ``month0`` to ``month1`` (``YYYY-MM``):
    ``accounts`` the parts of each account (:func:`parts_table`); ``labels`` each
    dimension's group per account; ``by_product`` the rows per product (None: no
    product dimension). Groups are summed over the accounts' columns at once."""
    level = metric == "mrr"
    places = dec.PLACES
    ids = accounts["account_id"].to_pylist()
    columns = [[int(v) for v in accounts[f].to_pylist()] for f in dec.Parts._fields]
    totals = [sum(column) for column in columns]
    try:
        whole = dec.decompose({"all": dec.Parts(*totals)}, level=level)
    except ValueError:
        raise _undefined(metric, month0, month1) from None
    dimensions: dict[str, list[dict[str, Any]]] = {}
    for name in DIMENSIONS:
        if name == "product":
            if by_product is None:
                continue
            groups = key_parts(metric, *by_product, rates)
        elif name in labels:
            mine = labels[name]
            column = pa.array([mine.get(a) for a in ids], pa.string())
            groups = dec.aggregate_table(accounts.append_column("label", column), "label", NONE)
        else:
            continue
        dimensions[name] = _shown_groups(dec.decompose(groups, level=level), places)
    by_key = dict(zip(ids, map(dec.Parts._make, zip(*columns, strict=True)), strict=True))
    top = [
        {"account_id": key, "name": names.get(key, key),
         "change": dec.shown([change], change, places)[0]}
        for key, change in dec.top_keys(by_key, level, TOP)
    ]  # fmt: skip
    result = {
        "metric": metric,
        "month": month1,
        "vs": month0,
        "value0": dec.to_decimal(whole.value0),
        "value1": dec.to_decimal(whole.value1),
        "change": dec.shown([whole.change], whole.change, places)[0],
        "dimensions": dimensions,
        "top_accounts": top,
    }
    result["summary"] = summary(result)
    return result


def _undefined(metric: str, month0: str, month1: str) -> Exception:
    return InputError(
        f"{LABELS[metric]} is undefined in {month0} or {month1}: no account to divide by",
        hint="choose months with paying (or scored) accounts",
    )


def _fmt(metric: str, value: Decimal | Fraction | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    number = (
        Decimal(value.numerator) / Decimal(value.denominator)
        if isinstance(value, Fraction)
        else value
    )
    if metric == "mrr":
        return f"{number:+,.0f}" if signed else f"{number:,.0f}"
    points = number * 100
    return f"{points:+.2f} pp" if signed else f"{points:.2f}%"


def summary(result: Mapping[str, Any]) -> str:
    """One paragraph: the move, the group that carried most of it in the dimension
    where one group carries the largest part (among dimensions of two or more groups),
    whether it was mix or rate, and the accounts that moved it most."""
    metric = result["metric"]
    text = (f"{LABELS[metric]} went from {_fmt(metric, result['value0'])} in {result['vs']} "
            f"to {_fmt(metric, result['value1'])} in {result['month']} "
            f"({_fmt(metric, result['change'], True)}).")  # fmt: skip
    if result["change"] == 0:
        return text + " Nothing moved."
    best: tuple[str, dict[str, Any]] | None = None
    for name, groups in result["dimensions"].items():
        known = [g for g in groups if g["group"] != NONE]
        if len(known) < 2:  # one group carries everything: it tells nothing
            continue
        if best is None or abs(known[0]["total"]) > abs(best[1]["total"]):
            best = (name, known[0])
    if best is not None:
        name, g = best
        kind = (
            "its own rate changed"
            if abs(g["rate"]) >= abs(g["mix"])
            else "its share of the book changed"
        )
        text += (f" By {name}, {g['group']} carried most of it ({_fmt(metric, g['total'], True)}: "
                 f"mix {_fmt(metric, g['mix'], True)}, rate {_fmt(metric, g['rate'], True)}); "
                 f"mostly because {kind}.")  # fmt: skip
    if result["top_accounts"]:
        named = ", ".join(
            f"{a['name']} ({_fmt(metric, a['change'], True)})" for a in result["top_accounts"][:3]
        )
        text += f" The accounts that moved it most: {named}."
    return text
