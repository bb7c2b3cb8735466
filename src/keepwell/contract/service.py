"""Use cases of the data contract: import a file, read an entity back as a table.

This is the public surface of the ``contract`` slice; faces and other slices call it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from keepwell.contract import fastpath
from keepwell.contract.dialect import Dialect, MissingFlagError, ValueRewriter
from keepwell.contract.mapping import (
    ExportMapping,
    LookupTables,
    Mapper,
    RowMappingError,
    Suggestion,
    load_mapping,
    suggest,
)
from keepwell.contract.queries import (  # the read use cases, re-exported: the public surface
    account_activities as account_activities,
)
from keepwell.contract.queries import (
    account_contacts as account_contacts,
)
from keepwell.contract.queries import (
    account_detail as account_detail,
)
from keepwell.contract.queries import (
    account_owners as account_owners,
)
from keepwell.contract.queries import (
    account_usage as account_usage,
)
from keepwell.contract.queries import (
    accounts_contacts as accounts_contacts,
)
from keepwell.contract.queries import (
    subscription_lines as subscription_lines,
)
from keepwell.contract.queries import (
    tagged_activities as tagged_activities,
)
from keepwell.contract.queries import (
    visible_account as visible_account,
)
from keepwell.contract.readahead import read_ahead
from keepwell.contract.readers import (
    CsvSource,
    EngineBatch,
    Format,
    ParquetSource,
    RawRow,
    RejectsWriter,
    Source,
    file_kind,
    open_source,
)
from keepwell.contract.schema import (
    REJECT_REASON_COLUMN,
    Column,
    Entity,
    Kind,
    Store,
    get_entity,
)
from keepwell.contract.store import MODELS, Counts, append_events, known_accounts, upsert
from keepwell.contract.validation import Problem, Record, RowValidator
from keepwell.core.audit import audit_alone
from keepwell.core.database import session_factory
from keepwell.core.engines import EngineKind, engine_kind
from keepwell.core.errors import InputError, UnusableFileError
from keepwell.core.event_sources import RefreshResult, load_event_source, refresh_rollup
from keepwell.core.warehouse import ROLLUP, AnalyticsStore
from keepwell.core.workspace import CONFIG_FILE, Workspace

#: Called after each batch with (bytes or Parquet rows done, their total, rows read so far).
ProgressCallback = Callable[[int, int, int], None]
#: The analytics engine's working memory during an import: files of any size stream
#: through it with the whole process under 1 GB (it spills to disk beyond this). A
#: 10-million-row Parquet file peaks at ~740 MB with this (841 MB with 384 MB; Python
#: and Arrow hold the rest); the staging table and the publishing query stay within it.
IMPORT_MEMORY_LIMIT = "256MB"
#: The vectorised events path takes batches this many times larger than the row path.
FAST_BATCH_FACTOR = 4
#: How many rejected rows a report keeps in memory for display (all go to the file).
SHOWN_REJECTS = 200


@dataclass(frozen=True)
class RejectedRow:
    line: int
    problems: tuple[Problem, ...]

    @property
    def reason(self) -> str:
        return "; ".join(str(p) for p in self.problems)


@dataclass(frozen=True)
class PreviewRow:
    """A source row as a mapping makes it: its contract values and why it would be
    rejected (None: it would load), or that the mapping's ``where`` drops it."""

    line: int
    values: dict[str, Any]
    reason: str | None
    filtered: bool = False


@dataclass
class ImportReport:
    """What an import did. ``read == loaded + rejected + filtered`` always holds
    (``filtered``: rows a mapping's ``where`` leaves out, e.g. trials)."""

    entity: str
    path: Path
    dry_run: bool = False
    read: int = 0
    counts: Counts = field(default_factory=Counts)
    rejected: int = 0
    filtered: int = 0
    rejects_path: Path | None = None
    examples: list[RejectedRow] = field(default_factory=list)
    preview: list[PreviewRow] = field(default_factory=list)

    @property
    def loaded(self) -> int:
        return self.counts.new + self.counts.updated + self.counts.unchanged

    @property
    def exit_code(self) -> int:
        return 1 if self.rejected else 0


