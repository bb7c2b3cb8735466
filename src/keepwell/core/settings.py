"""Process settings, read from ``KEEPWELL_*`` environment variables (and ``.env``).

Workspace-level settings that belong to the data (base currency, time zone, fx rates)
live in the operational store instead; see :mod:`keepwell.core.workspace`.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


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
    """

    model_config = SettingsConfigDict(env_prefix="KEEPWELL_", env_file=".env", extra="ignore")

    home: Path = Path(".keepwell")
    database_url: str | None = None
    analytics_url: str | None = None
    mode: Mode = Mode.DEVELOPMENT


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
