"""Case steps to the city platform on a big store: 200,000 posted cases with 8 steps each, of which
`--pending` wait to be sent.

    .venv/bin/python bench/platform_updates.py [--cases 200000] [--pending 20000]

Builds a SQLite store in a temporary folder through plain INSERTs, then measures:
- one claim of due steps (`platform_updates.claim_due`, 50 at a time, one per case, in order) when
  `--pending` steps wait, and when none do;
- one page of Gridline's own `GET servicerequestupdates` (`platform_updates.steps_since`, 1,000 steps
  since an hour ago, then page 50 of the whole history);
- p50 over 20 runs each.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage import platform_updates
from storage.catalog import load_catalog, sync_categories
from storage.db import Store, upgrade_schema

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
STEPS = ("assigned", "in_progress", "verifying", "in_progress", "verifying", "resolved", "closed", "reopened")


def fill(path: str, count: int, pending: int) -> None:
    db = sqlite3.connect(path)
    start = NOW - timedelta(days=365)
    cases, syncs, events, updates = [], [], [], []
    event_id = 0
    for i in range(1, count + 1):
        at = start + timedelta(seconds=i * 365 * 86400 // count)
        cases.append((i, f"C{i:07d}", at.isoformat(), (at + timedelta(hours=72)).isoformat(), at.isoformat()))
        syncs.append((i, at.isoformat(), f"up-{i}"))
        previous = "reported"
        for n, state in enumerate(STEPS):
            event_id += 1
            when = at + timedelta(hours=n + 1)
            events.append((event_id, i, when.isoformat(), previous, state))
            waiting = i > count - pending // len(STEPS)
            updates.append((event_id, i, event_id, f"gridline-{event_id}", when.isoformat(),
                            "new" if waiting else "sent", when.isoformat()))
            previous = state
    db.executemany("INSERT INTO cases (id, number, state, category_code, created_at, deadline_at, updated_at, "
                   "location_verified, location_source, nudges, reminders) "
                   "VALUES (?, ?, 'closed', 'other', ?, ?, ?, 1, 'shared', 0, 0)", cases)
    db.executemany("INSERT INTO upstream_sync (case_id, state, attempts, next_at, maybe_posted, upstream_id, created_at) "
                   "VALUES (?, 'posted', 1, ?, 0, ?, '2026-01-01')", syncs)
    db.executemany("INSERT INTO case_events (id, case_id, at, kind, from_state, to_state) VALUES (?, ?, ?, 'state', ?, ?)",
                   events)
    db.executemany("INSERT INTO upstream_updates (id, case_id, event_id, update_id, status, description, updated_at, "
                   "state, attempts, next_at) VALUES (?, ?, ?, ?, 'open', 'step', ?, ?, 0, ?)", updates)
    db.commit()
    db.close()


async def p50(action: Callable[[], Awaitable[None]], runs: int = 20) -> float:
    spans = []
    for _ in range(runs):
        began = time.perf_counter()
        await action()
        spans.append(time.perf_counter() - began)
    return statistics.median(spans) * 1000


async def measure(url: str, pending: int) -> None:
    store = Store(url)

    async def claim() -> None:
        async with store.transaction() as session:
            await platform_updates.claim_due(session, NOW + timedelta(days=400))
            await session.rollback()  # measured again from the same store

    async def recent() -> None:
        async with store.transaction() as session:
            await platform_updates.steps_since(session, NOW - timedelta(hours=1), None, 1, 1000)

    async def deep() -> None:
        async with store.transaction() as session:
            await platform_updates.steps_since(session, None, None, 50, 1000)

    print(f"claim_due, {pending} steps waiting: {await p50(claim):.1f} ms (p50)")
    print(f"GET servicerequestupdates, since an hour ago, 1,000 a page: {await p50(recent):.1f} ms (p50)")
    print(f"GET servicerequestupdates, page 50 of the whole history: {await p50(deep):.1f} ms (p50)")
    await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--pending", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/bench.sqlite"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade_schema(url)
        store = Store(url)

        async def catalog() -> None:
            async with store.transaction() as session:
                await sync_categories(session, load_catalog())
            await store.close()

        asyncio.run(catalog())
        began = time.perf_counter()
        fill(path, args.cases, args.pending)
        print(f"{args.cases} cases, {args.cases * len(STEPS)} steps, filled in {time.perf_counter() - began:.1f} s")
        asyncio.run(measure(url, args.pending))
        if args.pending:  # and again with nothing waiting
            db = sqlite3.connect(path)
            db.execute("UPDATE upstream_updates SET state = 'sent'")
            db.commit()
            db.close()
            asyncio.run(measure(url, 0))


if __name__ == "__main__":
    main()