def default_rejects_path(path: Path) -> Path:
    """``accounts.csv.gz`` -> ``accounts.rejects.csv.gz`` beside the input."""
    suffix = "".join(path.suffixes)
    stem = path.name[: -len(suffix)] if suffix else path.name
    if suffix.lower().endswith(".xlsx"):  # a workbook's rejects are written as CSV
        suffix = suffix[: -len(".xlsx")] + ".csv"
    return path.with_name(f"{stem}.rejects{suffix}")


class Prepare:
    """What happens to a source row before the contract's validator sees it: the
    mapping (if any) makes the contract row, and the dialect's numbers and dates are
    rewritten to the contract's form. A value that needs a flag the import lacks stops
    the whole import (:class:`UnusableFileError` naming the line, column and flag)."""

    def __init__(
        self,
        path: Path,
        entity: Entity,
        dialect: Dialect,
        mapper: Mapper | None,
        text_source: bool,
    ) -> None:
        self.path = path
        self.mapper = mapper
        kinds = {  # whole numbers are written with the same grouping as amounts
            c.name: "decimal" if c.kind is Kind.INTEGER else str(c.kind)
            for c in entity.columns
            if c.kind in (Kind.DECIMAL, Kind.INTEGER, Kind.DATE, Kind.TIMESTAMP)
        }
        self.rewriter = ValueRewriter(kinds, dialect) if text_source or mapper else None
        self.rewrites = dialect.rewrites_values and self.rewriter is not None

    def row(self, raw: RawRow) -> RawRow | None:
        """The row to validate; None when the mapping's ``where`` leaves it out."""
        if raw.problem is not None:
            return raw
        values = raw.values
        if self.mapper is not None:
            try:
                made = self.mapper.apply(values)
            except RowMappingError as exc:
                return RawRow(raw.line, {}, raw.original, str(exc))
            except MissingFlagError as exc:
                raise self.stop(raw.line, exc, "") from None
            if made is None:
                return None
            values = made
            raw = RawRow(raw.line, values, raw.original)
        if self.rewrites and self.rewriter is not None:
            try:
                problems = self.rewriter.rewrite(values)
            except MissingFlagError as exc:
                raise self.stop(raw.line, exc, exc.column) from None
            if problems:
                reason = "; ".join(f"{column}: {why}" for column, why in problems)
                return RawRow(raw.line, {}, raw.original, reason)
        return raw

    def check_rejected(self, raw: RawRow) -> None:
        """A rejected row whose cell needs a flag stops the import: with it, the
        rows already accepted may have been read wrongly (``1.234`` is 1234 in a
        comma-decimal file)."""
        if self.rewriter is None or self.rewrites or not raw.values:
            return
        needed = self.rewriter.needs_flag(raw.values)
        if needed is not None:
            raise self.stop(raw.line, needed, needed.column)

    def stop(self, line: int, needed: MissingFlagError, column: str) -> UnusableFileError:
        where = f"line {line}" + (f", column {column}" if column else "")
        return UnusableFileError(
            f"{self.path}: {where}: {needed}",
            hint=f"nothing was loaded; import again with {needed.flag}"
            + (" (or set it under dialect: in the mapping)" if self.mapper else ""),
        )


