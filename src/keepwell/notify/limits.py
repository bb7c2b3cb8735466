"""Sending limits of email (pure): a daily cap over every email, and a rate per
recipient domain, as mail servers and providers impose them.

A message over a limit is not an attempt that failed: it waits, pending, for the next
window (the next UTC day for the cap, the next minute for a domain's rate).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

DAY = "day"
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class SendLimits:
    """``daily_cap``: emails per UTC day, all recipients (0 = no cap). ``domain_rate``:
    emails per minute to one recipient domain (0 = no limit); ``domain_rates``
    overrides it for named domains (lower case; 0 = no limit for that domain)."""

    daily_cap: int = 0
    domain_rate: int = 0
    domain_rates: Mapping[str, int] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """Whether any limit applies at all."""
        return self.daily_cap > 0 or self.domain_rate > 0 or any(self.domain_rates.values())

    def rate_of(self, domain: str) -> int:
        """The per-minute limit of ``domain`` (0 = none)."""
        return self.domain_rates.get(domain, self.domain_rate)


def domain_of(address: str) -> str:
    """The recipient domain of an email address, lower case (``""`` when none)."""
    return address.rpartition("@")[2].strip().lower()


def day_start(now: datetime) -> datetime:
    """The start (UTC midnight) of the day of ``now`` (an aware UTC datetime)."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def minute_start(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def by_domain(addresses: Iterable[tuple[int, str]]) -> dict[str, list[int]]:
    """Message ids grouped by recipient domain, in the order given."""
    groups: dict[str, list[int]] = {}
    for message_id, address in addresses:
        groups.setdefault(domain_of(address), []).append(message_id)
    return groups
