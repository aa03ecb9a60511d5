from __future__ import annotations

import asyncio

import pytest

from storage.clock import ManualClock
from tests import templates
from tests.browser import browser_page  # noqa: F401 - the fixture, for every test file
from tests.fake_telegram import FakeBotApi
from tests.fake_upstream import FakeUpstream
from tests.harness import Harness, settings_for
from tests.pg import PG_URL


@pytest.fixture(scope="session", autouse=True)
def migrated_templates(tmp_path_factory):
    """Stores at the newest schema, made once in this process and copied for each test (tests/templates.py)."""
    templates.keep_templates_in(tmp_path_factory.mktemp("templates"))
    yield
    asyncio.run(templates.drop_databases())
    templates.forget_folder()


@pytest.fixture
async def api():
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def upstream():
    """The city's platform (Open311), as tests/fake_upstream.py stands in for it."""
    server = FakeUpstream()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request, tmp_path):
    """The case store a test runs on: a SQLite file, and a fresh PostgreSQL database when the
    test setup started a server (./run tests does). Both start as copies of a migrated store."""
    if request.param == "sqlite":
        yield None  # the default: a SQLite file in the data dir (Harness.start copies it in)
        return
    if not PG_URL:
        pytest.skip("no PostgreSQL server for the tests (./run tests starts one)")
    async with templates.migrated_database() as url:
        yield url


@pytest.fixture
async def world(api, clock, tmp_path, store_url):
    harness = Harness(api, settings_for(api, tmp_path / "var", db_url=store_url), clock)
    await harness.start()
    yield harness
    await harness.stop()
