"""Peer benchmarks: where an account's measure stands among similar accounts.

The percentile of value v among peer values p_1..p_n is the share of peers strictly
below v plus half the share equal to v (the "mid-rank" percentile), in 0..100."""

from __future__ import annotations

from collections.abc import Sequence


def percentile_rank(value: float | None, peers: Sequence[float | None]) -> float | None:
    """The mid-rank percentile of ``value`` among ``peers`` (None values ignored);
    None when ``value`` is unknown or there is no peer."""
    known = [p for p in peers if p is not None]
    if value is None or not known:
        return None
    below = sum(1 for p in known if p < value)
    equal = sum(1 for p in known if p == value)
    return 100.0 * (below + 0.5 * equal) / len(known)


def median(values: Sequence[float | None]) -> float | None:
    """The median of the known values, None when there is none."""
    known = sorted(v for v in values if v is not None)
    if not known:
        return None
    middle = len(known) // 2
    return known[middle] if len(known) % 2 else (known[middle - 1] + known[middle]) / 2
