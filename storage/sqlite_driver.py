"""SQLite through aiosqlite, with a write transaction run where the step runs.

SQLAlchemy's aiosqlite adapter hands every call to aiosqlite's thread and waits for the event loop
to bring the answer back: up to four trips per statement (create a cursor, execute, fetch, close),
one for BEGIN, one for COMMIT. The Store holds SQLite's one write lock (`Store.transaction`) from
BEGIN to COMMIT, and on a busy loop each trip waits behind every other update's work: in
bench/intake.py a report spent most of its time queueing for that lock, and even one trip inside
it (the COMMIT) halved the reports per minute.

Here a transaction runs on the calling thread, without trips, whenever nothing in it can wait:
- BEGIN is tried at once without waiting (busy_timeout 0). Another process holding the write lock
  makes it fail at once; it is then made on aiosqlite's thread, waiting `busy_timeout` as before.
- Once BEGIN IMMEDIATE holds the write lock, no statement waits on anyone (WAL: readers never
  block, and no other writer can be there), and a turn's indexed statements take microseconds.
- COMMIT writes the transaction to the WAL and syncs nothing (synchronous=NORMAL). The only part of
  a commit that syncs, the checkpoint into the database file, is not left to the commit: the
  Store's connections set wal_autocheckpoint=0 and the Store checkpoints every 100 transactions on
  aiosqlite's thread, holding the write lock as the commit did (`storage/db.py`). This driver
  needs that: with automatic checkpoints on, a COMMIT here could sync on the event loop.
- ROLLBACK writes nothing in WAL mode.
Anything else outside a transaction (the PRAGMAs when a connection opens, a checkpoint) makes one
trip to aiosqlite's thread. The statements of a transaction, and what is durable when, do not
change.

Pass `dbapi()` as `module=` to `create_async_engine` for a `sqlite+aiosqlite` URL. It leans on
SQLAlchemy's adapter classes and on aiosqlite's `_execute` (run a function on its thread), as
SQLAlchemy's own adapter does; both versions are pinned in pyproject.toml.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)

# A statement's outcome as the cursor reports it: description, rows, lastrowid, rowcount.
Outcome = tuple[Any, list[Any], int | None, int]
Run = Callable[[sqlite3.Connection, str, Any], Outcome]


def _execute(connection: sqlite3.Connection, operation: str, parameters: Any) -> Outcome:
    """Execute, fetch every row, close the cursor."""
    cursor = connection.cursor()
    try:
        cursor.execute(operation, parameters)
        if cursor.description:
            return cursor.description, cursor.fetchall(), -1, -1
        return None, [], cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


def _execute_many(connection: sqlite3.Connection, operation: str, parameters: Sequence[Any]) -> Outcome:
    cursor = connection.cursor()
    try:
        cursor.executemany(operation, parameters)
        return None, [], cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


def _is_begin(operation: str) -> bool:
    return operation.lstrip()[:5].upper() == "BEGIN"


def _begin_at_once(connection: sqlite3.Connection, operation: str) -> Outcome | None:
    """BEGIN without waiting for another process's write lock; None when it would have to wait."""
    waits = int(connection.execute("PRAGMA busy_timeout").fetchone()[0])
    connection.execute("PRAGMA busy_timeout=0")
    try:
        return _execute(connection, operation, ())
    except sqlite3.OperationalError as error:
        if getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY:  # also its extended codes
            return None
        raise
    finally:
        connection.execute(f"PRAGMA busy_timeout={waits}")


def _on_thread(connection: aiosqlite.Connection) -> Callable[..., Awaitable[Any]]:
    return cast(Callable[..., Awaitable[Any]], connection._execute)  # aiosqlite leaves it untyped


class InlineCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's (buffered) aiosqlite cursor: inside a transaction (and a BEGIN that need not
    wait) a statement runs at once; anything else makes one trip to aiosqlite's thread."""

    __slots__ = ()

    def _run(self, function: Run, operation: str, parameters: Any) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]  # the adapter types it as any asyncio DBAPI
        try:
            database = connection._conn
            outcome: Outcome | None = None
            if database.in_transaction:
                outcome = function(database, operation, parameters)
            elif _is_begin(operation) and not parameters:
                outcome = _begin_at_once(database, operation)
            if outcome is None:
                outcome = self.await_(_on_thread(connection)(function, database, operation, parameters))
        except Exception as error:  # noqa: BLE001 - mapped as SQLAlchemy's adapter maps it
            self._adapt_connection._handle_exception(error)
        description, rows, lastrowid, rowcount = outcome
        self.description = description
        self._rows = deque(rows)
        self.lastrowid, self.rowcount = lastrowid, rowcount  # type: ignore[assignment]  # sqlite3 says None before any INSERT, as SQLAlchemy passes on

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._run(_execute, operation, () if parameters is None else parameters)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        self._run(_execute_many, operation, seq_of_parameters)


class InlineConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    def _database(self) -> sqlite3.Connection:
        return cast(aiosqlite.Connection, self._connection)._conn

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        return super().cursor(server_side) if server_side else InlineCursor(self)

    def commit(self) -> None:
        """At once: the transaction goes to the WAL, nothing is synced (see the module's docstring)."""
        try:
            self._database().commit()
        except Exception as error:  # noqa: BLE001 - mapped as SQLAlchemy's adapter maps it
            self._handle_exception(error)

    def rollback(self) -> None:
        """At once: undoing a transaction in WAL mode writes nothing (and after a COMMIT, as the pool
        does when a connection comes back, it does nothing)."""
        try:
            self._database().rollback()
        except Exception as error:  # noqa: BLE001 - mapped as SQLAlchemy's adapter maps it
            self._handle_exception(error)


class InlineDbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        # The connection is used from the event loop's thread and from aiosqlite's, never both at once.
        kw["check_same_thread"] = False
        adapted = super().connect(*arg, **kw)
        if type(adapted) is AsyncAdapt_aiosqlite_connection:  # not the sync fallback
            return InlineConnection(self, adapted._connection)
        return adapted


def dbapi() -> InlineDbapi:
    return InlineDbapi(aiosqlite, sqlite3)
