"""A call-out to 2,000 responders through a fake Bot API that enforces Telegram's limits
(30 messages/s overall, 1/s per chat, 429 with retry_after when exceeded).

    .venv/bin/python bench/callout.py [--recipients 2000] [--jitter MS] [--paid]
                                      [--workers N [--postgres URL|start]] [--runs clean,killed]

`--jitter MS` delays each call by a uniform random 0..MS ms of network, split at random between the
way to the server and the way back; `--paid` turns on GRIDLINE_PAID_BROADCAST and lets the fake
Bot API take 1,000 messages a second. With `--workers N` (or `--postgres`), the call-out is sent by
N `gridline run --role worker` processes sharing a fresh database on PostgreSQL (`start`: a
throwaway server from scripts/test-postgres), each with GRIDLINE_SEND_PER_SECOND=30, the bot's whole
limit; the killed run kills one of them (SIGKILL) and starts it again. Without, one sender runs in
this process on SQLite.

Prints, for a clean run and for a run whose sender is killed at 50 % and restarted: the achieved
rate as a fraction of the limit (30/s, or 1,000/s paid), the time from the tap (the commit of the
call-out) to the first delivery, the 429s received, and duplicates and losses per recipient.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import build_application, prepare_store
from handlers.runtime import Runtime
from storage import callout_drafts, people, roles
from storage.catalog import load_catalog
from storage.clock import SystemClock
from storage.db import Store, async_driver_url, upgrade_schema_async
from storage.map_import import DEMO_CITY, read_map, write_map
from storage.map_index import AreaIndex
from tests.fake_telegram import FakeBotApi
from tests.harness import settings_for

ROOT = Path(__file__).resolve().parent.parent
FIRST_TG_ID = 7_000_000
PAID_LIMIT = 1000


@dataclass
class Setup:
    recipients: int
    jitter_ms: float
    paid: bool
    workers: int = 1
    postgres: str | None = None  # the server's admin URL, when the workers are processes

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
        logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)  # requests cut off by the kill
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


# --- several worker processes on PostgreSQL -----------------------------------------------------


async def fresh_database(admin: str) -> str:
    import asyncpg

    name = f"c_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(admin.replace("postgresql+asyncpg://", "postgresql://"))
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    url = admin.rsplit("/", 1)[0] + "/" + name
    await upgrade_schema_async(url)
    return url


async def start_worker(api: FakeBotApi, url: str, data_dir: Path, name: str, setup: Setup) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLINE_")}
    env.update({"GRIDLINE_BOT_TOKEN": api.token, "GRIDLINE_API_URL": api.url, "GRIDLINE_DATA_DIR": str(data_dir),
                "GRIDLINE_DB_URL": url, "GRIDLINE_INSTANCE": name, "GRIDLINE_HTTP_PORT": "0",
                "GRIDLINE_SEND_PER_SECOND": "30", "GRIDLINE_CHAT_INTERVAL_SECONDS": "1.0",
                "GRIDLINE_PAID_BROADCAST": "true" if setup.paid else "false", "GRIDLINE_QUIET_HOURS": ""})
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "run", "--role", "worker", env=env,
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)


async def workers_ready(api: FakeBotApi, started: int) -> None:
    """Each worker asks getMe as it starts; a moment more and it listens for queued messages."""
    await api.wait_for(lambda: len(api.methods("getMe")) >= started, timeout=120)
    await asyncio.sleep(3.0)


async def worker_run(setup: Setup, kill: bool) -> None:
    assert setup.postgres is not None
    api = setup.fake_api()
    await api.start()
    url = await fresh_database(setup.postgres)
    with tempfile.TemporaryDirectory() as folder:
        settings = settings_for(api, Path(folder), db_url=url, send_per_second=30, chat_interval_seconds=1.0)
        runtime = Runtime(settings=settings, store=Store(settings.database_url), clock=SystemClock(), catalog=load_catalog())
        commander = await city_with_responders(runtime, setup.recipients)
        names = [f"worker-{n}" for n in range(setup.workers)]
        processes = [await start_worker(api, url, Path(folder), name, setup) for name in names]
        try:
            await workers_ready(api, len(processes))
            tapped = await call_everyone(runtime, commander)
            if kill:
                await api.wait_for(lambda: len(api.methods("sendMessage")) >= setup.recipients // 2, timeout=600)
                processes[0].send_signal(signal.SIGKILL)  # whatever it had in flight is neither confirmed nor lost
                await processes[0].wait()
                print(f"  {names[0]} killed after {len(api.methods('sendMessage'))} sends")
                getme = len(api.methods("getMe"))
                processes[0] = await start_worker(api, url, Path(folder), names[0], setup)
                await api.wait_for(lambda: len(api.methods("getMe")) > getme, timeout=120)
            await api.wait_for(lambda: len(api.methods("sendMessage")) >= setup.recipients,
                               timeout=setup.recipients / 10 + 120)
            await api.wait_for(lambda: sum(1 for chat in api.chats if chat >= FIRST_TG_ID) >= setup.recipients,
                               timeout=120)
            report(api, setup, tapped)
        finally:
            for process in processes:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                await process.wait()
            await runtime.store.close()
    await api.stop()


def start_postgres(folder: str) -> str:
    Path(folder).chmod(0o755)  # the server runs as the postgres user and must reach its folder
    return subprocess.run([str(ROOT / "scripts" / "test-postgres"), "start", f"{folder}/pg"], check=True,
                          capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--jitter", type=float, default=0.0, metavar="MS",
                        help="network delay of each call: uniform random 0..MS ms (default 0)")
    parser.add_argument("--paid", action="store_true", help="paid broadcast: the fake Bot API takes 1,000/s")
    parser.add_argument("--runs", default="clean,killed", help="clean, killed or both (default)")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes sharing one PostgreSQL store (default: one sender in this process, SQLite)")
    parser.add_argument("--postgres", metavar="URL|start", help="the PostgreSQL server for --workers (default: start)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        postgres = args.postgres or ("start" if args.workers > 1 else None)
        admin = start_postgres(folder) if postgres == "start" else async_driver_url(postgres) if postgres else None
        setup = Setup(args.recipients, args.jitter, args.paid, args.workers, admin)
        try:
            if "clean" in args.runs:
                print("clean run:")
                asyncio.run(worker_run(setup, kill=False) if admin else clean_run(setup))
            if "killed" in args.runs:
                print("killed at 50 % and restarted:")
                asyncio.run(worker_run(setup, kill=True) if admin else killed_run(setup))
        finally:
            if postgres == "start":
                subprocess.run([str(ROOT / "scripts" / "test-postgres"), "stop", f"{folder}/pg"], check=False)


if __name__ == "__main__":
    main()
