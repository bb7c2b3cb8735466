"""The analytics store: product-usage events and their daily rollup, reached through Ibis.

Raw events (one row per event or pre-aggregated row) land in ``events``; ``event_daily``
holds ``(day, account_id, user_id, event) -> count`` and is maintained incrementally by
:meth:`AnalyticsStore.append_events`, so measures read the small rollup instead of raw
events. ``day`` is the calendar day of the event in the workspace time zone.

Deduplication on ``message_id`` reads ``event_keys``, one 128-bit MD5 of each stored
message id (``md5_number``), instead of the raw events: a batch is checked against a
narrow fixed-width column, not against every stored string. Two distinct message ids
share a key with probability about n^2 / 2^129 (below 1e-14 for a trillion events).

A file is imported through :meth:`AnalyticsStore.staged`: its batches are checked and
written to a temporary staging table, each in a short transaction of its own, and the
whole file is published in one final transaction, so readers never see half a file, a
failure leaves the store as it was, and memory does not grow with the file.

Reads are Ibis expressions (engine-neutral); writes use the engine's SQL because an
append must dedupe and merge in one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import ibis
import pyarrow as pa
from ibis.backends.duckdb import Backend as DuckDBBackend

from keepwell.core.errors import ConfigurationError, StoreError

EVENTS = "events"
#: One MD5 (``UHUGEINT``) per stored message id: what deduplication checks.
KEYS = "event_keys"
#: Pending rollup rows above which an open transaction folds them into the rollup.
PENDING_MERGE_ROWS = 1_000_000
ROLLUP = "event_daily"
_STAGE = "_kw_stage"

#: Arrow schema of an event batch handed to :meth:`AnalyticsStore.append_events`.
EVENT_BATCH_SCHEMA = pa.schema(
    [
        ("timestamp", pa.timestamp("us")),  # naive UTC
        ("account_id", pa.string()),
        ("user_id", pa.string()),
        ("event", pa.string()),
        ("count", pa.int64()),
        ("message_id", pa.string()),
        ("properties", pa.string()),  # a JSON object as text, or null
    ]
)

_DDL = f"""
CREATE TABLE IF NOT EXISTS {EVENTS} (
    timestamp TIMESTAMP NOT NULL,
    account_id VARCHAR NOT NULL,
    user_id VARCHAR,
    event VARCHAR NOT NULL,
    count BIGINT NOT NULL,
    message_id VARCHAR NOT NULL,
    properties VARCHAR
);
CREATE TABLE IF NOT EXISTS {ROLLUP} (
    day DATE NOT NULL,
    account_id VARCHAR NOT NULL,
    user_id VARCHAR,
    event VARCHAR NOT NULL,
    count BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS {KEYS} (key UHUGEINT NOT NULL);
"""
_COLUMNS = ", ".join(EVENT_BATCH_SCHEMA.names)
_ROLLUP_MATCH = (
    "r.day = a.day AND r.account_id = a.account_id"
    " AND r.user_id IS NOT DISTINCT FROM a.user_id AND r.event = a.event"
)


@dataclass(frozen=True)
class AppendResult:
    """What an append did: rows stored, and rows skipped as already seen (messageId)."""

    inserted: int
    duplicates: int


def parse_duckdb_url(url: str) -> str:
    """The database path of a ``duckdb:///path`` URL (``duckdb://`` alone is in memory)."""
    match = re.fullmatch(r"duckdb://(/?)(.*)", url)
    if not match:
        raise ConfigurationError(
            f"analytics URL {url!r} is not a DuckDB URL",
            hint="use duckdb:///path/to/analytics.duckdb",
        )
    path = match.group(2)
    return path or ":memory:"


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(
            f"unknown time zone {name!r}", hint="use an IANA name such as UTC or Europe/Paris"
        ) from exc
    return name


class AnalyticsStore:
    """Events and their rollup on one Ibis backend (DuckDB by default)."""

    def __init__(self, con: DuckDBBackend, *, timezone: str = "UTC") -> None:
        self.con = con
        self.timezone = check_timezone(timezone)
        self._in_transaction = False
        self._staging = False
        self._pending_rows = 0

    @classmethod
    def open(
        cls, url: str, *, timezone: str = "UTC", memory_limit: str | None = None
    ) -> AnalyticsStore:
        path = parse_duckdb_url(url)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            con = ibis.duckdb.connect(path)
        except Exception as exc:  # duckdb raises several unrelated types here
            raise StoreError(f"cannot open the analytics store {path}: {exc}") from exc
        con.raw_sql("SET TimeZone = 'UTC'")
        store = cls(con, timezone=timezone)
        if memory_limit:
            store.limit_memory(memory_limit)
        store.ensure_schema()
        return store

    def close(self) -> None:
        self.con.disconnect()

    def limit_memory(self, limit: str) -> None:
        """Cap the engine's working memory (e.g. ``"384MB"``); it spills to disk beyond."""
        if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", limit):
            raise ConfigurationError(f"memory limit {limit!r} is not a size like 512MB")
        self._sql(f"SET memory_limit = '{limit}'")

    def ensure_schema(self) -> None:
        """Create the tables; a store made before ``event_keys`` existed gets its keys."""
        self._sql(_DDL)
        if self._scalar(f"SELECT count(*) FROM {KEYS}") == 0 and self._scalar(
            f"SELECT EXISTS (SELECT 1 FROM {EVENTS})"
        ):
            self._sql(f"INSERT INTO {KEYS} SELECT DISTINCT md5_number(message_id) FROM {EVENTS}")

    def events(self) -> ibis.Table:
        return self.con.table(EVENTS)

    def rollup(self) -> ibis.Table:
        return self.con.table(ROLLUP)

    @contextmanager
    def transaction(self, *, commit: bool = True) -> Iterator[None]:
        """One transaction: every append inside is committed together or not at all.

        The rollup is brought up to date once, at the end, from the aggregates of what
        was appended. With ``commit=False`` (a dry run) everything is rolled back.
        """
        raw = self.con.con
        raw.begin()
        self._in_transaction = True
        try:
            self._sql(
                "CREATE OR REPLACE TEMP TABLE _kw_pending "
                "(day DATE, account_id VARCHAR, user_id VARCHAR, event VARCHAR, count BIGINT)"
            )
            self._pending_rows = 0
            yield
            self._merge_pending()
            self._sql("DROP TABLE _kw_pending")
        except BaseException:
            raw.rollback()
            raise
        finally:
            self._in_transaction = False
        if commit:
            raw.commit()
        else:
            raw.rollback()

    @contextmanager
    def staged(self, *, commit: bool = True) -> Iterator[None]:
        """Appends inside are staged, then published together when the block ends.

        Each append checks its batch (against the store and what is already staged)
        and writes the new rows to a temporary table in a short transaction of its
        own, so the engine's transaction state stays small however long the file.
        Publishing is one transaction: readers see all of the staged rows or none, and
        on any error (or ``commit=False``, a dry run) nothing is published. The
        staging table is temporary: a crashed process leaves nothing behind.
        """
        if self._in_transaction or self._staging:
            raise StoreError("an import cannot be staged inside another transaction")
        self._sql(
            f"CREATE OR REPLACE TEMP TABLE {_STAGE} AS "
            f"SELECT {_COLUMNS}, NULL::UHUGEINT AS key FROM {EVENTS} LIMIT 0"
        )
        keys_before = self._scalar(f"SELECT count(*) FROM {KEYS}")
        self._staging = True
        try:
            yield
            self._staging = False
            if commit:
                self._publish(changed=self._scalar(f"SELECT count(*) FROM {KEYS}") != keys_before)
        finally:
            self._staging = False
            self._sql(f"DROP TABLE IF EXISTS {_STAGE}")

    def append_events(self, batch: pa.Table) -> AppendResult:
        """Store ``batch`` (schema :data:`EVENT_BATCH_SCHEMA`) and fold it into the rollup.

        Rows whose ``message_id`` is already stored (or staged), or repeated within the
        batch (the first one counts), are skipped and counted as duplicates. Inside
        :meth:`staged` the new rows are staged; outside :meth:`transaction` the append
        is a transaction of its own.
        """
        if not self._in_transaction and not self._staging:
            with self.transaction():
                return self.append_events(batch)
        batch = batch.select(EVENT_BATCH_SCHEMA.names).cast(EVENT_BATCH_SCHEMA)
        ordered = batch.append_column("_kw_ord", pa.array(range(batch.num_rows), pa.int64()))
        raw = self.con.con
        raw.register("_kw_batch", ordered)
        try:
            if self._staging:
                raw.begin()
                try:
                    inserted = self._new_rows(f"ANTI JOIN {_STAGE} AS s ON s.key = b.key")
                    self._sql(f"INSERT INTO {_STAGE} SELECT * FROM _kw_new; DROP TABLE _kw_new")
                except BaseException:
                    raw.rollback()
                    raise
                raw.commit()
            else:
                inserted = self._new_rows("")
                self._store_new()
        finally:
            raw.unregister("_kw_batch")
        return AppendResult(inserted=inserted, duplicates=batch.num_rows - inserted)

    def _new_rows(self, also_unseen_in: str) -> int:
        """Rows of ``_kw_batch`` never stored (nor seen earlier in it) into ``_kw_new``
        with their ``key``; returns how many."""
        self._sql(
            f"""
            CREATE OR REPLACE TEMP TABLE _kw_new AS
            SELECT b.* EXCLUDE (_kw_ord)
            FROM (SELECT *, md5_number(message_id) AS key FROM _kw_batch) AS b
            ANTI JOIN {KEYS} AS k ON k.key = b.key {also_unseen_in}
            QUALIFY row_number() OVER (PARTITION BY b.message_id ORDER BY b._kw_ord) = 1
            """
        )
        return int(self._scalar("SELECT count(*) FROM _kw_new"))

    def _store_new(self) -> None:
        """Append ``_kw_new`` to the events, their keys and the pending aggregates."""
        self._sql(
            f"""
            INSERT INTO {EVENTS} SELECT {_COLUMNS} FROM _kw_new;
            INSERT INTO {KEYS} SELECT key FROM _kw_new;
            """
        )
        self._pending_rows += int(
            self._scalar(
                f"""
                INSERT INTO _kw_pending
                SELECT {self._day_sql("timestamp")} AS day, account_id, user_id, event,
                       sum(count)::BIGINT AS count
                FROM _kw_new GROUP BY ALL
                """
            )
        )
        self._sql("DROP TABLE _kw_new")
        if self._pending_rows > PENDING_MERGE_ROWS:  # keep memory flat on long transactions
            self._merge_pending()

    def _publish(self, *, changed: bool) -> None:
        """Move the staged rows into the store in one transaction. ``changed``: keys
        were stored since staging began (then those rows are dropped from the stage)."""
        raw = self.con.con
        raw.begin()
        try:
            if changed:
                self._sql(f"DELETE FROM {_STAGE} AS s USING {KEYS} AS k WHERE s.key = k.key")
            self._sql(
                f"""
                SET preserve_insertion_order = false;
                INSERT INTO {EVENTS} SELECT {_COLUMNS} FROM {_STAGE};
                INSERT INTO {KEYS} SELECT key FROM {_STAGE};
                """
            )
            self._merge_into_rollup(
                f"SELECT {self._day_sql('timestamp')} AS day, account_id, user_id, event, "
                f"sum(count)::BIGINT AS count FROM {_STAGE} GROUP BY ALL"
            )
        except BaseException:
            raw.rollback()
            raise
        finally:
            self._sql("RESET preserve_insertion_order")
        raw.commit()

    def _merge_pending(self) -> None:
        """Add the pending aggregates to the rollup and empty them."""
        self._merge_into_rollup(
            "SELECT day, account_id, user_id, event, sum(count)::BIGINT AS count "
            "FROM _kw_pending GROUP BY ALL"
        )
        self._sql("DELETE FROM _kw_pending")
        self._pending_rows = 0

    def _merge_into_rollup(self, aggregates: str) -> None:
        """Add ``aggregates`` (one row per rollup key) to the rollup: one MERGE updates
        the keys it has and inserts the others (one pass over the rollup)."""
        self._sql(
            f"""
            MERGE INTO {ROLLUP} AS r USING ({aggregates}) AS a ON ({_ROLLUP_MATCH})
            WHEN MATCHED THEN UPDATE SET count = r.count + a.count
            WHEN NOT MATCHED THEN INSERT VALUES (a.day, a.account_id, a.user_id, a.event,
                                                 a.count)
            """
        )

    def rebuild_rollup(self) -> None:
        """Recompute the whole rollup from raw events (after a time-zone change)."""
        self._sql(
            f"""
            DELETE FROM {ROLLUP};
            INSERT INTO {ROLLUP}
            SELECT {self._day_sql("timestamp")} AS day, account_id, user_id, event,
                   sum(count)::BIGINT FROM {EVENTS} GROUP BY ALL;
            """
        )

    def _day_sql(self, column: str) -> str:
        if self.timezone == "UTC":
            return f"CAST({column} AS DATE)"
        return f"CAST(({column} AT TIME ZONE 'UTC') AT TIME ZONE '{self.timezone}' AS DATE)"

    def _sql(self, sql: str) -> None:
        self.con.con.execute(sql)

    def _scalar(self, sql: str) -> Any:
        rows = self.con.con.execute(sql).fetchall()
        return rows[0][0] if rows else None
