"""Throwaway PostgreSQL databases on the server ./run tests started (GRIDLINE_TEST_PG_URL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

PG_URL = os.environ.get("GRIDLINE_TEST_PG_URL")


@asynccontextmanager
async def throwaway_database(prefix: str) -> AsyncIterator[str]:
    """A new, empty database for one test (its SQLAlchemy URL), dropped afterwards."""
    import asyncpg

    assert PG_URL, "no PostgreSQL server for the tests (./run tests starts one)"
    admin = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    connection = await asyncpg.connect(admin)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        connection = await asyncpg.connect(admin)
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()
