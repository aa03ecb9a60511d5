"""Moving a whole store to another database (SQLite to PostgreSQL, or back), checked by counts.

The source is read in one snapshot, so a bot still writing to it cannot make the copy
inconsistent; what it writes after the copy started is simply not in the copy. The target is
written in one transaction, so a failed copy leaves it empty rather than half-filled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, event, func, select, text, update
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from storage.db import async_driver_url, is_sqlite, upgrade_schema
from storage.models import Base

BATCH_ROWS = 5000


class CopyRefused(Exception):
    """The copy cannot start (or did not check out); each line says why."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass
class CopyReport:
    source_counts: dict[str, int] = field(default_factory=dict)
    target_counts: dict[str, int] = field(default_factory=dict)

    @property
    def mismatches(self) -> list[str]:
        return [name for name, count in self.source_counts.items() if self.target_counts.get(name) != count]

    @property
    def rows(self) -> int:
        return sum(self.source_counts.values())


def _snapshot_engine(url: str) -> AsyncEngine:
    """An engine whose transactions read one consistent snapshot and take no write lock."""
    if is_sqlite(url):
        engine = create_async_engine(url)

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: object) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Connection) -> None:
            # A deferred BEGIN: WAL gives this reader a snapshot at its first read, and the
            # running bot keeps writing meanwhile.
            connection.exec_driver_sql("BEGIN")

        return engine
    return create_async_engine(url, isolation_level="REPEATABLE READ")


async def _schema_revision(connection: AsyncConnection) -> str | None:
    try:
        return (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one_or_none()
    except Exception:  # noqa: BLE001 - no alembic_version table: not a Gridline store
        return None


async def _row_counts(connection: AsyncConnection) -> dict[str, int]:
    return {table.name: (await connection.execute(select(func.count()).select_from(table))).scalar_one()
            for table in Base.metadata.sorted_tables}


def _self_references(table: Table) -> list[str]:
    """Columns pointing at the same table: filled in after every row exists, so order does not matter."""
    return [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]


async def write_rows(target: AsyncConnection, table: Table, rows: list[dict[str, object]]) -> None:
    """Insert the rows; on PostgreSQL with COPY, about ten times faster than INSERTs.

    COPY bypasses SQLAlchemy's conversions, so each value goes through its column type's own
    bind processor first (instants to UTC, JSON to text), as an INSERT would do it."""
    dialect = target.dialect
    if dialect.name != "postgresql":
        await target.execute(table.insert(), rows)
        return
    names = [column.name for column in table.columns]
    processors = [column.type.dialect_impl(dialect).bind_processor(dialect) for column in table.columns]
    records = [tuple(value if convert is None or value is None else convert(value)
                     for value, convert in zip((row[name] for name in names), processors, strict=True))
               for row in rows]
    raw = await target.get_raw_connection()
    driver = raw.driver_connection
    if driver is None:
        raise CopyRefused(f"{table.name}: the PostgreSQL connection closed before the copy")
    await driver.copy_records_to_table(table.name, records=records, columns=names)


async def _copy_table(source: AsyncConnection, target: AsyncConnection, table: Table,
                      progress: Callable[[str, int], None]) -> None:
    late_columns = _self_references(table)
    pending_links: list[dict[str, object]] = []
    key = list(table.primary_key.columns)
    done = 0
    result = await source.stream(select(table).order_by(*key))
    async for batch in result.partitions(BATCH_ROWS):
        rows = [dict(row._mapping) for row in batch]
        for row in rows:
            if any(row[name] is not None for name in late_columns):
                pending_links.append({"_key_" + c.name: row[c.name] for c in key}
                                     | {"_link_" + name: row[name] for name in late_columns})
                for name in late_columns:
                    row[name] = None
        await write_rows(target, table, rows)
        done += len(rows)
        progress(table.name, done)
    for start in range(0, len(pending_links), BATCH_ROWS):
        statement = (update(table)
                     .where(*(c == bindparam("_key_" + c.name) for c in key))
                     .values({name: bindparam("_link_" + name) for name in late_columns}))
        await target.execute(statement, pending_links[start:start + BATCH_ROWS])


async def _advance_sequences(target: AsyncConnection) -> None:
    """Rows came with their ids, so PostgreSQL's id sequences must be moved past them."""
    for table in Base.metadata.sorted_tables:
        column = table.c.get("id")
        if column is None or not column.primary_key:
            continue
        await target.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"))


async def copy_store(source_url: str, target_url: str,
                     progress: Callable[[str, int], None] = lambda table, rows: None) -> CopyReport:
    """Copy every row of the store at `source_url` into the empty store at `target_url`.

    Raises CopyRefused when the source is not an up-to-date Gridline store, when the target
    already holds data, or when the counts do not match afterwards.
    """
    source_url, target_url = async_driver_url(source_url), async_driver_url(target_url)
    if source_url == target_url:
        raise CopyRefused("--from and --to are the same store")
    _refuse_missing_sqlite_file(source_url)
    source = _snapshot_engine(source_url)
    await _upgrade_target(target_url)
    target = create_async_engine(target_url)
    report = CopyReport()
    try:
        async with source.connect() as reading, reading.begin():
            await _check_revisions(reading, target)
            report.source_counts = await _row_counts(reading)
            async with target.begin() as writing:
                await _refuse_non_empty(writing)
                for table in Base.metadata.sorted_tables:
                    await _copy_table(reading, writing, table, progress)
                if not is_sqlite(target_url):
                    await _advance_sequences(writing)
        async with target.connect() as checking:
            report.target_counts = await _row_counts(checking)
    finally:
        await source.dispose()
        await target.dispose()
    if report.mismatches:
        raise CopyRefused(*(f"{name}: {report.source_counts[name]} rows in the source, "
                            f"{report.target_counts.get(name)} in the target" for name in report.mismatches))
    return report


def _refuse_missing_sqlite_file(url: str) -> None:
    """SQLite would quietly create an empty file where a mistyped path points."""
    database = make_url(url).database
    if is_sqlite(url) and database and database != ":memory:" and not Path(database).is_file():
        raise CopyRefused(f"there is no SQLite store at {database}")


async def _upgrade_target(target_url: str) -> None:
    await asyncio.to_thread(upgrade_schema, target_url)


async def _check_revisions(reading: AsyncConnection, target: AsyncEngine) -> None:
    source_revision = await _schema_revision(reading)
    async with target.connect() as connection:
        target_revision = await _schema_revision(connection)
    if source_revision is None:
        raise CopyRefused("the source is not a Gridline store (it has no schema version)")
    if source_revision != target_revision:
        raise CopyRefused(f"the source's schema is at {source_revision}, this Gridline's at {target_revision}: "
                          "run `gridline db upgrade` on the source first (with GRIDLINE_DB_URL set to it)")


async def _refuse_non_empty(writing: AsyncConnection) -> None:
    held = {name: count for name, count in (await _row_counts(writing)).items() if count}
    if held:
        listed = ", ".join(f"{count} {name}" for name, count in sorted(held.items()))
        raise CopyRefused(f"the target already holds data ({listed}): copy into a new, empty database")
