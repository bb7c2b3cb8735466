"""A workspace: one directory holding the operational DB, the analytics store and config.

``keepwell init PATH`` creates one; every other command opens the one named by
``KEEPWELL_HOME`` (default ``./.keepwell``). ``KEEPWELL_DATABASE_URL`` and
``KEEPWELL_ANALYTICS_URL`` move either store out of the directory (e.g. to PostgreSQL).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from keepwell.core.analytics import open_analytics
from keepwell.core.audit import record_audit
from keepwell.core.database import (
    check_connection,
    check_schema,
    make_engine,
    migrate,
    transaction,
)
from keepwell.core.errors import ConfigurationError, WorkspaceError
from keepwell.core.models import WorkspaceSetting
from keepwell.core.settings import Settings
from keepwell.core.warehouse import AnalyticsStore, check_timezone

CONFIG_FILE = "keepwell.yaml"
DATABASE_FILE = "keepwell.db"
ANALYTICS_FILE = "analytics.duckdb"

DEFAULTS = {"base_currency": "USD", "timezone": "UTC", "reference_window_days": "365"}

_CONFIG_TEMPLATE = """\
# Keepwell workspace configuration.
# Settings of the data (base currency, time zone) live in the database:
#   keepwell settings show / keepwell settings set KEY VALUE
# Stores: KEEPWELL_DATABASE_URL and KEEPWELL_ANALYTICS_URL override the files here.
version: 1
"""


@dataclass
class Workspace:
    """An opened workspace. Stores are connected lazily and shared by its users."""

    root: Path
    database_url: str
    analytics_url: str
    _analytics: AnalyticsStore | None = field(default=None, repr=False)
    _per_thread: dict[int, AnalyticsStore] = field(default_factory=dict, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def at(cls, root: Path, settings: Settings | None = None) -> Workspace:
        settings = settings or Settings()
        root = root.resolve()
        return cls(
            root=root,
            database_url=settings.database_url or f"sqlite:///{root / DATABASE_FILE}",
            analytics_url=settings.analytics_url or f"duckdb:///{root / ANALYTICS_FILE}",
        )

    @property
    def key(self) -> tuple[str, str]:
        """What names the workspace in a process's caches: its folder and database (not
        the object's id, which Python reuses once an object is gone)."""
        return str(self.root), self.database_url

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.database_url)

    def analytics(self, *, memory_limit: str | None = None) -> AnalyticsStore:
        """The analytics store, opened on first use. On a DuckDB file each thread gets
        a connection of its own (DuckDB refuses one connection used by two threads at
        once; the connections of one process share the database and see each other's
        commits), so a server's requests, event writer and cycle never collide."""
        if self.analytics_url.startswith("duckdb:///") and self.analytics_url != "duckdb:///":
            thread = threading.get_ident()
            store = self._per_thread.get(thread)
            if store is None:
                store = open_analytics(
                    self.analytics_url, timezone=self.setting("timezone"),
                    memory_limit=memory_limit,
                )  # fmt: skip
                with self._guard:
                    self._per_thread[thread] = store
            return store
        if self._analytics is None:
            self._analytics = open_analytics(
                self.analytics_url, timezone=self.setting("timezone"), memory_limit=memory_limit
            )
        return self._analytics

    def setting(self, key: str) -> str:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(WorkspaceSetting.value).where(WorkspaceSetting.key == key)
            ).scalar_one_or_none()
        return value if value is not None else DEFAULTS[key]

    def settings(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(WorkspaceSetting.key, WorkspaceSetting.value)).all()
        return {**DEFAULTS, **{key: str(value) for key, value in rows}}

    def set_setting(self, key: str, value: str) -> None:
        value = _check_setting(key, value)
        with transaction(self.engine) as session:
            old = session.get(WorkspaceSetting, key)
            before = {key: old.value if old is not None else None}
            session.merge(WorkspaceSetting(key=key, value=value))
            if before[key] != value:
                record_audit(
                    session, action="settings.set", target=key, before=before, after={key: value}
                )
        if key == "timezone":
            store = self.analytics()
            store.timezone = value
            store.rebuild_rollup()

    def close(self) -> None:
        with self._guard:
            stores, self._per_thread = list(self._per_thread.values()), {}
        for store in stores:
            store.close()
        if self._analytics is not None:
            self._analytics.close()
            self._analytics = None
        if "engine" in self.__dict__:
            self.engine.dispose()


def _check_setting(key: str, value: str) -> str:
    if key == "base_currency":
        if len(value) != 3 or not value.isalpha():
            raise ConfigurationError(f"base_currency {value!r} is not an ISO 4217 code")
        return value.upper()
    if key == "timezone":
        return check_timezone(value)
    if key == "reference_window_days":  # a referencing customer stops after so long
        if not value.isdigit() or int(value) < 1:
            raise ConfigurationError(f"reference_window_days {value!r} is not a positive integer")
        return str(int(value))
    raise ConfigurationError(
        f"unknown setting {key!r}", hint=f"known settings: {', '.join(sorted(DEFAULTS))}"
    )


def init_workspace(
    root: Path,
    *,
    settings: Settings | None = None,
    base_currency: str = "USD",
    timezone: str = "UTC",
) -> Workspace:
    """Create (or upgrade) the workspace at ``root`` and return it opened.

    Idempotent: running it on an existing workspace migrates its schema to the latest
    version and leaves its data alone.
    """
    root.mkdir(parents=True, exist_ok=True)
    config = root / CONFIG_FILE
    if not config.exists():
        config.write_text(_CONFIG_TEMPLATE, encoding="utf-8")
    workspace = Workspace.at(root, settings)
    check_connection(workspace.engine)
    migrate(workspace.engine)
    with workspace.engine.connect() as conn:
        known = set(conn.execute(sa.select(WorkspaceSetting.key)).scalars())
    with transaction(workspace.engine) as session:
        for key, value in {"base_currency": base_currency, "timezone": timezone}.items():
            if key not in known:
                session.add(WorkspaceSetting(key=key, value=_check_setting(key, value)))
    workspace.analytics()
    return workspace


def open_workspace(settings: Settings) -> Workspace:
    """The workspace at ``settings.home``; :class:`WorkspaceError` if there is none."""
    root = settings.home
    if not (root / CONFIG_FILE).exists():
        raise WorkspaceError(
            f"no Keepwell workspace at {root.resolve()}",
            hint="run `keepwell init` there, or set KEEPWELL_HOME to an existing workspace",
        )
    workspace = Workspace.at(root, settings)
    check_connection(workspace.engine)
    check_schema(workspace.engine)
    return workspace
