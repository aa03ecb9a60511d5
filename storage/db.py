"""Opening the store: the engine, short transactions, and bringing the schema up to date."""

from __future__ import annotations

import ast
import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, event, inspect, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from storage import board_changes, sqlite_driver
from storage.wakeup import announce_board_change, announce_queued

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# SQLite: a WAL checkpoint after this many transactions of this process (its automatic one came
# once the WAL held 1000 pages; a turn writes a few).
CHECKPOINT_COMMITS = 100
log = logging.getLogger(__name__)


_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}


def async_driver_url(url: str) -> str:
    """`sqlite:///…` and `postgresql://…` as operators write them, with the async driver the store uses."""
    scheme, separator, rest = url.partition("://")
    if separator and scheme in _ASYNC_DRIVERS:
        return f"{_ASYNC_DRIVERS[scheme]}://{rest}"
    return url


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _configure_sqlite(engine: AsyncEngine) -> None:
    # SQLite allows one writer. Taking the write lock at BEGIN (rather than at the first write)
    # makes a competing transaction wait on busy_timeout instead of failing with SQLITE_BUSY
    # when it tries to upgrade a stale read snapshot.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        # The driver commits on the event loop's thread (storage/sqlite_driver.py), and the one
        # part of a commit that syncs to disk is a checkpoint: the Store makes those itself, on
        # aiosqlite's thread (`Store.checkpoint`), instead of the commit that filled the WAL.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def ensure_sqlite_folder(url: str) -> None:
    """SQLite creates its file but not the folder it goes in."""
    database = make_url(url).database
    if is_sqlite(url) and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def create_engine(url: str) -> AsyncEngine:
    if is_sqlite(url):
        ensure_sqlite_folder(url)
        # hide_parameters: a failed statement's error (and so a logged traceback) never quotes the
        # values, which may be a person's name or what they wrote.
        engine = create_async_engine(url, pool_size=5, max_overflow=10, module=sqlite_driver.dbapi(), hide_parameters=True)
        _configure_sqlite(engine)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, hide_parameters=True)


class Store:
    """The case store of one process: an engine and short transactions on it.

    Listeners registered with `on_outbox_commit` are called after a transaction that queued
    outbound messages commits, so the sender can start at once instead of waiting for its poll.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._outbox_listeners: list[Callable[[], None]] = []
        self._board_listeners: list[Callable[[], None]] = []
        # One process writes to SQLite through one queue: waiting here costs nothing, while
        # waiting inside SQLite's busy handler sleeps in coarse steps.
        self._write_lock = asyncio.Lock() if is_sqlite(url) else None
        # On PostgreSQL the senders may be other processes: they hear of queued messages by NOTIFY.
        self._announces_queued = not is_sqlite(url)
        self._commits = 0
        self._checkpointing: asyncio.Task[None] | None = None

    def on_outbox_commit(self, listener: Callable[[], None]) -> None:
        self._outbox_listeners.append(listener)

    def on_board_change(self, listener: Callable[[], None]) -> None:
        """Call `listener` after a transaction that changed what a board shows commits (issue 17)."""
        self._board_listeners.append(listener)

    def forget_board_listener(self, listener: Callable[[], None]) -> None:
        if listener in self._board_listeners:
            self._board_listeners.remove(listener)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed when the block ends, rolled back if it raises."""
        async with self._sessions() as session:
            # The lock is held from BEGIN to COMMIT only: closing the session (which returns its
            # connection to the pool) waits a turn of the event loop, and nobody need wait for that.
            if self._write_lock is not None:
                await self._write_lock.acquire()
            try:
                async with session.begin():
                    yield session
                    if self._announces_queued and session.info.get("outbox_queued"):
                        await announce_queued(session)
                    if self._announces_queued:
                        await session.flush()  # what is left to write shows now whether a board must hear of it
                        if board_changes.changed(session):
                            await announce_board_change(session)
                queued = session.info.pop("outbox_queued", False)
                board_changed = board_changes.changed(session, forget=True)
            finally:
                if self._write_lock is not None:
                    self._write_lock.release()
        if self._write_lock is not None:
            self._commits += 1
            if self._commits % CHECKPOINT_COMMITS == 0 and (self._checkpointing is None or self._checkpointing.done()):
                self._checkpointing = asyncio.get_running_loop().create_task(self.checkpoint())
        if queued:
            for listener in self._outbox_listeners:
                listener()
        if board_changed:
            for listener in list(self._board_listeners):
                listener()

    async def checkpoint(self) -> None:
        """SQLite: copy what the WAL holds into the database file and sync it, on aiosqlite's thread.
        What SQLite's automatic checkpoint did in the commit that filled the WAL (turned off in
        `_configure_sqlite`), and like it with the write lock held: with no writer appending
        meanwhile, the checkpoint catches up, and the next transaction starts the WAL over from its
        beginning instead of growing it. Other transactions wait for it (the event loop does not)."""
        try:
            async with self.engine.connect() as connection:
                driver = (await connection.get_raw_connection()).driver_connection
                assert driver is not None
                if self._write_lock is not None:
                    await self._write_lock.acquire()
                try:
                    cursor = await driver.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    await cursor.close()
                finally:
                    if self._write_lock is not None:
                        self._write_lock.release()
        except Exception:  # a checkpoint that failed is made by the next one; nothing is lost
            log.warning("WAL checkpoint failed", exc_info=True)

    async def ping(self) -> None:
        """One round trip to the database (raises whatever the driver raises when it is not there)."""
        async with self.transaction() as session:
            await session.execute(text("SELECT 1"))

    async def close(self) -> None:
        if self._checkpointing is not None:
            await self._checkpointing
        await self.engine.dispose()


