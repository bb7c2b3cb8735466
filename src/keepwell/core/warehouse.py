"""The analytics store: product-usage events and their daily rollup, reached through Ibis.

Raw events (one row per event or pre-aggregated row) land in ``events``; the rollup
``(day, account_id, user_id, event) -> count`` is maintained incrementally by
:meth:`AnalyticsStore.append_events`, so measures read the small rollup instead of raw
events. ``day`` is the calendar day of the event in the workspace time zone.

The rollup is ``event_daily`` plus ``event_daily_delta``: an append adds its aggregates
to the delta (work in proportion to the batch, not to the rollup), and the delta is
folded into ``event_daily`` once it holds :data:`FOLD_ROWS` rows, when the server's
writer is idle, and with every imported file. :meth:`AnalyticsStore.rollup` always
reads both, so it always equals a fresh aggregation of the events.

Deduplication on ``message_id`` reads ``event_keys``, one 128-bit MD5 per stored id
(``md5_number``), a narrow fixed-width column, instead of every stored string; two ids
share a key with probability about n^2 / 2^129 (below 1e-14 for a trillion events).

A file is imported through :meth:`AnalyticsStore.staged`: each batch is appended to a
temporary staging table (the engine spills it to disk beyond its memory limit, and it
vanishes with the connection), then the file is deduplicated and published in one final
transaction: readers never see half a file, a failure or a killed process leaves the
store as it was, and memory does not grow with the file. Reads are Ibis expressions;
writes use the engine's SQL because an append must dedupe and merge in one transaction.
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
import numpy as np
import numpy.typing as npt
import pyarrow as pa
from ibis.backends.duckdb import Backend as DuckDBBackend

from keepwell.core.errors import ConfigurationError, StoreError

EVENTS = "events"
#: One MD5 (``UHUGEINT``) per stored message id: what deduplication checks.
KEYS = "event_keys"
ROLLUP = "event_daily"
DELTA = "event_daily_delta"
#: Delta rows above which an append folds the delta into the rollup.
FOLD_ROWS = 1_000_000
_ROLLUP_KEY = ("day", "account_id", "user_id", "event")
#: The stage of a file being imported: a temporary table of the importing connection.
_STAGE = "_kw_stage"
#: Stages of earlier versions lived on disk, one per process, in this schema.
_OLD_STAGES = "_kw_staging"

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
CREATE TABLE IF NOT EXISTS {DELTA} (
    day DATE NOT NULL,
    account_id VARCHAR NOT NULL,
    user_id VARCHAR,
    event VARCHAR NOT NULL,
    count BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS {KEYS} (key UHUGEINT NOT NULL);
CREATE SCHEMA IF NOT EXISTS _kw_staging;
"""
_COLUMNS = ", ".join(EVENT_BATCH_SCHEMA.names)
_ROLLUP_MATCH = (
    "r.day = a.day AND r.account_id = a.account_id"
    " AND r.user_id IS NOT DISTINCT FROM a.user_id AND r.event = a.event"
)


def _int64_array(values: list[int] | npt.NDArray[np.int64]) -> pa.Array:
    """``values`` as an Arrow int64 array over the same memory, without ``pa.array``
    (whose first call imports pandas, ~0.2 s of a command that never uses it)."""
    data = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)])


@dataclass(frozen=True)
class AppendResult:
    """What an append did: rows stored, and rows skipped as already seen (messageId)."""

    inserted: int
    duplicates: int
    #: lines of rows a checked append did not accept (see ``check``)
    refused: tuple[int, ...] = ()


@dataclass
class Staging:
    """A staged import: ``result`` is what publishing stored (or, for a dry run, would
    have stored), set when the :meth:`AnalyticsStore.staged` block ends."""

    result: AppendResult | None = None


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


def _size(text: str, what: str) -> str:
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", text):
        raise ConfigurationError(f"{what} {text!r} is not a size like 512MB")
    return text


