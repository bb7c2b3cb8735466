"""The operational store: SQLAlchemy engine, sessions, declarative base and column types.

SQLite (a file in the workspace) by default, PostgreSQL through psycopg 3 when
``KEEPWELL_DATABASE_URL`` says so. The schema is owned by Alembic migrations
(:func:`migrate`); models are declared on :class:`Base` inside each capability.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from keepwell.core.errors import StoreError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every operational table."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


#: JSON documents (JSONB on PostgreSQL): custom attributes, tags.
JSONData = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

MONEY_SCALE = 6
#: Money amounts: exact decimals, 6 places (sub-cent MRR such as 1000/12 stays exact enough).
Money = sa.Numeric(18, MONEY_SCALE, asdecimal=True)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and returned as an aware UTC ``datetime``.

    Naive input is taken to be UTC (the data contract's rule).
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


#: How long a write to the SQLite store waits for another process's write transaction
#: (a large import, the server's cycle) before failing with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 120_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; raises :class:`StoreError` with the URL if it is unusable."""
    try:
        engine = sa.create_engine(url, future=True)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(
            f"database URL {_redact(url)!r} is not usable: {exc}",
            hint="use sqlite:///path/keepwell.db or postgresql+psycopg://user@host:5432/db",
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def insert_once(
    session: Session, model: Any, row: Mapping[str, Any], key: str, *, returning: str | None = None
) -> Any | None:
    """Insert ``row`` into ``model``'s table unless a row with the same unique ``key``
    exists: ``INSERT .. ON CONFLICT (key) DO NOTHING`` on PostgreSQL and SQLite, a
    savepoint elsewhere. Returns the inserted row's ``returning`` column (``key`` by
    default), None when the row existed. The one place the dialects are told apart."""
    column = getattr(model, returning or key)
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        module: Any = postgresql if dialect == "postgresql" else sqlite
        statement = (
            module.insert(model).values(dict(row)).on_conflict_do_nothing(index_elements=[key])
        )
        return session.execute(statement.returning(column)).scalar_one_or_none()
    try:
        with session.begin_nested():
            return session.execute(
                sa.insert(model).values(dict(row)).returning(column)
            ).scalar_one()
    except IntegrityError:
        return None


#: Rows per ``INSERT`` of :func:`insert_many_once` (SQLite binds at most 32,766
#: parameters per statement; rows of a few dozen columns stay well below).
INSERT_CHUNK = 400


def insert_many_once(
    session: Session,
    model: Any,
    rows: Sequence[Mapping[str, Any]],
    key: str,
    *,
    returning: str | None = None,
) -> dict[Any, Any]:
    """:func:`insert_once` for many rows (all with the same columns) in a few
    statements: each row inserted unless a row with the same unique ``key`` exists (or
    came earlier in ``rows``). Returns ``key`` -> ``returning`` column (``key`` by
    default) of the rows inserted, in the order given."""
    column = getattr(model, key)
    other = getattr(model, returning or key)
    dialect = session.get_bind().dialect.name
    inserted: dict[Any, Any] = {}
    if dialect not in ("postgresql", "sqlite"):
        for row in rows:
            value = insert_once(session, model, row, key, returning=returning)
            if value is not None:
                inserted[row[key]] = value
        return inserted
    module: Any = postgresql if dialect == "postgresql" else sqlite
    seen: set[Any] = set()
    unique = [r for r in rows if not (r[key] in seen or seen.add(r[key]))]  # type: ignore[func-returns-value]
    for start in range(0, len(unique), INSERT_CHUNK):
        chunk = [dict(r) for r in unique[start : start + INSERT_CHUNK]]
        statement = module.insert(model).values(chunk).on_conflict_do_nothing(index_elements=[key])
        returned = {r[0]: r[1] for r in session.execute(statement.returning(column, other))}
        inserted.update((r[key], returned[r[key]]) for r in chunk if r[key] in returned)
    return inserted


def check_connection(engine: Engine) -> None:
    """Raise :class:`StoreError` naming the server when the database cannot be reached."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except OperationalError as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreError(
            f"cannot reach the database at {_redact(str(engine.url))}: {first}",
            hint="check KEEPWELL_DATABASE_URL and that the server is running",
        ) from exc


#: errno values of a store that cannot take writes: disk full, quota, read-only, denied.
_STORE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}
_STORE_WORDS = ("readonly", "read-only", "read only", "disk", "full", "space", "permission",
                "i/o", "locked", "no such file", "unable to open")  # fmt: skip


def store_failure(exc: BaseException) -> StoreError | None:
    """A one-line :class:`StoreError` for a store that cannot be written (read-only, disk
    full, no permission, I/O error, locked), or None for anything else.

    The message is the driver's own first line ("attempt to write a readonly
    database", "No space left on device"), never the statement or its bound values:
    those hold customer data and must not reach a terminal or a log line.
    """
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        first = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
        if isinstance(exc, OperationalError) or any(w in first.lower() for w in _STORE_WORDS):
            return StoreError(f"the database refused the change: {first}", hint=_STORE_HINT)
        return None
    if isinstance(exc, OSError) and exc.errno in _STORE_ERRNOS:
        where = f" {exc.filename}" if exc.filename else ""
        return StoreError(f"cannot write{where}: {exc.strerror or exc}", hint=_STORE_HINT)
    if type(exc).__module__.startswith("duckdb") and type(exc).__name__ == "IOException":
        first = (str(exc).strip().splitlines() or ["I/O error"])[0]
        return StoreError(f"the analytics store refused the change: {first}", hint=_STORE_HINT)
    return None


_STORE_HINT = "check the workspace's free disk space and write permissions, then run it again"


def _redact(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, future=True)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error."""
    with session_factory(engine)() as session, session.begin():
        yield session


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema of ``engine``'s database to ``revision`` with Alembic."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "keepwell:migrations")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def to_decimal(value: Any) -> Decimal:
    """A money value from the store as a :class:`Decimal` (SQLite may hand back floats)."""
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))