def import_file(
    workspace: Workspace,
    entity_name: str,
    path: Path,
    *,
    dry_run: bool = False,
    rejects_path: Path | None = None,
    batch_size: int = 50_000,
    on_progress: ProgressCallback | None = None,
    label: str | None = None,
    dialect: Dialect | None = None,
    mapping: ExportMapping | None = None,
    preview: int = 0,
) -> ImportReport:
    """Validate every row of ``path`` and load the valid ones in one transaction.

    Rejected rows go to ``rejects_path`` (default: ``NAME.rejects.EXT`` beside the
    input) in the input's format with their reasons. ``dry_run`` validates and counts
    but writes nothing to the stores. Raises :class:`InputError` when the input cannot
    be used at all (unknown entity, missing file or required column, bad encoding).
    A load leaves an audit row (kind ``import``): who, the file (``label``: its name as
    the user knows it, default ``path``) and the counts.

    ``dialect`` says how the file writes separators, numbers and dates (flags given on
    the command line win over the mapping's ``dialect:``). ``mapping`` turns source
    rows into contract rows; it is checked against the file's header before any row
    is read. ``preview`` > 0 reads only that many rows, writes nothing (no rejects
    file either) and keeps each in ``report.preview``.
    """
    entity = get_entity(entity_name)
    if mapping is not None and mapping.entity != entity.name:
        raise InputError(
            f"{mapping.source}: the mapping is for {mapping.entity}, not {entity.name}",
            hint=f"import it as: keepwell import {mapping.entity} ...",
        )
    dialect = dialect or Dialect()
    if mapping is not None:
        dialect = dialect.over(mapping.dialect)
    source = open_source(path, dialect)
    try:
        mapper: Mapper | None = None
        if mapping is not None:
            if source.columns is not None:
                mapping.check_columns(source.columns)
            mapper = Mapper(mapping, _lookups(mapping, path, dialect))
        else:
            _check_columns(entity, source)
        text_source = source.format in (Format.CSV, Format.XLSX)
        prepare = Prepare(path, entity, dialect, mapper, text_source)
        if preview:
            dry_run = True
        rejects_path = rejects_path or default_rejects_path(path)
        file_kind(rejects_path)
        report = ImportReport(entity.name, path, dry_run=dry_run)
        delimiter = source.delimiter if isinstance(source, CsvSource) else ","
        rejects = RejectsWriter(rejects_path, source.columns, delimiter=delimiter)
        try:
            with _loader(workspace, entity, commit=not dry_run) as loading:
                loading.prepare = prepare
                if preview:
                    batches = _preview(source, loading, report, preview)
                elif (
                    loading.store is not None
                    and mapper is None
                    and not prepare.rewrites
                    and isinstance(source, CsvSource | ParquetSource)
                    and fastpath.supports(source.columns or [])
                ):
                    batches = _events_engine(source, loading, report, rejects, batch_size)
                else:
                    batches = _rows(source, loading, report, rejects, batch_size)
                for _ in batches:
                    if on_progress:
                        on_progress(*source.progress(), report.read)
            if loading.counts is not None:
                report.counts = loading.counts
        finally:
            rejects.close()
        if rejects.count:
            report.rejects_path = rejects_path
        elif rejects_path.exists() and rejects_path.stat().st_size == 0:
            rejects_path.unlink()
        if not dry_run:
            _audit_import(workspace, report, label or str(path))
        return report
    finally:
        source.close()


def _lookups(mapping: ExportMapping, path: Path, dialect: Dialect) -> LookupTables:
    """Each lookup file of ``mapping`` (beside ``path`` unless absolute) as rows by key."""
    tables: LookupTables = {}
    for lookup in mapping.lookups.values():
        file = Path(lookup.file)
        file = file if file.is_absolute() else path.parent / file
        if not file.is_file():
            raise UnusableFileError(
                f"{lookup.where}: lookup {lookup.name!r} needs {file}, which does not exist",
                hint="export that file too and put it beside the imported one",
            )
        source = open_source(file, Dialect(delimiter=None, encoding=dialect.encoding))
        try:
            if source.columns is not None and lookup.key not in source.columns:
                raise UnusableFileError(
                    f"{lookup.where}: {file} has no column {lookup.key!r}",
                    hint=f"its columns: {', '.join(source.columns)}",
                )
            table: dict[str, dict[str, str]] = {}
            for batch in source.batches(10_000):
                for row in batch:
                    key = str(row.values.get(lookup.key) or "").strip()
                    if key:
                        table[key] = {k: "" if v is None else str(v) for k, v in row.values.items()}
            tables[lookup.name] = table
        finally:
            source.close()
    return tables


