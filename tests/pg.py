"""Throwaway PostgreSQL databases on the server ./run tests started (GRIDLINE_TEST_PG_URL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

PG_URL = os.environ.get("GRIDLINE_TEST_PG_URL")


async def admin_connection() -> Any:
    """An asyncpg connection to the server's maintenance database, for CREATE and DROP DATABASE."""
    import asyncpg

    assert PG_URL, "no PostgreSQL server for the tests (./run tests starts one)"
    return await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))


def database_url(name: str) -> str:
    """The SQLAlchemy URL of the database `name` on the test server."""
    assert PG_URL, "no PostgreSQL server for the tests (./run tests starts one)"
    return PG_URL.rsplit("/", 1)[0] + "/" + name


@asynccontextmanager
async def throwaway_database(prefix: str, template: str | None = None) -> AsyncIterator[str]:
    """A new database for one test (its SQLAlchemy URL), dropped afterwards: empty, or a copy of
    the database `template` (tests/templates.py keeps a migrated one)."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    connection = await admin_connection()
    try:
        await connection.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    finally:
        await connection.close()
    try:
        yield database_url(name)
    finally:
        connection = await admin_connection()
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()
