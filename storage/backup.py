"""Backups of the whole store while the bot runs, and bringing one back into an empty store.

SQLite: the library's online backup API copies the database page by page from one consistent
snapshot (WAL lets the bot keep writing meanwhile) into a new file, which is itself the backup.

PostgreSQL: `pg_dump` in its custom format. Its snapshot is exported from a transaction of our
own, in which every table is counted first: the counts written beside the dump
(`FILE.counts.json`) are exactly what the dump holds, and `restore` checks the restored store
against them. The password goes to pg_dump in its environment, never on its command line.

Either way the file is written under a temporary name and renamed once complete, so a failed
backup never leaves a file that looks whole.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from storage.copy import CopyRefused, CopyReport
from storage.db import is_sqlite
from storage.models import Base

COUNTS_SUFFIX = ".counts.json"
DEBIAN_POSTGRESQL = "/usr/lib/postgresql"  # where Debian puts each version's pg_dump


class BackupFailed(CopyRefused):
    """A backup or a restore could not be made; each line says why."""


def _tables() -> list[str]:
    return [table.name for table in Base.metadata.sorted_tables]


def counts_file(backup: Path) -> Path:
    return backup.with_name(backup.name + COUNTS_SUFFIX)


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


# --- SQLite ---------------------------------------------------------------------------------------


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupFailed("the store is an in-memory SQLite database: there is nothing on disk to back up")
    return Path(database)


def _sqlite_counts(connection: sqlite3.Connection) -> dict[str, int]:
    present = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {name: int(connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
            for name in _tables() if name in present}


def _sqlite_copy(source: Path, target: Path) -> dict[str, int]:
    """The online backup of `source` into the new file `target`; the counts of what it holds."""
    reading = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        writing = sqlite3.connect(target)
        try:
            reading.backup(writing)
            counts = _sqlite_counts(writing)
        finally:
            writing.close()
    finally:
        reading.close()
    return counts


def _sqlite_backup(url: str, file: Path) -> dict[str, int]:
    source = _sqlite_path(url)
    if not source.exists():
        raise BackupFailed(f"there is no store at {source}")
    partial = _temporary(file)
    partial.unlink(missing_ok=True)
    try:
        counts = _sqlite_copy(source, partial)
    except sqlite3.Error as error:
        partial.unlink(missing_ok=True)
        raise BackupFailed(f"the SQLite backup failed: {error}") from None
    partial.replace(file)
    return counts


def _sqlite_restore(url: str, file: Path) -> CopyReport:
    target = _sqlite_path(url)
    try:
        backup = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
        try:
            expected = _sqlite_counts(backup)
        finally:
            backup.close()
    except sqlite3.DatabaseError as error:
        raise BackupFailed(f"{file} is not a SQLite backup: {error}") from None
    if not expected:
        raise BackupFailed(f"{file} holds no Gridline tables")
    if target.exists():
        existing = sqlite3.connect(target)
        try:
            tables = existing.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        finally:
            existing.close()
        if tables:
            raise BackupFailed(f"the store {target} is not empty: restore into a new, empty store (move the old file away first)")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = _temporary(target)
    partial.unlink(missing_ok=True)
    found = _sqlite_copy(file, partial)
    for leftover in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        leftover.unlink(missing_ok=True)
    partial.replace(target)
    return CopyReport(expected, found)


# --- PostgreSQL -----------------------------------------------------------------------------------


def postgres_tool(name: str) -> str:
    """Where `pg_dump` / `pg_restore` is: on PATH, else Debian's /usr/lib/postgresql/<version>/bin (newest)."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path(DEBIAN_POSTGRESQL).glob(f"*/bin/{name}"),
                      key=lambda path: [int(part) for part in path.parts[-3].split(".") if part.isdigit()])
    if versions:
        return str(versions[-1])
    raise BackupFailed(f"{name} is not installed: install PostgreSQL's client programs (e.g. `apt install postgresql-client`), "
                       "of the server's version or newer, or put them on PATH")


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The database name for the command line, and the rest (password included) for its environment."""
    parsed = make_url(url)
    env = dict(os.environ)
    for key, value in (("PGHOST", parsed.host), ("PGPORT", parsed.port), ("PGUSER", parsed.username),
                       ("PGPASSWORD", parsed.password)):
        if value is not None:
            env[key] = str(value)
    return parsed.database or "", env


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _postgres_counts(connection: Any) -> dict[str, int]:
    present = {row[0] for row in await connection.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
    return {name: int(await connection.fetchval(f'SELECT count(*) FROM "{name}"'))
            for name in _tables() if name in present}


async def _run(program: str, arguments: list[str], env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(program, *arguments, env=env, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    _, stderr = await process.communicate()
    if process.returncode != 0:
        said = [line for line in stderr.decode(errors="replace").splitlines() if line.strip()][-5:]
        raise BackupFailed(f"{Path(program).name} failed (exit code {process.returncode})", *said)


async def _postgres_backup(url: str, file: Path) -> dict[str, int]:
    import asyncpg

    pg_dump = postgres_tool("pg_dump")
    database, env = _libpq(url)
    partial = _temporary(file)
    partial.unlink(missing_ok=True)
    connection = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await connection.fetchval("SELECT pg_export_snapshot()")
            counts = await _postgres_counts(connection)
            try:
                await _run(pg_dump, ["--format=custom", f"--snapshot={snapshot}", "--no-owner", "--no-privileges",
                                     f"--file={partial}", database], env)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
    finally:
        await connection.close()
    counts_file(file).write_text(json.dumps(counts, indent=1) + "\n", encoding="utf-8")
    partial.replace(file)
    return counts


async def _postgres_restore(url: str, file: Path) -> CopyReport:
    import asyncpg

    pg_restore = postgres_tool("pg_restore")
    with file.open("rb") as head:
        if head.read(5) != b"PGDMP":
            raise BackupFailed(f"{file} is not a pg_dump custom-format backup (a SQLite backup restores only into SQLite)")
    sidecar = counts_file(file)
    expected: dict[str, int] = json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.exists() else {}
    connection = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        tables = await connection.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()")
        if tables:
            raise BackupFailed("the store is not empty: restore into a new, empty database "
                               "(createdb, then point GRIDLINE_DB_URL at it)")
        database, env = _libpq(url)
        await _run(pg_restore, ["--exit-on-error", "--single-transaction", "--no-owner", "--no-privileges",
                                f"--dbname={database}", str(file)], env)
        found = await _postgres_counts(connection)
    finally:
        await connection.close()
    return CopyReport(expected or dict(found), found)


# --- both -----------------------------------------------------------------------------------------


async def backup(url: str, file: Path) -> dict[str, int]:
    """A consistent copy of the store in `file` (made while the bot runs); the rows of each table in it."""
    if is_sqlite(url):
        return await asyncio.to_thread(_sqlite_backup, url, file)
    return await _postgres_backup(url, file)


async def restore(url: str, file: Path) -> CopyReport:
    """Bring the backup in `file` into the empty store at `url`, then count what arrived (the
    report's source is the backup, its target the store)."""
    if not await asyncio.to_thread(file.is_file):
        raise BackupFailed(f"there is no backup at {file}")
    if is_sqlite(url):
        return await asyncio.to_thread(_sqlite_restore, url, file)
    return await _postgres_restore(url, file)
