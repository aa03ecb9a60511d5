from __future__ import annotations

import os
import uuid

import pytest

from storage.clock import ManualClock
from tests.fake_telegram import FakeBotApi
from tests.harness import Harness, settings_for

PG_URL = os.environ.get("GRIDLINE_TEST_PG_URL")


@pytest.fixture
async def api():
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request, tmp_path):
    """The case store a test runs on: a SQLite file, and a fresh PostgreSQL database when the
    test setup started a server (./run tests does)."""
    if request.param == "sqlite":
        yield None  # the default: a SQLite file in the data dir
        return
    if not PG_URL:
        pytest.skip("no PostgreSQL server for the tests (./run tests starts one)")
    import asyncpg

    admin = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    name = f"t_{uuid.uuid4().hex[:16]}"
    connection = await asyncpg.connect(admin)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    yield PG_URL.rsplit("/", 1)[0] + "/" + name
    connection = await asyncpg.connect(admin)
    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await connection.close()


@pytest.fixture
async def world(api, clock, tmp_path, store_url):
    harness = Harness(api, settings_for(api, tmp_path / "var", db_url=store_url), clock)
    await harness.start()
    yield harness
    await harness.stop()