def _audit_import(workspace: Workspace, report: ImportReport, label: str) -> None:
    counts = report.counts
    audit_alone(
        workspace.engine, action=f"import.{report.entity}", target=label[:500],
        details={"file": label[:500], "read": report.read, "new": counts.new,
                 "updated": counts.updated, "unchanged": counts.unchanged,
                 "rejected": report.rejected},
    )  # fmt: skip


def _check_columns(entity: Entity, source: Source) -> None:
    if source.columns is None:  # JSON Lines: checked row by row
        return
    missing = [c for c in entity.required if c not in source.columns]
    if missing:
        raise UnusableFileError(
            f"{source.path}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} for {entity.name}",
            hint=f"the header has: {', '.join(source.columns)}",
        )


def load_rows(
    workspace: Workspace,
    entity_name: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    dry_run: bool = False,
) -> ImportReport:
    """Validate and load rows given as mappings (an API body, a webhook, a connector).

    The same rules and semantics as :func:`import_file`, in one transaction; the "line"
    of a row is its position in ``rows`` (1 = the first) and every rejected row is in
    ``report.examples``.
    """
    entity = get_entity(entity_name)
    report = ImportReport(entity.name, Path("<rows>"), dry_run=dry_run)
    batch = [RawRow(i, dict(row), dict(row)) for i, row in enumerate(rows, start=1)]
    with _loader(workspace, entity, commit=not dry_run) as loading:
        good = _validate_batch(batch, loading.validator, report, None, keep=len(batch))
        if good.records:
            report.counts.add(loading.load(good))
    if loading.counts is not None:
        report.counts = loading.counts
    return report


@dataclass
class Good:
    """Rows the validator accepted: their records and their lines in the file."""

    records: list[Record] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


def _validate_batch(
    batch: list[RawRow],
    validator: RowValidator,
    report: ImportReport,
    on_reject: Callable[[RawRow, str], None] | None,
    *,
    keep: int = SHOWN_REJECTS,
    prepare: Prepare | None = None,
) -> Good:
    good = Good()
    for source_row in batch:
        report.read += 1
        row = source_row
        if prepare is not None:
            prepared = prepare.row(source_row)
            if prepared is None:
                report.filtered += 1
                continue
            row = prepared
        if row.problem is not None:
            problems: list[Problem] = [Problem("", row.problem)]
        else:
            record, problems = validator.validate(row.values, row.line)
            if record is not None:
                good.records.append(record)
                good.lines.append(row.line)
                continue
            if prepare is not None:
                prepare.check_rejected(row)
        rejected = RejectedRow(row.line, tuple(problems))
        report.rejected += 1
        if len(report.examples) < keep:
            report.examples.append(rejected)
        if on_reject is not None:
            on_reject(row, f"line {row.line}: {rejected.reason}")
    return good


def _rows(
    source: Source,
    loading: Loading,
    report: ImportReport,
    rejects: RejectsWriter,
    batch_size: int,
) -> Iterator[None]:
    """Row by row: every row through the Python validator."""
    for batch in source.batches(batch_size):
        good = _validate_batch(
            batch, loading.validator, report, rejects.write, prepare=loading.prepare
        )
        if good.records:
            report.counts.add(loading.load(good))
        yield


def _preview(source: Source, loading: Loading, report: ImportReport, limit: int) -> Iterator[None]:
    """The first ``limit`` rows as the mapping makes them, each with its fate."""
    prepare = loading.prepare
    for batch in source.batches(min(limit, 1000)):
        for raw in batch[: limit - report.read]:
            report.read += 1
            row = prepare.row(raw) if prepare is not None else raw
            if row is None:
                report.filtered += 1
                report.preview.append(PreviewRow(raw.line, {}, None, filtered=True))
                continue
            reason = row.problem
            if reason is None:
                record, problems = loading.validator.validate(row.values, row.line)
                if record is None:
                    if prepare is not None:
                        prepare.check_rejected(row)
                    reason = "; ".join(str(p) for p in problems)
            if reason is None:
                report.counts.new += 1
            else:
                report.rejected += 1
            report.preview.append(PreviewRow(raw.line, dict(row.values), reason))
        yield
        if report.read >= limit:
            return