def _open_error(path: str, exc: Exception) -> StoreError:
    """What to say when DuckDB cannot open ``path``: another process holding the file
    (a running ``keepwell serve``, docs/deployment.md) is said in one line, with what
    to do, instead of DuckDB's lock message."""
    held = re.search(r"Conflicting lock is held in .* \(PID (\d+)\)", str(exc))
    if "Could not set lock" in str(exc):
        who = f" (pid {held.group(1)})" if held else ""
        return StoreError(
            f"the analytics store {path} is in use by another process{who}",
            hint="while `keepwell serve` runs, `keepwell status` shows it; `score`, `run`, "
            "`import`, `health`, `risk`, `export`, `events`, `qbr` and `settings` run "
            "through it; stop it for this command",
        )
    return StoreError(f"cannot open the analytics store {path}: {exc}")


class AnalyticsStore:
    """Events and their rollup on one Ibis backend (DuckDB by default)."""

    def __init__(self, con: DuckDBBackend, *, timezone: str = "UTC") -> None:
        self.con = con
        self.timezone = check_timezone(timezone)
        self._in_transaction = False
        self._staging = False
        #: in a staged import, the order given to rows appended without their lines
        self._next_order = 0
        #: the rollup tables as Ibis tables, looked up once (a lookup reads the catalog)
        self._tables: dict[str, ibis.Table] = {}

    @classmethod
    def open(
        cls, url: str, *, timezone: str = "UTC", memory_limit: str | None = None
    ) -> AnalyticsStore:
        """The DuckDB store of ``url`` (``duckdb:///path`` or ``duckdb://`` in memory).
        :func:`keepwell.core.analytics.open_analytics` also opens the other engines."""
        path = parse_duckdb_url(url)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            con = ibis.duckdb.connect(path)
        except Exception as exc:  # duckdb raises several unrelated types here
            raise _open_error(path, exc) from exc
        con.raw_sql("SET TimeZone = 'UTC'; SET enable_progress_bar = false")
        store = cls(con, timezone=timezone)
        if memory_limit:
            store.limit_memory(memory_limit)
        store.ensure_schema()
        return store

    def close(self) -> None:
        self.con.disconnect()

    def limit_memory(self, limit: str) -> None:
        """Cap the engine's working memory (e.g. ``"384MB"``); it spills to disk beyond."""
        self._sql(f"SET memory_limit = '{_size(limit, 'memory limit')}'")

    def checkpoint_after(self, wal_size: str) -> None:
        """Let the write-ahead log grow to ``wal_size`` (e.g. ``"128MB"``) before a
        commit writes it into the database file (a checkpoint, which the committing
        caller waits for); :meth:`checkpoint` does it when convenient."""
        self._sql(f"SET checkpoint_threshold = '{_size(wal_size, 'WAL size')}'")

    def checkpoint(self) -> None:
        """Write the write-ahead log into the database file now."""
        self._sql("CHECKPOINT")

    def ensure_schema(self) -> None:
        """Create the tables; a store made before ``event_keys`` existed gets its keys;
        a stage left by a crashed process (any other than this one, since only one
        process at a time opens the file) is dropped."""
        self._sql(_DDL)
        stale = self.con.con.execute(
            "SELECT table_name FROM duckdb_tables() "
            "WHERE database_name = current_database() AND schema_name = '_kw_staging'"
        ).fetchall()
        for (name,) in stale:
            self._sql(f'DROP TABLE {_OLD_STAGES}."{name}"')
        if self._scalar(f"SELECT count(*) FROM {KEYS}") == 0 and self._scalar(
            f"SELECT EXISTS (SELECT 1 FROM {EVENTS})"
        ):
            self._sql(f"INSERT INTO {KEYS} SELECT DISTINCT md5_number(message_id) FROM {EVENTS}")

    def events(self) -> ibis.Table:
        return self.con.table(EVENTS)

    def rollup(self) -> ibis.Table:
        """The rollup, one row per key: ``event_daily`` alone when nothing waits in the
        delta, else both summed by key."""
        base = self._table(ROLLUP)
        if not self._delta_waiting():
            return base
        both = base.union(self._table(DELTA), distinct=False)
        return both.group_by(list(_ROLLUP_KEY)).aggregate(count=both["count"].sum().cast("int64"))

    def rollup_rows(self) -> ibis.Table:
        """``event_daily`` and the delta unioned, a key possibly in both: enough for sums
        and distinct counts, without first asking whether the delta holds rows."""
        return self._table(ROLLUP).union(self._table(DELTA), distinct=False)

    def _table(self, name: str) -> ibis.Table:
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = self.con.table(name)
        return table

    def sql_rows(self, sql: str) -> list[dict[str, Any]]:
        """The rows of ``sql`` (DuckDB's dialect, e.g. a rendered
        :class:`keepwell.core.compiled.Template`) as dicts: for small results, without
        the cost of building Arrow tables."""
        cursor = self.con.con.execute(sql)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def fold(self) -> None:
        """Fold the delta into ``event_daily`` (one pass over it), in a transaction of
        its own; nothing to do when the delta is empty."""
        if self._delta_waiting():
            with self.transaction():
                self._fold()

    def _delta_waiting(self) -> bool:
        return bool(self._scalar(f"SELECT EXISTS (SELECT 1 FROM {DELTA})"))

    @contextmanager
    def transaction(self, *, commit: bool = True) -> Iterator[None]:
        """One transaction: every append inside is committed together or not at all.

        With ``commit=False`` (a dry run) everything is rolled back.
        """
        raw = self.con.con
        raw.begin()
        self._in_transaction = True
        try:
            yield
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
    def staged(self, *, commit: bool = True) -> Iterator[Staging]:
        """Appends inside are staged, then deduplicated and published together when the
        block ends; the yielded :class:`Staging` then holds what was stored.

        Each append only adds its batch to a temporary stage (no check against the store
        per batch, so the cost of a file grows with its size, not with its size times
        the store's). Publishing is one transaction: rows whose ``message_id`` is stored
        or came earlier in the file are dropped, the rest stored with their keys and
        rollup. Readers see all of the file or none; on any error (or ``commit=False``,
        a dry run, which still counts) nothing is published and the stage is dropped.
        """
        if self._in_transaction or self._staging:
            raise StoreError("an import cannot be staged inside another transaction")
        self._sql(
            f"CREATE OR REPLACE TEMP TABLE {_STAGE} AS SELECT {_COLUMNS}, NULL::UHUGEINT AS key, "
            f"NULL::BIGINT AS ord, NULL::BOOLEAN AS ok FROM {EVENTS} LIMIT 0"
        )
        staging = Staging()
        self._staging = True
        self._next_order = 0
        try:
            yield staging
            self._staging = False
            staging.result = self._publish(commit=commit)
        finally:
            self._staging = False
            self._sql(f"DROP TABLE IF EXISTS {_STAGE}; DROP TABLE IF EXISTS _kw_dup")

    @contextmanager
    def registered(self, name: str, table: pa.Table) -> Iterator[None]:
        """``table`` visible to this store's SQL as ``name`` while the block runs."""
        raw = self.con.con
        raw.register(name, table)
        try:
            yield
        finally:
            raw.unregister(name)

    @contextmanager
    def registered_values(self, name: str, column: str, values: list[str]) -> Iterator[None]:
        """``values`` visible to this store's SQL as the one-column table ``name`` while
        the block runs (a temporary table, made by the engine from the list: building
        an Arrow array from Python objects costs the first caller pyarrow's import of
        pandas, ~0.2 s, which the CSV import otherwise never needs)."""
        self.con.con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT unnest(?::VARCHAR[]) AS "{column}"',
            [values],
        )
        try:
            yield
        finally:
            self._sql(f'DROP TABLE IF EXISTS "{name}"')

    def append_events(
        self,
        batch: pa.Table,
        lines: list[int] | npt.NDArray[np.int64] | None = None,
        *,
        check: str | None = None,
    ) -> AppendResult:
        """Store ``batch`` (schema :data:`EVENT_BATCH_SCHEMA`) and fold it into the rollup.

        Rows whose ``message_id`` is already stored, or repeated within the batch (the
        first one counts), are skipped and counted as duplicates. Inside :meth:`staged`
        the rows are only staged, ordered by ``lines`` (their lines in the file: of two
        rows with one ``message_id`` the earlier line counts); every row counts as
        inserted here, the :class:`Staging` result has the real counts. Outside
        :meth:`transaction` the append is a transaction of its own.

        ``check`` (staged imports only) is a query over ``_kw_batch``, the raw ``batch``
        as read plus its ``lines`` as ``_kw_line``, giving the columns of
        :data:`EVENT_BATCH_SCHEMA`, ``_kw_line`` and ``_kw_ok``: the rows that are not
        ok are not stored, and their lines come back in ``refused``.
        """
        if check is not None:
            return self._append_checked(batch, lines, check)
        if not self._in_transaction and not self._staging:
            with self.transaction():
                return self.append_events(batch)
        batch = batch.select(EVENT_BATCH_SCHEMA.names).cast(EVENT_BATCH_SCHEMA)
        if lines is None:
            order = np.arange(self._next_order, self._next_order + batch.num_rows, dtype=np.int64)
        else:
            order = np.asarray(lines, dtype=np.int64)
        ordered = batch.append_column("_kw_ord", pa.array(order))
        raw = self.con.con
        raw.register("_kw_batch", ordered)
        try:
            if self._staging:
                self._sql(
                    f"INSERT INTO {_STAGE} SELECT {_COLUMNS}, md5_number(message_id), _kw_ord, "
                    "true FROM _kw_batch"
                )
                if lines is None:
                    self._next_order += batch.num_rows
                return AppendResult(inserted=batch.num_rows, duplicates=0)
            inserted = self._new_rows("")
            self._store_new()
        finally:
            raw.unregister("_kw_batch")
        return AppendResult(inserted=inserted, duplicates=batch.num_rows - inserted)

    def _append_checked(
        self, batch: pa.Table, lines: list[int] | npt.NDArray[np.int64] | None, check: str
    ) -> AppendResult:
        if not self._staging or lines is None or len(lines) == 0:
            raise StoreError("a checked append needs a staged import and the rows' lines")
        raw = self.con.con
        raw.register("_kw_batch", batch.append_column("_kw_line", _int64_array(lines)))
        try:
            self._sql(
                f"INSERT INTO {_STAGE} SELECT {_COLUMNS}, "
                "CASE WHEN _kw_ok THEN md5_number(message_id) END, _kw_line, _kw_ok "
                f"FROM ({check}) AS c"
            )
        finally:
            raw.unregister("_kw_batch")
        refused = self.con.con.execute(
            f"SELECT ord FROM {_STAGE} WHERE ord >= ? AND NOT ok ORDER BY ord", [int(lines[0])]
        ).fetchall()
        return AppendResult(
            inserted=batch.num_rows - len(refused),
            duplicates=0,
            refused=tuple(line for (line,) in refused),
        )

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
        """Append ``_kw_new`` to the events, their keys and the rollup delta."""
        self._sql(
            f"""
            INSERT INTO {EVENTS} SELECT {_COLUMNS} FROM _kw_new;
            INSERT INTO {KEYS} SELECT key FROM _kw_new;
            INSERT INTO {DELTA} {self._aggregates("_kw_new")};
            DROP TABLE _kw_new;
            """
        )
        if self._scalar(f"SELECT count(*) FROM {DELTA}") > FOLD_ROWS:
            self._fold()

    def _publish(self, *, commit: bool) -> AppendResult:
        """Store the staged rows not seen before, in one transaction (counted, and
        rolled back, when not ``commit``)."""
        raw = self.con.con
        self._sql(f"DELETE FROM {_STAGE} WHERE NOT ok")
        staged = int(self._scalar(f"SELECT count(*) FROM {_STAGE}"))
        raw.begin()
        try:
            self._sql("SET preserve_insertion_order = false")
            duplicates = self._mark_duplicates(staged)
            source = _STAGE
            if duplicates:
                self._sql(
                    f"CREATE OR REPLACE TEMP TABLE _kw_new AS "
                    f"SELECT * FROM {_STAGE} ANTI JOIN _kw_dup USING (ord)"
                )
                source = "_kw_new"
            if commit and staged > duplicates:
                self._sql(
                    f"INSERT INTO {EVENTS} SELECT {_COLUMNS} FROM {source}; "
                    f"INSERT INTO {KEYS} SELECT key FROM {source};"
                )
                if self._scalar(f"SELECT EXISTS (SELECT 1 FROM {ROLLUP})") or self._delta_waiting():
                    self._sql(f"INSERT INTO {DELTA} {self._aggregates(source)}")
                    self._fold()
                else:  # an empty rollup: the file's aggregates are the rollup
                    self._sql(f"INSERT INTO {ROLLUP} {self._aggregates(source)}")
            self._sql("DROP TABLE IF EXISTS _kw_new")
        except BaseException:
            raw.rollback()
            raise
        finally:
            self._sql("RESET preserve_insertion_order")
        if commit:
            raw.commit()
        else:
            raw.rollback()
        return AppendResult(inserted=staged - duplicates, duplicates=duplicates)

    def _mark_duplicates(self, staged: int) -> int:
        """Positions of staged rows already stored or repeated in the file (after their
        first row) into ``_kw_dup``; returns how many."""
        parts = []
        if self._scalar(f"SELECT EXISTS (SELECT 1 FROM {KEYS})"):
            parts.append(f"SELECT s.ord FROM {_STAGE} AS s SEMI JOIN {KEYS} AS k ON k.key = s.key")
        if self._scalar(f"SELECT count(DISTINCT key) FROM {_STAGE}") != staged:
            parts.append(
                f"SELECT ord FROM {_STAGE} "
                "QUALIFY row_number() OVER (PARTITION BY key ORDER BY ord) > 1"
            )
        if not parts:
            return 0
        self._sql(f"CREATE OR REPLACE TEMP TABLE _kw_dup AS {' UNION '.join(parts)}")
        return int(self._scalar("SELECT count(*) FROM _kw_dup"))

    def _aggregates(self, table: str) -> str:
        """SELECT of the rollup rows of the events in ``table``."""
        return (
            f"SELECT {self._day_sql('timestamp')} AS day, account_id, user_id, event, "
            f"sum(count)::BIGINT AS count FROM {table} GROUP BY ALL"
        )

    def _fold(self) -> None:
        """Inside a transaction: add the delta, summed by key, to ``event_daily`` with
        one MERGE (updates the keys it has, inserts the others), then empty it."""
        self._sql(
            f"""
            MERGE INTO {ROLLUP} AS r
            USING (SELECT day, account_id, user_id, event, sum(count)::BIGINT AS count
                   FROM {DELTA} GROUP BY ALL) AS a
            ON ({_ROLLUP_MATCH})
            WHEN MATCHED THEN UPDATE SET count = r.count + a.count
            WHEN NOT MATCHED THEN INSERT VALUES (a.day, a.account_id, a.user_id, a.event,
                                                 a.count);
            DELETE FROM {DELTA};
            """
        )

    def rebuild_rollup(self) -> None:
        """Recompute the whole rollup from raw events (after a time-zone change)."""
        self._sql(
            f"""
            DELETE FROM {ROLLUP}; DELETE FROM {DELTA};
            INSERT INTO {ROLLUP} {self._aggregates(EVENTS)};
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
