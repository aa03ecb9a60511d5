"""An official warning posted to POST /cap/alerts until the drafted call-out reaches the dispatcher's
phone (the fake Bot API receives the sendMessage), through the real HTTP face, store, outbox and
sender with Telegram's limits (30 messages/s, 1/s per chat).

    .venv/bin/python bench/cap.py [--alerts 200] [--burst 0] [--postgres URL]

The demo city on SQLite (or a fresh database on PostgreSQL), one dispatcher per community with
responders in every micro-grid; each alert's area is one community (a geocode), the communities in
turn. Alerts are posted one after another, each timed until its draft is delivered; `--burst N`
then posts N more at once. Prints p50/p95/max of the whole path (target p95 under 2 s) and of the
POST's answer alone.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import build_application, prepare_store
from bot.web import HttpFace
from handlers.runtime import Runtime
from storage import open311, people, roles
from storage.catalog import load_catalog
from storage.clock import SystemClock
from storage.db import Store, upgrade_schema_async
from storage.map_import import DEMO_CITY, read_map, write_map
from storage.map_index import AreaIndex
from tests.fake_telegram import FakeBotApi
from tests.harness import settings_for

FIRST_DISPATCHER = 8_000_000


def alert(n: int, community: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
            f"<identifier>BENCH-{n}</identifier><sender>met@bench.example</sender><sent>2026-11-23T10:00:00+08:00</sent>"
            "<status>Actual</status><msgType>Alert</msgType><scope>Public</scope>"
            "<info><language>zh-CN</language><category>Met</category><event>暴雨</event><urgency>Immediate</urgency>"
            "<severity>Severe</severity><certainty>Observed</certainty><headline>暴雨红色预警</headline>"
            f"<instruction>转移低洼地区人员</instruction><area><areaDesc>{community}</areaDesc>"
            f"<geocode><valueName>gridline</valueName><value>{community}</value></geocode></area></info></alert>").encode()


async def city(runtime: Runtime) -> tuple[list[tuple[str, int]], str]:
    """The demo city, a dispatcher per community (their chat ids), responders, and an API key."""
    now = runtime.clock.now()
    async with runtime.store.transaction() as session:
        await write_map(session, read_map(DEMO_CITY.read_text(encoding="utf-8")), now)
    async with runtime.store.transaction() as session:
        index = await AreaIndex.load(session)
        communities = [c for c in index.codes if index.level_of(c) == "community"]
        dispatchers = []
        for i, code in enumerate(communities):
            person = await people.ensure_person(session, FIRST_DISPATCHER + i, f"D{i}", "zh", now)
            await roles.give_role(session, person.id, "dispatcher", code, [], now)
            dispatchers.append((code, FIRST_DISPATCHER + i))
        for i, code in enumerate(c for c in index.codes if index.level_of(c) == "microgrid"):
            person = await people.ensure_person(session, 9_000_000 + i, f"R{i}", "zh", now)
            await roles.give_role(session, person.id, "responder", code, ["volunteer"], now)
        key = await open311.create_key(session, "bench", now)
    return dispatchers, key


def figures(name: str, seconds: list[float]) -> None:
    ordered = sorted(seconds)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    print(f"  {name}: n={len(ordered)} p50 {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"max {ordered[-1] * 1000:.0f} ms")


async def main(count: int, burst: int, postgres: str | None) -> None:
    api = FakeBotApi()
    api.per_second, api.chat_interval = 30, 1.0
    await api.start()
    with tempfile.TemporaryDirectory() as folder:
        url = None
        if postgres:
            import asyncpg

            name = f"cap_{uuid.uuid4().hex[:10]}"
            connection = await asyncpg.connect(postgres.replace("postgresql+asyncpg://", "postgresql://"))
            await connection.execute(f'CREATE DATABASE "{name}"')
            await connection.close()
            url = postgres.rsplit("/", 1)[0] + "/" + name
        settings = settings_for(api, Path(folder), send_per_second=30, chat_interval_seconds=1.0, quiet_hours="",
                                **({"db_url": url} if url else {}))
        await upgrade_schema_async(settings.database_url)
        runtime = Runtime(settings=settings, store=Store(settings.database_url), clock=SystemClock(), catalog=load_catalog())
        application = build_application(runtime)
        await application.initialize()
        await prepare_store(runtime)
        assert runtime.sender is not None
        runtime.store.on_outbox_commit(runtime.sender.wake)  # as `gridline run` does: a commit wakes the sender
        dispatchers, key = await city(runtime)
        face = HttpFace(runtime, application.bot)
        await face.start("127.0.0.1", 0)
        headers = {"X-Api-Key": key, "Content-Type": "application/cap+xml"}
        whole: list[float] = []
        answers: list[float] = []

        def delivered(chat: int) -> int:
            return sum(1 for m in api.messages(chat) if m.method == "sendMessage")

        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{face.port}") as http:

            async def one(n: int) -> None:
                community, chat = dispatchers[n % len(dispatchers)]
                before = delivered(chat)
                started = time.monotonic()
                async with http.post("/cap/alerts", data=alert(n, community), headers=headers) as response:
                    assert response.status == 201, await response.text()
                answers.append(time.monotonic() - started)
                await api.wait_for(lambda: delivered(chat) > before, timeout=60)
                whole.append(time.monotonic() - started)

            print(f"{count} alerts one after another, {len(dispatchers)} dispatchers "
                  f"({'PostgreSQL' if url else 'SQLite'}):")
            for n in range(count):
                await one(n)
            figures("posted → draft delivered", whole)
            figures("POST answered", answers)
            if burst:
                whole.clear()
                answers.clear()
                await asyncio.sleep(1.1)  # Telegram's per-chat second
                print(f"{burst} alerts at once:")
                await asyncio.gather(*(one(count + n) for n in range(min(burst, len(dispatchers)))))
                figures("posted → draft delivered", whole)
                figures("POST answered", answers)
        await face.stop()
        await runtime.sender.stop()
        await application.shutdown()
        await runtime.store.close()
        if url:
            import asyncpg

            connection = await asyncpg.connect(postgres.replace("postgresql+asyncpg://", "postgresql://"))
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await connection.close()
    await api.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--burst", type=int, default=0, help="then this many at once (at most one per dispatcher)")
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server's URL to make a fresh database on")
    args = parser.parse_args()
    asyncio.run(main(args.alerts, args.burst, args.postgres))