def _events_engine(
    source: CsvSource | ParquetSource,
    loading: Loading,
    report: ImportReport,
    rejects: RejectsWriter,
    batch_size: int,
) -> Iterator[None]:
    """Events checked a batch at a time by the engine, straight into the stage: only
    rows it does not accept reach Python, where the row-by-row validator decides them
    and words the reason."""
    store = loading.store
    assert store is not None
    # the next batch is parsed while this one is checked and staged; closed (its thread
    # stopped) before the source is, even when staging fails
    batches = read_ahead(source.engine_batches(batch_size * FAST_BATCH_FACTOR))
    with (
        closing(batches),
        store.registered_values("_kw_accounts", "account_id", sorted(loading.accounts)),
    ):
        for batch in batches:
            if isinstance(batch, list):  # rows the engine could not read exactly as csv does
                good = _validate_batch(
                    batch, loading.validator, report, rejects.write, prepare=loading.prepare
                )
            else:
                schema = batch.table.schema.append(pa.field("_kw_line", pa.int64()))
                check = fastpath.events_sql(schema, raw="_kw_batch", nul_free=batch.nul_free)
                refused = store.append_events(batch.table, batch.lines, check=check).refused
                report.read += batch.table.num_rows - len(refused)
                rows = _rows_at(source, batch, list(refused))
                good = _validate_batch(
                    rows, loading.validator, report, rejects.write, prepare=loading.prepare
                )
            if good.records:
                loading.load(good)
            yield


def _rows_at(
    source: CsvSource | ParquetSource, batch: EngineBatch, lines: list[int]
) -> list[RawRow]:
    """The raw rows of an engine batch at ``lines``, as the row path reads them."""
    if not lines:
        return []
    positions = np.searchsorted(batch.lines, lines).tolist()
    picked = batch.table.take(positions).to_pylist()
    if isinstance(source, ParquetSource):
        return [RawRow(line, v, v) for line, v in zip(lines, picked, strict=True)]
    columns = source.columns or []
    return [RawRow(line, v, [v[c] for c in columns]) for line, v in zip(lines, picked, strict=True)]


Loader = Callable[[Good], Counts]


@dataclass
class Loading:
    """What loading one file needs: the loader of validated records, the validator,
    the known accounts and, for events, the analytics store (inside its transaction)."""

    load: Loader
    validator: RowValidator
    accounts: set[str]
    store: AnalyticsStore | None = None
    #: the counts of a staged (events) import, known when its loader closes
    counts: Counts | None = None
    #: the mapping and dialect applied to each row before validation
    prepare: Prepare | None = None


@contextmanager
def _loader(workspace: Workspace, entity: Entity, *, commit: bool) -> Iterator[Loading]:
    """A loader of validated batches inside one transaction, committed at the end (or
    rolled back for a dry run or on any error). Events are staged batch by batch and
    published together at the end (:meth:`AnalyticsStore.staged`)."""
    session = session_factory(workspace.engine)()
    try:
        accounts = known_accounts(session) if entity.references_account else set()
        validator = RowValidator(
            entity, accounts.__contains__ if entity.references_account else None
        )
        if entity.store is Store.ANALYTICS:
            store = workspace.analytics()
            store.limit_memory(IMPORT_MEMORY_LIMIT)
            with store.staged(commit=commit) as staging:
                loading = Loading(
                    lambda g: append_events(store, g.records, g.lines), validator, accounts, store
                )
                yield loading
            # counted once the file is deduplicated, as a whole, when it is published
            assert staging.result is not None
            loading.counts = Counts(
                new=staging.result.inserted, unchanged=staging.result.duplicates
            )
        else:
            yield Loading(lambda g: upsert(session, entity, g.records), validator, accounts)
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


_ARROW_TYPES: dict[Kind, pa.DataType] = {
    Kind.INTEGER: pa.int64(),
    Kind.DECIMAL: pa.decimal128(18, 6),
    Kind.DATE: pa.date32(),
    Kind.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    Kind.BOOLEAN: pa.bool_(),
    Kind.TAGS: pa.list_(pa.string()),
    Kind.JSON_OBJECT: pa.string(),
}


