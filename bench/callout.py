"""A call-out to 2,000 responders through a fake Bot API that enforces Telegram's limits
(30 messages/s overall, 1/s per chat, 429 with retry_after when exceeded).

    .venv/bin/python bench/callout.py [--recipients 2000] [--jitter MS] [--paid]

`--jitter MS` delays each call by a uniform random 0..MS ms of network, split at random between the
way to the server and the way back; `--paid` turns on GRIDLINE_PAID_BROADCAST and lets the fake
Bot API take 1,000 messages a second.

Prints, for a clean run and for a run whose sender is killed at 50 % and restarted: the achieved
rate as a fraction of the limit (30/s, or 1,000/s paid), the time from the tap (the commit of the
call-out) to the first delivery, the 429s received, and duplicates and losses per recipient.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import build_application, prepare_store
from handlers.runtime import Runtime
from storage import callout_drafts, people, roles
from storage.catalog import load_catalog
from storage.clock import SystemClock
from storage.db import Store, upgrade_schema_async
from storage.map_import import DEMO_CITY, read_map, write_map
from storage.map_index import AreaIndex
from tests.fake_telegram import FakeBotApi
from tests.harness import settings_for

FIRST_TG_ID = 7_000_000
PAID_LIMIT = 1000


@dataclass
class Setup:
    recipients: int
    jitter_ms: float
    paid: bool

    @property
    def limit(self) -> int:
        return PAID_LIMIT if self.paid else 30

    def fake_api(self) -> FakeBotApi:
        api = FakeBotApi()
        api.per_second, api.chat_interval = self.limit, 1.0
        api.jitter = self.jitter_ms / 1000
        return api


async def city_with_responders(runtime: Runtime, count: int) -> int:
    """The demo city with `count` responders spread over its micro-grids; returns the commander."""
    now = runtime.clock.now()
    async with runtime.store.transaction() as session:
        await write_map(session, read_map(DEMO_CITY.read_text(encoding="utf-8")), now)
    async with runtime.store.transaction() as session:
        index = await AreaIndex.load(session)
        micro = [c for c in index.codes if index.level_of(c) == "microgrid"]
        commander = await people.ensure_person(session, 1, "Commander", "zh", now)
        await roles.give_role(session, commander.id, "admin", None, [], now)
        for i in range(count):
            person = await people.ensure_person(session, FIRST_TG_ID + i, f"R{i}", "zh", now)
            await roles.give_role(session, person.id, "responder", micro[i % len(micro)], ["volunteer"], now)
        return commander.id


async def call_everyone(runtime: Runtime, commander_id: int) -> float:
    """The commander's tap: returns the moment the call-out was committed."""
    async with runtime.store.transaction() as session:
        index = await runtime.map.index(session)
        draft = await callout_drafts.start_draft(session, commander_id, runtime.clock.now())
        draft.area_codes = ["HS"]
        draft.headline, draft.instruction = "Flood drill", "Go to the north gate"
        _mobilization, count = await callout_drafts.send(session, index, draft.id, commander_id, runtime.clock.now())
    print(f"  call-out queued for {count} people")
    return time.monotonic()


async def start_bot(api: FakeBotApi, data_dir: Path, setup: Setup) -> tuple[Runtime, object]:
    settings = settings_for(api, data_dir, send_per_second=30, chat_interval_seconds=1.0, paid_broadcast=setup.paid)
    await upgrade_schema_async(settings.database_url)
    runtime = Runtime(settings=settings, store=Store(settings.database_url), clock=SystemClock(), catalog=load_catalog())
    application = build_application(runtime)
    await application.initialize()
    await prepare_store(runtime)
    return runtime, application


def report(api: FakeBotApi, setup: Setup, tapped: float) -> None:
    sends = [c for c in api.calls if c.method == "sendMessage" and int(c.params["chat_id"]) >= FIRST_TG_ID]
    # What reached each chat (a call refused with a 429 is not a message there).
    delivered = Counter({chat: n for chat, messages in api.chats.items() if chat >= FIRST_TG_ID
                         and (n := sum(1 for m in messages if m.method == "sendMessage"))})
    first, last = sends[0].at, sends[-1].at
    rate = (len(sends) - 1) / (last - first) if last > first else float("nan")
    print(f"  achieved {rate:.1f}/s = {rate / setup.limit:.3f} of {setup.limit}/s "
          f"({len(sends)} in {last - first:.1f} s); first delivery {((first - tapped) * 1000):.0f} ms after the tap")
    print(f"  429s: {api.too_many}; duplicates: {sum(n - 1 for n in delivered.values() if n > 1)}; "
          f"losses: {setup.recipients - len(delivered)}")


async def clean_run(setup: Setup) -> None:
    api = setup.fake_api()
    await api.start()
    with tempfile.TemporaryDirectory() as folder:
        runtime, application = await start_bot(api, Path(folder), setup)
        commander = await city_with_responders(runtime, setup.recipients)
        tapped = await call_everyone(runtime, commander)
        await runtime.sender.drain()
        report(api, setup, tapped)
        await application.shutdown()
        await runtime.store.close()
    await api.stop()


async def killed_run(setup: Setup) -> None:
    api = setup.fake_api()
    await api.start()
    recipients = setup.recipients
    with tempfile.TemporaryDirectory() as folder:
        runtime, application = await start_bot(api, Path(folder), setup)
        commander = await city_with_responders(runtime, recipients)
        tapped = await call_everyone(runtime, commander)
        drain = asyncio.create_task(runtime.sender.drain())
        await api.wait_for(lambda: len(api.methods("sendMessage")) >= recipients // 2, timeout=600)
        drain.cancel()  # the process dies here: whatever was in flight is neither confirmed nor lost
        await asyncio.gather(drain, return_exceptions=True)
        print(f"  killed after {len(api.methods('sendMessage'))} sends")
        await application.shutdown()
        await runtime.store.close()
        await asyncio.sleep(1.0)  # a real restart takes longer than this; Telegram's window is one second
        runtime, application2 = await start_bot(api, Path(folder), setup)
        await runtime.sender.drain()
        report(api, setup, tapped)
        await application2.shutdown()
        await runtime.store.close()
    await api.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--jitter", type=float, default=0.0, metavar="MS",
                        help="network delay of each call: uniform random 0..MS ms (default 0)")
    parser.add_argument("--paid", action="store_true", help="paid broadcast: the fake Bot API takes 1,000/s")
    parser.add_argument("--runs", default="clean,killed", help="clean, killed or both (default)")
    args = parser.parse_args()
    setup = Setup(args.recipients, args.jitter, args.paid)
    if "clean" in args.runs:
        print("clean run:")
        asyncio.run(clean_run(setup))
    if "killed" in args.runs:
        print("killed at 50 % and restarted:")
        asyncio.run(killed_run(setup))


if __name__ == "__main__":
    main()
