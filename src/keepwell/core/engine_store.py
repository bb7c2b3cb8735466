"""The workspace's analytics store on PostgreSQL or Spark: reads, no appends.

When ``KEEPWELL_ANALYTICS_URL`` names PostgreSQL or Spark, the events already live
there (a warehouse event source, :mod:`keepwell.core.event_sources`) and the rollup
``event_daily`` is kept next to them by ``refresh_rollup`` (on Spark: a table or view
of that name in the session's catalog). Health and revenue read the rollup through
:meth:`EngineStore.rollup` exactly as they read DuckDB's. Writes (imports, the tracking
API) append to DuckDB only: here they raise :class:`StoreError` saying so.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import ibis
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from keepwell.core.engines import EngineKind, connect, engine_kind, has_table
from keepwell.core.errors import StoreError
from keepwell.core.warehouse import ROLLUP, AnalyticsStore, AppendResult, Staging

_ROLLUP_DDL = (
    f'CREATE TABLE IF NOT EXISTS "{ROLLUP}" (day DATE NOT NULL, account_id VARCHAR NOT NULL, '
    "user_id VARCHAR, event VARCHAR NOT NULL, count BIGINT NOT NULL)"
)


class EngineStore(AnalyticsStore):
    """An :class:`AnalyticsStore` whose engine is PostgreSQL or Spark (read only)."""

    @classmethod
    def open_engine(cls, url: str, *, timezone: str = "UTC") -> EngineStore:
        """Connect to the engine of ``url``; on PostgreSQL create an empty rollup table
        when there is none. One-line errors name the engine and where."""
        store = cls(connect(url), timezone=timezone)
        store.ensure_schema()
        return store

    @property
    def kind(self) -> EngineKind:
        return engine_kind(self.con)

    def ensure_schema(self) -> None:
        if self.kind is EngineKind.POSTGRES:
            self.con.raw_sql(_ROLLUP_DDL)

    def close(self) -> None:
        if self.kind is not EngineKind.SPARK:  # the Spark session is the process's
            self.con.disconnect()

    def rollup_rows(self) -> ibis.Table:
        return self.rollup()

    def rollup(self) -> ibis.Table:
        if not has_table(self.con, ROLLUP):
            raise StoreError(
                f"the {self.kind} analytics engine has no {ROLLUP} table",
                hint="declare the events source in keepwell.yaml and refresh its rollup",
            )
        table: ibis.Table = self.con.table(ROLLUP)
        return table

    def _read_only(self) -> NoReturn:
        raise StoreError(
            f"events are appended to a DuckDB analytics store only, not to {self.kind}",
            hint="on a warehouse, events are read in place: declare an events source",
        )

    def events(self) -> ibis.Table:
        self._read_only()

    def limit_memory(self, limit: str) -> None:
        """Memory is the engine's own business here: nothing to do."""

    def fold(self) -> None:
        """Nothing waits to be folded: the rollup is refreshed from the source."""

    @contextmanager
    def transaction(self, *, commit: bool = True) -> Iterator[None]:
        self._read_only()
        yield  # pragma: no cover

    @contextmanager
    def staged(self, *, commit: bool = True) -> Iterator[Staging]:
        self._read_only()
        yield Staging()  # pragma: no cover

    def append_events(
        self,
        batch: pa.Table,
        lines: list[int] | npt.NDArray[np.int64] | None = None,
        *,
        check: str | None = None,
    ) -> AppendResult:
        self._read_only()

    def rebuild_rollup(self) -> None:
        self._read_only()

    def checkpoint(self) -> None:
        """No write-ahead log of Keepwell's here."""

    def checkpoint_after(self, wal_size: str) -> None:
        """No write-ahead log of Keepwell's here."""
