"""Process settings, read from ``KEEPWELL_*`` environment variables (and ``.env``).

Workspace-level settings that belong to the data (base currency, time zone, fx rates)
live in the operational store instead; see :mod:`keepwell.core.workspace`.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from keepwell.core.errors import ConfigurationError
from keepwell.core.schedule import CycleSchedule, parse_every, parse_times


class Mode(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Settings of one Keepwell process.

    ``home`` is the workspace directory (``KEEPWELL_HOME``, default ``./.keepwell``).
    ``database_url`` overrides the workspace's SQLite file, e.g.
    ``postgresql+psycopg://user@host/db``. ``analytics_url`` overrides the workspace's
    DuckDB file (``duckdb:///path/to/file.duckdb``); :func:`keepwell.core.engines.connect`
    also takes ``postgresql://...`` and ``spark://local[2]`` or a Spark master URL
    (docs/deployment.md says which paths use which).

    The server's scheduled cycle (docs/deployment.md, "Process model"): ``cycle_every``
    is the interval between cycles (``KEEPWELL_CYCLE_EVERY``: seconds, or ``15m``, ``1h``,
    ``1d``; wins when set); ``cycle_at`` the times of day in the workspace's time
    zone (``KEEPWELL_CYCLE_AT``, ``06:00`` or ``06:00,18:30``; ``off``: no scheduled
    cycle, e.g. when separate workers run it). ``shutdown_grace`` is how many seconds a
    stopping server waits for a cycle or a command it runs to reach a safe point.
    """

    model_config = SettingsConfigDict(env_prefix="KEEPWELL_", env_file=".env", extra="ignore")

    home: Path = Path(".keepwell")
    database_url: str | None = None
    analytics_url: str | None = None
    mode: Mode = Mode.DEVELOPMENT
    cycle_every: str | None = None
    cycle_at: str = "06:00"
    shutdown_grace: float = 60.0

    def cycle_schedule(self, timezone: str = "UTC") -> CycleSchedule:
        """The scheduled cycle as configured; :class:`ConfigurationError` when a value
        is unusable."""
        every = parse_every(self.cycle_every)
        return CycleSchedule(every=every, at=parse_times(self.cycle_at), timezone=timezone)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once; a value that cannot be read is a
    :class:`ConfigurationError` naming its variable."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "KEEPWELL_" + "_".join(str(part) for part in first["loc"]).upper()
        raise ConfigurationError(
            f"{name} {first.get('input')!r}: {first['msg']}",
            hint="fix or unset the variable (or its line in .env)",
        ) from None
