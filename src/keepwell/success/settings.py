"""Settings of the cycle's lease, read from ``KEEPWELL_*`` variables (and ``.env``)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import PositiveFloat, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class CycleSettings(BaseSettings):
    """The lease that lets one process at a time run the cycle: taken for
    ``cycle_lease_seconds`` and renewed every ``cycle_heartbeat_seconds`` while the
    cycle runs; a holder that stops renewing (killed, frozen, its machine gone) is taken
    over once its lease runs out, at most ``cycle_lease_seconds`` after its last
    renewal. The heartbeat must be well under the lease (at most a third of it), so
    that a late renewal or two does not lose it."""

    model_config = SettingsConfigDict(env_prefix="KEEPWELL_", env_file=".env", extra="ignore")

    cycle_lease_seconds: PositiveFloat = 45.0
    cycle_heartbeat_seconds: PositiveFloat = 10.0

    @model_validator(mode="after")
    def _heartbeat_under_lease(self) -> CycleSettings:
        if self.cycle_heartbeat_seconds * 3 > self.cycle_lease_seconds:
            raise ValueError(
                f"KEEPWELL_CYCLE_HEARTBEAT_SECONDS ({self.cycle_heartbeat_seconds:g}) must be "
                f"at most a third of KEEPWELL_CYCLE_LEASE_SECONDS "
                f"({self.cycle_lease_seconds:g})"
            )
        return self

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.cycle_lease_seconds)
