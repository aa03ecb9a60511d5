from __future__ import annotations

import pytest

from storage.clock import ManualClock
from tests.fake_telegram import FakeBotApi
from tests.harness import Harness, settings_for


@pytest.fixture
async def api():
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def world(api, clock, tmp_path):
    harness = Harness(api, settings_for(api, tmp_path / "var"), clock)
    await harness.start()
    yield harness
    await harness.stop()
