"""The retry policy of deliveries: exponential backoff with a ceiling (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``max_attempts`` attempts; after failed attempt n (1, 2, ...) the next one
    is due ``base_seconds`` x 2^(n-1) seconds later, never more than ``max_seconds``."""

    max_attempts: int = 5
    base_seconds: int = 60
    max_seconds: int = 3600

    def delay(self, attempts: int) -> timedelta:
        """The wait after ``attempts`` failed attempts (seconds = base x 2^(attempts-1))."""
        exponent = max(attempts - 1, 0)
        seconds = min(self.base_seconds * 2 ** min(exponent, 32), self.max_seconds)
        return timedelta(seconds=seconds)

    def next_attempt(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after ``attempts`` failed attempts, or None to give up."""
        if attempts >= self.max_attempts:
            return None
        return now + self.delay(attempts)