def latest(workspace: Workspace, entity_name: str, column: str) -> Any:
    """The largest value of ``column`` among the rows of an operational entity (None
    when it has none): one aggregate in the database, not the table read whole."""
    entity = get_entity(entity_name)
    if entity.store is not Store.OPERATIONAL or column not in {c.name for c in entity.columns}:
        raise InputError(f"{entity.name} have no operational column {column!r}")
    table = MODELS[entity.name].__table__
    with workspace.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.max(table.c[column]))).scalar()


def read_table(
    workspace: Workspace,
    entity_name: str,
    *,
    account_id: str | None = None,
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """All rows of an operational entity as an Arrow table (with ``account_id``, only
    that account's rows, read by the database's index rather than the whole table;
    with ``columns``, only those contract columns and no custom attributes: a reader
    of a few columns of a large table, such as the activities' kind and time).

    Contract columns come first with their types (money ``decimal128(18, 6)``, dates
    ``date32``, timestamps ``timestamp[us, UTC]``, tags ``list<string>``); then one
    string column per custom attribute, named by the attribute (``attr_NAME`` where it
    would collide with a contract column).
    """
    entity = get_entity(entity_name)
    if entity.store is not Store.OPERATIONAL:
        raise InputError(
            f"{entity.name} live in the analytics store",
            hint="use workspace.analytics().events() or .rollup()",
        )
    read = _Read(entity, entity.columns)
    if columns is not None:
        wanted = set(columns)
        unknown = sorted(wanted - {c.name for c in entity.columns})
        if unknown:
            raise InputError(f"{entity.name} have no column {', '.join(unknown)}")
        read = _Read(entity, [c for c in entity.columns if c.name in wanted], False)
    if workspace.engine.dialect.name == "sqlite":
        try:
            return _read_sqlite_table(workspace, read, account_id)
        except (pa.ArrowException, TypeError, ValueError, ArithmeticError):
            pass  # a value stored in another shape: read through SQLAlchemy's types
    return _read_table(workspace, read, account_id)


@dataclass(frozen=True)
class _Read:
    """What :func:`read_table` reads of ``entity``: the contract columns ``chosen``,
    and the custom attributes when ``attributes``."""

    entity: Entity
    chosen: Sequence[Column]
    attributes: bool = True

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.chosen] + (["attributes"] if self.attributes else [])


def _read_table(workspace: Workspace, read: _Read, account_id: str | None) -> pa.Table:
    """:func:`read_table` through SQLAlchemy's column types (any database)."""
    entity, chosen, names = read.entity, read.chosen, read.names
    table = MODELS[entity.name].__table__
    query = sa.select(*(table.c[n] for n in names))
    if account_id is not None:
        query = query.where(table.c.account_id == account_id)
    with workspace.engine.connect() as conn:
        rows = conn.execute(query).all()
    values = list(zip(*rows, strict=True)) if rows else [() for _ in range(len(names))]
    columns: dict[str, pa.Array] = {}
    for index, column in enumerate(chosen):
        columns[column.name] = pa.array(values[index], type=_arrow_type(entity, column))
    return _with_attributes(columns, values[-1]) if read.attributes else pa.table(columns)


def _arrow_type(entity: Entity, column: Column) -> pa.DataType:
    if entity.name == "fx_rates" and column.name == "rate":
        return pa.decimal128(18, 8)
    return _ARROW_TYPES.get(column.kind, pa.string())


