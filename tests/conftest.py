from __future__ import annotations

import pytest

from storage.clock import ManualClock
from tests.fake_telegram import FakeBotApi
from tests.harness import Harness, settings_for
from tests.pg import PG_URL, throwaway_database


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
    async with throwaway_database("t") as url:
        yield url


@pytest.fixture
async def world(api, clock, tmp_path, store_url):
    harness = Harness(api, settings_for(api, tmp_path / "var", db_url=store_url), clock)
    await harness.start()
    yield harness
    await harness.stop()
