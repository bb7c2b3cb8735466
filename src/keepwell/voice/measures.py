"""Progress toward the customer's own success measures (pure).

Progress of a measure = (latest reading - baseline) / (target - baseline), clipped to
0..1 (a target below the baseline, e.g. hours spent, works the same way); None before
the first reading. An account's progress is the mean of its measures' progress x 100.
"""

from __future__ import annotations

from collections.abc import Sequence


def progress(baseline: float, target: float, latest: float | None) -> float | None:
    if latest is None or target == baseline:
        return None
    return min(1.0, max(0.0, (latest - baseline) / (target - baseline)))


def account_progress(values: Sequence[float | None]) -> float | None:
    """Mean progress of the measures with a reading, in percent (0-100)."""
    known = [v for v in values if v is not None]
    return None if not known else 100.0 * sum(known) / len(known)
