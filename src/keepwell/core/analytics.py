"""Opening the analytics store of a URL: DuckDB (:mod:`keepwell.core.warehouse`, read and
written) or a warehouse engine read in place (PostgreSQL, Spark:
:mod:`keepwell.core.engine_store`). It imports both, so neither imports the other."""

from __future__ import annotations

from keepwell.core.engine_store import EngineStore
from keepwell.core.engines import is_warehouse_url
from keepwell.core.warehouse import AnalyticsStore


def open_analytics(
    url: str, *, timezone: str = "UTC", memory_limit: str | None = None
) -> AnalyticsStore:
    """The analytics store of ``url`` with days in ``timezone``; ``memory_limit`` caps
    DuckDB's working memory (e.g. ``"384MB"``; other engines manage their own)."""
    if is_warehouse_url(url):
        return EngineStore.open_engine(url, timezone=timezone)
    return AnalyticsStore.open(url, timezone=timezone, memory_limit=memory_limit)