def _read_sqlite_table(workspace: Workspace, read: _Read, account_id: str | None) -> pa.Table:
    """:func:`read_table` on SQLite from the values as stored, converted by column in
    Arrow (dates, timestamps, booleans) rather than by SQLAlchemy value by value: the
    same table, several times faster on the million rows of a large book (the health
    measures read every entity on each scoring). Money is converted as SQLAlchemy
    converts it (``Decimal`` of the value formatted to the column's scale); JSON is
    decoded only where it is not empty."""
    entity, chosen, names = read.entity, read.chosen, read.names
    table = MODELS[entity.name].__table__
    quoted = ", ".join(f'"{name}"' for name in names)
    sql = f'SELECT {quoted} FROM "{table.name}"'
    params: tuple[str, ...] = ()
    if account_id is not None:
        sql, params = sql + " WHERE account_id = ?", (account_id,)
    with workspace.engine.connect() as conn:  # the driver's tuples, without result rows
        rows = conn.connection.driver_connection.execute(sql, params).fetchall()  # type: ignore[union-attr]
    values = list(zip(*rows, strict=True)) if rows else [() for _ in range(len(names))]
    columns: dict[str, pa.Array] = {}
    for index, column in enumerate(chosen):
        arrow_type = _arrow_type(entity, column)
        raw: Sequence[Any] = values[index]
        if column.kind is Kind.DECIMAL:
            scale = table.c[column.name].type._effective_decimal_return_scale
            text = f"%.{scale}f"  # a whole number (most money) is exact as it is
            raw = [v if v is None or type(v) is int else Decimal(text % v) for v in raw]
            columns[column.name] = pa.array(raw, type=arrow_type)
        elif column.kind is Kind.DATE:
            columns[column.name] = pa.array(raw, pa.string()).cast(pa.date32())
        elif column.kind is Kind.TIMESTAMP:  # stored naive UTC
            columns[column.name] = (
                pa.array(raw, pa.string()).cast(pa.timestamp("us")).cast(arrow_type)
            )
        elif column.kind is Kind.BOOLEAN:
            columns[column.name] = pa.array(raw, pa.int64()).cast(pa.bool_())
        elif column.kind is Kind.TAGS:
            columns[column.name] = _json_array(raw, arrow_type)
        else:
            columns[column.name] = pa.array(raw, type=arrow_type)
    return _with_stored_attributes(columns, values[-1]) if read.attributes else pa.table(columns)


#: Stored JSON texts decoded without the decoder (most rows hold one of them).
_EMPTY_JSON: dict[str | None, Any] = {None: None, "null": None, "{}": {}, "[]": []}


def _json_column(texts: Sequence[str | None]) -> list[Any]:
    """A JSON column's stored texts decoded; the empty ones (``{}``, ``[]``, ``null``)
    share one decoded value each (read-only: the readers copy what they keep)."""
    empty = _EMPTY_JSON
    return [empty[t] if t in empty or t is None else json.loads(t) for t in texts]


def _distinct_json(texts: Sequence[str | None]) -> tuple[list[Any], pa.Array]:
    """The distinct stored texts of a JSON column decoded once each, and per row the
    index of its text (null where the text is): most rows repeat a few texts."""
    encoded = pa.array(texts, pa.string()).dictionary_encode()
    return _json_column(encoded.dictionary.to_pylist()), encoded.indices


def _json_array(texts: Sequence[str | None], arrow_type: pa.DataType) -> pa.Array:
    """``pa.array(_json_column(texts), arrow_type)``, each distinct text decoded once."""
    decoded, indices = _distinct_json(texts)
    return pa.array(decoded, type=arrow_type).take(indices)


def _with_stored_attributes(columns: dict[str, pa.Array], texts: Sequence[str | None]) -> pa.Table:
    """:func:`_with_attributes` of the stored attribute texts, each distinct text decoded
    and converted once, then spread over the rows by Arrow."""
    decoded, indices = _distinct_json(texts)
    for name, values in _attribute_columns(columns, decoded).items():
        columns[name] = values.take(indices)
    return pa.table(columns)


def _with_attributes(
    columns: dict[str, pa.Array], attributes: Sequence[dict[str, Any] | None]
) -> pa.Table:
    columns.update(_attribute_columns(columns, attributes))
    return pa.table(columns)


