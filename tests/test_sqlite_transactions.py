"""SQLite transactions run on the event loop's thread (storage/sqlite_driver.py): what may wait still
waits off the loop, errors roll back as before, and the WAL is checkpointed by the Store."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from storage import people
from storage.db import CHECKPOINT_COMMITS, Store, upgrade_schema_async
from storage.models import Person

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def sqlite_store(tmp_path):
    path = tmp_path / "store.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade_schema_async(url)
    store = Store(url)
    yield store, path
    await store.close()


async def test_a_writer_in_another_process_is_waited_for_off_the_event_loop(sqlite_store):
    store, path = sqlite_store
    async with store.transaction() as session:
        await people.touch_person(session, 1, "A", "en", NOW)
    held = threading.Event()

    def other_process() -> None:
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("UPDATE people SET name = 'other'")
        held.set()
        time.sleep(0.5)
        connection.execute("COMMIT")
        connection.close()

    writer = threading.Thread(target=other_process)
    writer.start()
    await asyncio.to_thread(held.wait)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    ticker = asyncio.create_task(tick())
    async with store.transaction() as session:
        person = await people.touch_person(session, 1, "B", "en", NOW)
    ticker.cancel()
    await asyncio.to_thread(writer.join)
    assert person.name == "B"  # after the other writer's commit
    assert ticks >= 5  # the loop went on while this transaction waited for the lock


async def test_a_failed_transaction_rolls_back_and_says_why(sqlite_store):
    store, _path = sqlite_store
    async with store.transaction() as session:
        await people.touch_person(session, 1, "A", "en", NOW)
    with pytest.raises(IntegrityError):
        async with store.transaction() as session:
            await people.touch_person(session, 2, "B", "en", NOW)
            session.add(Person(tg_id=1, name="twin", language="en", language_chosen=False, blocked=False,
                               never_opened=False, hints={}, created_at=NOW, last_seen_at=NOW))
            await session.flush()
    async with store.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Person)) == 1


async def test_the_store_checkpoints_the_wal(sqlite_store):
    store, path = sqlite_store
    for number in range(3 * CHECKPOINT_COMMITS):
        async with store.transaction() as session:
            await people.touch_person(session, 1000 + number, "N" * 100, "en", NOW)
    await asyncio.sleep(0)
    await store.checkpoint()
    connection = sqlite3.connect(path)
    try:
        _busy, frames, done = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        connection.close()
    assert done == frames
    # Started over after each checkpoint: what is left is what came since the last one.
    assert frames < 3 * CHECKPOINT_COMMITS
