"""A call-out's second wave: how soon after it falls due its first alert reaches the Bot API.

    .venv/bin/python bench/waves.py [--recipients 2000] [--runs 5]

The demo city with `--recipients` responders (20 party members, the rest volunteers) spread over
its micro-grids; a call-out to the whole map that needs more people than will come, party members
first, volunteers next, one minute apart. The clock is moved past the minute; the board's job
(`handlers/callout_board.tick`, which sends due waves) runs, then the sender. Prints, per run and
as p50/max: the tick (finding the due wave and queueing its alerts, one transaction) and the time
from the tick's start to the first delivery of wave 2, on SQLite through the fake Bot API at
Telegram's 30/s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import build_application, prepare_store
from handlers import callout_board
from handlers.runtime import Runtime
from storage import callout_drafts, people, roles
from storage.catalog import load_catalog
from storage.clock import ManualClock
from storage.db import Store, upgrade_schema_async
from storage.map_import import DEMO_CITY, read_map, write_map
from storage.map_index import AreaIndex
from tests.fake_telegram import FakeBotApi
from tests.harness import settings_for

FIRST_TG_ID = 7_000_000
FIRST_WAVE = 20  # party members: wave 1; everyone else, volunteers, is wave 2


async def one_run(recipients: int) -> tuple[float, float]:
    api = FakeBotApi()
    api.per_second, api.chat_interval = 30, 1.0
    await api.start()
    with tempfile.TemporaryDirectory() as folder:
        settings = settings_for(api, Path(folder), send_per_second=30, chat_interval_seconds=1.0)
        await upgrade_schema_async(settings.database_url)
        clock = ManualClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
        runtime = Runtime(settings=settings, store=Store(settings.database_url), clock=clock, catalog=load_catalog())
        application = build_application(runtime)
        await application.initialize()
        await prepare_store(runtime)
        sender = runtime.sender
        assert sender is not None
        now = clock.now()
        async with runtime.store.transaction() as session:
            await write_map(session, read_map(DEMO_CITY.read_text(encoding="utf-8")), now)
        async with runtime.store.transaction() as session:
            index = await AreaIndex.load(session)
            micro = [c for c in index.codes if index.level_of(c) == "microgrid"]
            commander = await people.ensure_person(session, 1, "Commander", "zh", now)
            await roles.give_role(session, commander.id, "admin", None, [], now)
            for i in range(recipients):
                person = await people.ensure_person(session, FIRST_TG_ID + i, f"R{i}", "zh", now)
                tag = "party_member" if i < FIRST_WAVE else "volunteer"
                await roles.give_role(session, person.id, "responder", micro[i % len(micro)], [tag], now)
        async with runtime.store.transaction() as session:
            index = await runtime.map.index(session)
            draft = await callout_drafts.start_draft(session, commander.id, now)
            draft.area_codes, draft.tags = ["HS"], ["party_member", "volunteer"]
            draft.headline, draft.need, draft.wave_minutes = "Flood drill", recipients, 1
            await callout_drafts.send(session, index, draft.id, commander.id, now)
        await sender.drain()
        second_wave = {FIRST_TG_ID + i for i in range(FIRST_WAVE, recipients)}
        before = len(api.calls)
        clock.advance(minutes=1)
        started = time.monotonic()
        await callout_board.tick(runtime, application.bot)
        ticked = time.monotonic() - started
        drain = asyncio.create_task(sender.drain())
        await api.wait_for(lambda: any(c.method == "sendMessage" and int(c.params["chat_id"]) in second_wave
                                       for c in api.calls[before:]), timeout=120)
        first = next(c.at for c in api.calls[before:] if c.method == "sendMessage"
                     and int(c.params["chat_id"]) in second_wave)
        drain.cancel()
        await asyncio.gather(drain, return_exceptions=True)
        await application.shutdown()
        await runtime.store.close()
    await api.stop()
    return ticked, first - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    ticks, firsts = [], []
    for run in range(args.runs):
        ticked, first = await one_run(args.recipients)
        ticks.append(ticked)
        firsts.append(first)
        print(f"run {run + 1}: tick {ticked * 1000:.0f} ms, wave 2's first delivery {first * 1000:.0f} ms after the tick began")
    print(f"{args.recipients - FIRST_WAVE} people in wave 2: tick p50 {statistics.median(ticks) * 1000:.0f} ms "
          f"(max {max(ticks) * 1000:.0f}); first delivery p50 {statistics.median(firsts) * 1000:.0f} ms "
          f"(max {max(firsts) * 1000:.0f})")


if __name__ == "__main__":
    asyncio.run(main())
