"""Outbound throughput of one and of two `gridline run --role worker` processes sharing one
PostgreSQL store, against a fake Bot API whose limit is set high (paid-broadcast style, 1,000/s,
answering 429 above it). GRIDLINE_SEND_PER_SECOND is the bot's whole limit: the workers keep to it
together through the sending slots in the store.

    .venv/bin/python bench/outbound.py [--messages 10000] [--postgres URL|start]

For each setup a fresh database gets `--messages` queued notices, one per person, then the workers
start. Printed per setup: messages per second from the first delivery to the last, 429s received,
and chats that got a message twice or never. `--postgres start` runs a throwaway local server
(scripts/test-postgres: fsync off); a URL must point at a server where this user may create
databases.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handlers.i18n import N_  # noqa: E402
from storage import outbox, people  # noqa: E402
from storage.catalog import load_catalog, sync_categories  # noqa: E402
from storage.db import Store, async_driver_url, upgrade_schema_async  # noqa: E402
from tests.fake_telegram import FakeBotApi  # noqa: E402

NOTICE = N_("Nothing is waiting for you. 👍")
LIMIT = 1000


async def fresh_database(admin: str) -> str:
    import asyncpg

    name = f"o_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(admin.replace("postgresql+asyncpg://", "postgresql://"))
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    url = admin.rsplit("/", 1)[0] + "/" + name
    await upgrade_schema_async(url)
    return url


async def queue_notices(url: str, count: int) -> None:
    store = Store(url)
    now = datetime.now(UTC)
    async with store.transaction() as session:
        await sync_categories(session, load_catalog())
        for i in range(count):
            person = await people.ensure_person(session, 1_000_000 + i, f"R{i}", "en", now)
            await outbox.enqueue(session, person.id, outbox.NoticePayload(NOTICE), now)
    await store.close()


async def start_worker(api: FakeBotApi, url: str, data_dir: Path, name: str, per_second: int):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLINE_")}
    env.update({"GRIDLINE_BOT_TOKEN": api.token, "GRIDLINE_API_URL": api.url, "GRIDLINE_DATA_DIR": str(data_dir),
                "GRIDLINE_DB_URL": url, "GRIDLINE_INSTANCE": name, "GRIDLINE_HTTP_PORT": "0",
                "GRIDLINE_SEND_PER_SECOND": str(per_second), "GRIDLINE_QUIET_HOURS": ""})
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "run", "--role", "worker", env=env,
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)


async def run_setup(admin: str, count: int, workers: int, per_second: int, folder: Path) -> None:
    url = await fresh_database(admin)
    await queue_notices(url, count)
    api = FakeBotApi()
    api.per_second = LIMIT
    await api.start()
    processes = [await start_worker(api, url, folder, f"worker-{n}", per_second) for n in range(workers)]
    try:
        # Cheap check per request (every call the workers make is a send, bar a getMe each), then the exact one.
        await api.wait_for(lambda: len(api.calls) >= count, timeout=count / 50 + 120)
        await api.wait_for(lambda: len(api.methods("sendMessage")) >= count, timeout=60)
        sends = api.methods("sendMessage")
        latencies = await queued_elsewhere_to_delivered(api, url)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            await process.wait()
        await api.stop()
    span = sends[-1].at - sends[0].at
    per_chat = Counter(int(call.params["chat_id"]) for call in sends)
    twice = sum(1 for n in per_chat.values() if n > 1)
    never = count - len(per_chat)
    print(f"{workers} worker(s) sharing {per_second}/s: {len(sends) / span:,.0f} messages/s "
          f"({len(sends):,} in {span:.1f} s), {api.too_many} 429s, {twice} chats twice, {never} never; "
          f"one message queued by another process with the workers idle reaches Telegram in "
          f"p50 {statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")


async def queued_elsewhere_to_delivered(api: FakeBotApi, url: str, samples: int = 20) -> list[float]:
    """As when a web process queues a task card: this process commits, a worker process sends."""
    store = Store(url)
    latencies = []
    for i in range(samples):
        before = len(api.calls)
        async with store.transaction() as session:
            person = await people.ensure_person(session, 2_000_000 + i, f"L{i}", "en", datetime.now(UTC))
            await outbox.enqueue(session, person.id, outbox.NoticePayload(NOTICE), datetime.now(UTC))
        committed = time.monotonic()
        await api.wait_for(lambda before=before: len(api.calls) > before, timeout=30)
        latencies.append(api.calls[before].at - committed)
    await store.close()
    return latencies


def start_postgres(folder: str) -> str:
    Path(folder).chmod(0o755)  # the server runs as the postgres user and must reach its folder
    return subprocess.run([str(ROOT / "scripts" / "test-postgres"), "start", f"{folder}/pg"], check=True,
                          capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--postgres", default="start", metavar="URL|start")
    parser.add_argument("--setups", default="1x1000,2x1000", metavar="NxRATE,...",
                        help="workers x GRIDLINE_SEND_PER_SECOND, the limit they share (default: 1x1000,2x1000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        admin = start_postgres(folder) if args.postgres == "start" else async_driver_url(args.postgres)
        try:
            for setup in args.setups.split(","):
                workers, per_second = map(int, setup.split("x"))
                asyncio.run(run_setup(admin, args.messages, workers, per_second, Path(folder) / "data"))
        finally:
            if args.postgres == "start":
                subprocess.run([str(ROOT / "scripts" / "test-postgres"), "stop", f"{folder}/pg"], check=False)


if __name__ == "__main__":
    main()