class StoreFromNewerCode(Exception):
    """The store was brought to a migration this code does not have: a newer Gridline upgraded it."""

    def __init__(self, stored: str, head: str) -> None:
        super().__init__(f"the store is at migration {stored}, which this Gridline does not know (it knows up to "
                         f"{head}): a newer version upgraded it; run that version, or restore a backup")


def head_revision() -> str | None:
    """The newest migration's revision, read from the migration files once per process without
    loading Alembic; None when the files are not a plain line of revisions this can read (a merge,
    a file it cannot parse), and then only Alembic can say."""
    line = _revision_line()
    return line[1] if line is not None else None


@functools.cache
def _revision_line() -> tuple[frozenset[str], str] | None:
    """Every migration's revision and the newest one (see `head_revision`)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        found: dict[str, object] = {}
        try:
            module = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            return None
        for statement in module.body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target, value = statement.targets[0], statement.value
            elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                target, value = statement.target, statement.value
            else:
                continue
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                try:
                    found[target.id] = ast.literal_eval(value)
                except ValueError:
                    return None
        revision, parent = found.get("revision"), found.get("down_revision", ...)
        if not isinstance(revision, str) or not (parent is None or isinstance(parent, str)):
            return None
        revisions.add(revision)
        if parent is not None:
            parents.add(parent)
    heads = revisions - parents
    return (frozenset(revisions), heads.pop()) if len(heads) == 1 and parents <= revisions else None


def _read_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return versions[0] if len(versions) == 1 else None


async def stored_revision(url: str) -> str | None:
    """The migration the store at `url` was last brought to (None: none yet, or not a Gridline store)."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_read_revision)
    finally:
        await engine.dispose()


def upgrade_schema(url: str) -> None:
    """Bring the schema at `url` up to the newest migration (blocking; run before the loop starts).

    A store already at the newest migration is left as it is without loading Alembic: one query,
    so every start and every `gridline` command on a current store is quick. Otherwise Alembic
    migrates it (on PostgreSQL under an advisory lock, so processes starting together migrate once:
    storage/migrations/env.py)."""
    ensure_sqlite_folder(url)
    line = _revision_line()
    if line is not None:
        known, head = line
        stored = asyncio.run(stored_revision(url))
        if stored == head:
            return
        if stored is not None and stored not in known:  # Alembic would end in a traceback
            raise StoreFromNewerCode(stored, head)
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


async def upgrade_schema_async(url: str) -> None:
    await asyncio.to_thread(upgrade_schema, url)


def insert_for(session: AsyncSession) -> Callable[..., Any]:
    """The INSERT of the session's database, which has ON CONFLICT (SQLite's and PostgreSQL's differ)."""
    return pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert


async def changed_rows(session: AsyncSession, statement: Executable) -> int:
    """Run an INSERT, UPDATE or DELETE and say how many rows it wrote (0 when the driver cannot tell)."""
    result = cast(CursorResult[Any], await session.execute(statement))  # what a write returns
    return result.rowcount or 0
