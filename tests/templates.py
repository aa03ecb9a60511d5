"""Stores already at the newest schema (with the default category catalog, as the first start
leaves them), made once per test process and copied for each test.

Migrating a new store runs every migration (most of a second); a copy of a migrated one costs a
few milliseconds (a SQLite file) or a fraction of a second (a PostgreSQL database made with
`CREATE DATABASE ... TEMPLATE`, made while the test before runs). The stories about migrations
themselves (tests/test_store.py, test_processes.py's concurrent upgrade, `gridline db copy` into
an empty database, the `gridline` commands on a new data dir) still start from empty stores and
run the real migrations.

The templates live in pytest's temporary folder of this process (each xdist worker has its own)
and a PostgreSQL database named for this process, dropped when the session ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from storage.catalog import load_catalog, sync_categories
from storage.db import Store, is_sqlite, upgrade_schema_async
from tests.pg import PG_URL, admin_connection, database_url

_folder: Path | None = None
_sqlite_template: Path | None = None
_pg_template: str | None = None
_kept_databases: list[str] = []  # other databases of the session (tests/snapshots.py), dropped at its end


async def _first_start(url: str) -> None:
    """The store as its first start leaves it: migrated, and the default category catalog loaded
    (every start loads the catalog again, and finds it there)."""
    await upgrade_schema_async(url)
    store = Store(url)
    try:
        async with store.transaction() as session:
            await sync_categories(session, load_catalog())
    finally:
        await store.close()


def keep_templates_in(folder: Path) -> None:
    """Where this process keeps its SQLite template (set once per session by tests/conftest.py)."""
    global _folder
    _folder = folder


def folder() -> Path:
    """This session's folder for kept stores and files."""
    assert _folder is not None, "no test session (tests/conftest.py sets the folder)"
    return _folder


def drop_at_the_end(database: str) -> None:
    """Drop this PostgreSQL database when the session ends."""
    _kept_databases.append(database)


async def copy_migrated_sqlite(url: str) -> None:
    """When `url` names a SQLite file that is not there yet, put a migrated store there. Outside a
    test session (no template folder) the file is left for the migrations to make."""
    global _sqlite_template
    target = _new_sqlite_file(url)
    if target is None:
        return
    if _sqlite_template is None:
        assert _folder is not None
        template = _folder / "migrated.sqlite3"
        await _first_start(f"sqlite+aiosqlite:///{template}")
        _sqlite_template = template
    _copy(_sqlite_template, target)


def _new_sqlite_file(url: str) -> Path | None:
    if _folder is None or not is_sqlite(url):
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or Path(database).exists():
        return None
    return Path(database)


def _copy(template: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)


async def pg_template() -> str:
    """The name of this process's migrated PostgreSQL database, made on first use. Nothing stays
    connected to it, so `CREATE DATABASE ... TEMPLATE` can copy it."""
    global _pg_template
    if _pg_template is None:
        name = f"template_{uuid.uuid4().hex[:16]}"
        connection = await admin_connection()
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        await _first_start(database_url(name))
        _pg_template = name
    return _pg_template


# Copying a database takes the server a few hundred milliseconds: the copy for the next test is
# made while this one runs, and a used one is dropped after its test, both on a thread of their own.
_background: ThreadPoolExecutor | None = None
_spare: Future[str] | None = None


def _copy_of(template: str) -> str:
    name = f"t_{uuid.uuid4().hex[:16]}"

    async def create() -> None:
        connection = await admin_connection()
        try:
            await connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        finally:
            await connection.close()

    asyncio.run(create())
    return name


def _drop(name: str) -> None:
    async def drop() -> None:
        connection = await admin_connection()
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    asyncio.run(drop())


@asynccontextmanager
async def migrated_database() -> AsyncIterator[str]:
    """A new PostgreSQL database at the newest schema for one test (its SQLAlchemy URL), dropped afterwards."""
    global _background, _spare
    template = await pg_template()
    if _background is None:
        _background = ThreadPoolExecutor(1, thread_name_prefix="test-databases")
    ready = _spare or _background.submit(_copy_of, template)
    _spare = _background.submit(_copy_of, template)
    name = await asyncio.wrap_future(ready)
    try:
        yield database_url(name)
    finally:
        _background.submit(_drop, name)


async def drop_databases() -> None:
    """At the end of the session: the spare copy, the used ones still being dropped, the kept ones and the template."""
    global _background, _spare, _pg_template
    if _background is not None:
        if _spare is not None:
            with contextlib.suppress(Exception):
                _background.submit(_drop, await asyncio.wrap_future(_spare))
        _background.shutdown(wait=True)
        _background = _spare = None
    dropping = [*_kept_databases, *([_pg_template] if _pg_template else [])]
    if not dropping or not PG_URL:
        return
    connection = await admin_connection()
    try:
        for name in dropping:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
    _kept_databases.clear()
    _pg_template = None


def forget_folder() -> None:
    """Remove this session's folder (the SQLite template, kept worlds)."""
    global _sqlite_template, _folder
    if _folder is not None:
        shutil.rmtree(_folder, ignore_errors=True)
    _sqlite_template = _folder = None
