"""How long a client must wait after failed sign-ins (pure logic, no clock, no I/O).

A (user name, client address) pair may fail :data:`LOGIN_FAILURE_LIMIT` times within
:data:`LOGIN_WINDOW`; the next attempt is refused, without checking the password, until
enough of those failures have left the window. A successful sign-in clears the count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

#: Failed sign-ins allowed per user name and client address within the window.
LOGIN_FAILURE_LIMIT = 5
#: The sliding window the failures are counted in.
LOGIN_WINDOW = timedelta(minutes=5)


def retry_after(
    failures: Sequence[datetime],
    now: datetime,
    *,
    limit: int = LOGIN_FAILURE_LIMIT,
    window: timedelta = LOGIN_WINDOW,
) -> int | None:
    """Seconds (at least 1) before the next attempt may be checked, or None when it may
    be checked now.

    ``failures`` are the times of failed attempts since the last success (any order).
    With the n failures inside ``(now - window, now]`` sorted oldest first, f[0..n-1],
    and n >= limit, the count drops below the limit when f[n - limit] leaves the window:
    wait = f[n - limit] + window - now, rounded up to whole seconds.
    """
    recent = sorted(t for t in failures if now - window < t <= now)
    if len(recent) < limit:
        return None
    wait = recent[len(recent) - limit] + window - now
    return max(1, math.ceil(wait.total_seconds()))
