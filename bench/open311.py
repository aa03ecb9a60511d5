"""Open311 both ways on loopback.

    .venv/bin/python bench/open311.py [--cases 100000] [--push 2000] [--gets 200]

- cases per second posted to a loopback upstream (the fake platform of the tests) by the sync;
- `GET /open311/v2/requests.json` requests per second and p50/p95 latency with `--cases` cases in
  the store: the default query (last 90 days, a page of 1,000), a status and service filter, and a
  lookup of ten ids; 8 clients at once.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.open311_client import Syncer
from bench.tasks import NOW, fill, prepare
from bot.web import HttpFace
from handlers.runtime import Runtime
from storage import open311
from storage.catalog import load_catalog
from storage.clock import ManualClock
from storage.db import Store, upgrade_schema
from tests.fake_telegram import FakeBotApi
from tests.fake_upstream import FakeUpstream
from tests.harness import settings_for


def queue_for_upstream(path: str, count: int) -> None:
    db = sqlite3.connect(path)
    db.execute("DELETE FROM upstream_sync")
    db.execute("INSERT INTO upstream_sync (case_id, state, attempts, next_at, maybe_posted, created_at) "
               "SELECT id, 'new', 0, created_at, 0, created_at FROM cases ORDER BY id DESC LIMIT ?", (count,))
    db.execute("UPDATE upstream_sync SET next_at = '2000-01-01 00:00:00.000000'")
    db.commit()
    db.close()


async def measure(url: str, data_dir: Path, push: int, gets: int, sample_numbers: list[str]) -> None:
    api = FakeBotApi()
    await api.start()
    upstream = FakeUpstream()
    await upstream.start()
    settings = settings_for(api, data_dir, upstream_url=upstream.url, db_url=url)
    runtime = Runtime(settings=settings, store=Store(url), clock=ManualClock(NOW + timedelta(minutes=1)),
                      catalog=load_catalog())
    async with aiohttp.ClientSession() as http:
        started = time.perf_counter()
        await Syncer(runtime, random.Random(1)).run_once(http)
        took = time.perf_counter() - started
        print(f"pushed upstream: {upstream.posts} cases in {took:.1f} s = {upstream.posts / took:.0f} cases/s "
              f"(duplicates: {upstream.posts - len({r['description'] for r in upstream.requests})})")

        face = HttpFace(runtime, None)  # type: ignore[arg-type]
        await face.start("127.0.0.1", 0)
        async with runtime.store.transaction() as session:
            key = await open311.create_key(session, "bench", runtime.clock.now())
        base = f"http://127.0.0.1:{face.port}/open311/v2/requests.json?api_key={key}"
        ids = ",".join(sample_numbers[:10])
        settings.open311_public_read = True
        for label, query in (("default (90 days, 1,000 a page)", ""),
                             ("status=open&service_code", "&status=open&service_code=municipal.manhole"),
                             ("ten ids", f"&service_request_id={ids}"),
                             ("public feed, no key (90 days, 1,000 a page)", None)):
            url = base if query is not None else base.split("?")[0]
            latencies: list[float] = []
            sizes: list[int] = []

            async def client(n: int, url: str = url, query: str | None = query, sizes: list[int] = sizes,
                             latencies: list[float] = latencies) -> None:
                for _ in range(n):
                    t0 = time.perf_counter()
                    async with http.get(url + (query or "")) as response:
                        body = await response.read()
                        assert response.status == 200, body[:200]
                        sizes.append(len(body))
                    latencies.append(time.perf_counter() - t0)

            started = time.perf_counter()
            await asyncio.gather(*(client(gets // 8) for _ in range(8)))
            took = time.perf_counter() - started
            latencies.sort()
            print(f"GET requests.json, {label}: {len(latencies) / took:.1f} req/s, "
                  f"p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {latencies[int(len(latencies) * 0.95)] * 1000:.0f} ms, "
                  f"{sizes[-1]:,} bytes an answer")
        await face.stop()
    await runtime.store.close()
    await upstream.stop()
    await api.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--push", type=int, default=2_000)
    parser.add_argument("--gets", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/bench.sqlite3"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade_schema(url)
        micro, workers, _leaders, categories = asyncio.run(prepare(url))
        fill(path, args.cases, args.cases // 10, 0, micro, workers, categories)
        queue_for_upstream(path, args.push)
        numbers = [row[0] for row in sqlite3.connect(path).execute("SELECT number FROM cases ORDER BY id DESC LIMIT 10")]
        print(f"store: {args.cases:,} cases")
        asyncio.run(measure(url, Path(folder), args.push, args.gets, numbers))


if __name__ == "__main__":
    main()