def _attribute_columns(
    columns: dict[str, pa.Array], attributes: Sequence[dict[str, Any] | None]
) -> dict[str, pa.Array]:
    """A string column per custom attribute (by name, ``attr_NAME`` where it would
    collide with ``columns``): the value as text, null where a row has none."""
    result: dict[str, pa.Array] = {}
    for name in sorted({k for a in attributes for k in (a or {})}):
        taken = name in columns or name in result or name == REJECT_REASON_COLUMN
        target = f"attr_{name}" if taken else name
        result[target] = pa.array(
            [None if (v := (a or {}).get(name)) is None else str(v) for a in attributes],
            pa.string(),
        )
    return result


def refresh_event_rollup(workspace: Workspace, since: date | None = None) -> RefreshResult | None:
    """Bring the rollup up to date with the warehouse event source that ``keepwell.yaml``
    declares (``events:``), read in place on the analytics engine; None when none is
    declared.

    Recomputes the days from ``since``, else from the last day the rollup holds, so a
    second run changes nothing (:func:`keepwell.core.event_sources.refresh_rollup`). A
    DuckDB store that already holds imported or tracked events is refused: its rollup
    has one owner, the source or the appends, never both.
    """
    config = workspace.root / CONFIG_FILE
    source = load_event_source(config) if config.exists() else None
    if source is None:
        return None
    store = workspace.analytics()
    if engine_kind(store.con) is EngineKind.DUCKDB:
        held = store.events().count().to_pyarrow().as_py()
        if held:
            raise InputError(
                f"{config}: an events source is declared, but the DuckDB store already holds "
                f"{held:,} imported or tracked events",
                hint="take events from one place: the declared source or imports, not both",
            )
    return refresh_rollup(store.con, source, ROLLUP, since=since)


#: Where a workspace keeps its saved mappings (``NAME.yaml``).
MAPPINGS_DIR = "mappings"
_PRESETS = "keepwell.contract"


def preset_names() -> list[str]:
    """The mappings shipped with Keepwell for common exports (``stripe-subscriptions``...)."""
    folder = resources.files(_PRESETS) / "presets"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def preset_text(name: str) -> str:
    return (resources.files(_PRESETS) / "presets" / f"{name}.yaml").read_text(encoding="utf-8")


def saved_mappings(workspace: Workspace) -> list[str]:
    folder = workspace.root / MAPPINGS_DIR
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def find_mapping(workspace: Workspace, name: str) -> ExportMapping:
    """The mapping ``name``: a YAML file's path, a mapping saved in the workspace, or a
    preset. :class:`ConfigurationError` (file, line) when it has a mistake."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise InputError(f"{name}: no such mapping file")
        return load_mapping(path.read_text(encoding="utf-8"), str(path))
    saved = workspace.root / MAPPINGS_DIR / f"{name}.yaml"
    if saved.is_file():
        return load_mapping(saved.read_text(encoding="utf-8"), str(saved))
    if name in preset_names():
        return load_mapping(preset_text(name), f"preset {name}")
    known = [*saved_mappings(workspace), *preset_names()]
    raise InputError(f"no mapping named {name!r}", hint=f"known: {', '.join(known)}")


def save_mapping(workspace: Workspace, name: str, text: str) -> Path:
    """Check ``text`` as a mapping and keep it in the workspace as ``name``."""
    if not name.replace("-", "_").isidentifier():
        raise InputError(f"{name!r}: a mapping name is letters, digits, - and _")
    load_mapping(text, name)
    folder = workspace.root / MAPPINGS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.yaml"
    target.write_text(text, encoding="utf-8")
    return target


def suggest_for_file(
    path: Path, dialect: Dialect | None = None, entity: str | None = None
) -> Suggestion:
    """A mapping proposed from ``path``'s header (recognising the presets)."""
    if entity is not None:
        entity = get_entity(entity).name
    source = open_source(path, dialect)
    try:
        header = list(source.columns or [])
        if not header:  # JSON Lines: the first row's keys
            first = next(iter(source.batches(1)), [])
            header = list(first[0].values) if first else []
    finally:
        source.close()
    presets = {name: load_mapping(preset_text(name), name) for name in preset_names()}
    suggestion = suggest(header, presets, entity)
    if suggestion.preset is not None:
        return replace(suggestion, text=preset_text(suggestion.preset))
    return suggestion
