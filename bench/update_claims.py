"""What claiming a webhook update in the store costs (so a resend to another web process is
handled once): the time of one claim transaction, as bot/web.py runs it, on SQLite and PostgreSQL.

    .venv/bin/python bench/update_claims.py [--updates 2000] [--postgres URL|start]

Prints p50/p95 per claim and claims per second, one at a time, for first claims (a row written)
and for repeats (the insert does nothing), with a day of ids already kept (--kept).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from bench.tasks import started_postgres
from storage.db import Store, upgrade_schema_async
from storage.models import SeenUpdate
from storage.updates import claim_update


async def measure(name: str, url: str, updates: int, kept: int) -> None:
    await upgrade_schema_async(url)
    store = Store(url)
    now = datetime.now(UTC)
    async with store.transaction() as session:  # a day of traffic already kept
        for start in range(0, kept, 5000):
            await session.execute(insert(SeenUpdate), [{"update_id": i, "seen_at": now - timedelta(hours=1)}
                                                        for i in range(start, min(start + 5000, kept))])
    first = kept + 1_000_000
    for label, ids in (("first", range(first, first + updates)), ("repeat", range(first, first + updates))):
        times = []
        started = time.perf_counter()
        for update_id in ids:
            began = time.perf_counter()
            async with store.transaction() as session:
                claimed = await claim_update(session, update_id, now)
            times.append(time.perf_counter() - began)
            assert claimed == (label == "first")
        total = time.perf_counter() - started
        times.sort()
        print(f"{name:10} {label:6}: p50 {statistics.median(times) * 1000:.2f} ms, "
              f"p95 {times[int(len(times) * 0.95)] * 1000:.2f} ms, {updates / total:,.0f} claims/s (one at a time)")
    await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--kept", type=int, default=100_000, help="ids already kept (a day of updates)")
    parser.add_argument("--postgres", metavar="URL|start", help="also measure on PostgreSQL (an empty database, "
                                                                  "or `start` for a throwaway local server)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(measure("SQLite", f"sqlite+aiosqlite:///{folder}/bench.sqlite3", args.updates, args.kept))
        if args.postgres:
            url = started_postgres(folder) if args.postgres == "start" else args.postgres
            try:
                asyncio.run(measure("PostgreSQL", url, args.updates, args.kept))
            finally:
                if args.postgres == "start":
                    import subprocess

                    subprocess.run([str(Path(__file__).resolve().parent.parent / "scripts" / "test-postgres"), "stop",
                                    f"{folder}/pg"], check=False)


if __name__ == "__main__":
    main()
