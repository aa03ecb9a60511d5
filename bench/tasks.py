"""Workers' timers and lists on a city-sized store: 1,000,000 cases of which 100,000 are open.

    .venv/bin/python bench/tasks.py [--cases 1000000] [--open 100000] [--due 1000] [--postgres URL|start]

Builds a SQLite store in a temporary folder (the demo city, 2 workers and a leader per grid, the
default catalog), fills it with a year of cases through plain INSERTs, then measures what the bot
does with it:
- one reminder sweep (the 30-second job) when nothing is due, and when `--due` cases are due;
- a worker's and a leader's `/tasks` query (p50 and p95 over 200 runs);
- the statistics for the last 30 days (`gridline stats`, `/stats`);
- the resident memory of the process after all that (the bot's own footprint is about the same).

With `--postgres`, the SQLite store is then copied with `gridline db copy` into that (empty)
PostgreSQL database, or into a throwaway server started with scripts/test-postgres for `start`
(fsync off, so its writes are faster than a real server's), and every figure is measured on both,
side by side.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.settings import Settings
from bot.timers import timing_of
from storage import stats, tasks, timers
from storage.catalog import load_catalog, sync_categories
from storage.db import Store, upgrade_schema
from storage.map_import import DEMO_CITY, read_map, write_map
from storage.map_index import AreaIndex

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def prepare(url: str) -> tuple[list[str], dict[str, list[int]], dict[str, int], list[str]]:
    """The demo city, the catalog and the staff; returns micro-grids, workers and leaders per grid, categories."""
    store = Store(url)
    async with store.transaction() as session:
        await write_map(session, read_map(DEMO_CITY.read_text(encoding="utf-8")), NOW)
        await sync_categories(session, load_catalog())
        index = await AreaIndex.load(session)
    await store.close()
    grids = [c for c in index.codes if index.level_of(c) == "grid"]
    micro = [c for c in index.codes if index.level_of(c) == "microgrid"]
    db = sqlite3.connect(url.split("///", 1)[1])
    workers: dict[str, list[int]] = {}
    leaders: dict[str, int] = {}
    tg = 10_000
    for grid in grids:
        for role in ("worker", "worker", "leader"):
            tg += 1
            person = db.execute("INSERT INTO people (tg_id, name, language, language_chosen, blocked, hints, created_at, "
                                "last_seen_at) VALUES (?, ?, 'zh', 0, 0, '{}', ?, ?)",
                                (tg, f"P{tg}", NOW.isoformat(), NOW.isoformat())).lastrowid
            db.execute("INSERT INTO roles (person_id, role, area_code, tags, on_duty, created_at) VALUES (?, ?, ?, '[]', 1, ?)",
                       (person, role, grid, NOW.isoformat()))
            if role == "worker":
                workers.setdefault(grid, []).append(person)
            else:
                leaders[grid] = person
    categories = [row[0] for row in db.execute("SELECT code FROM categories WHERE parent_code IS NOT NULL")]
    db.commit()
    db.close()
    return micro, workers, leaders, categories


def fill(path: str, total: int, open_cases: int, due: int, micro: list[str], workers: dict[str, list[int]],
         categories: list[str]) -> None:
    rng = random.Random(7)
    db = sqlite3.connect(path)
    reporter = db.execute("INSERT INTO people (tg_id, name, language, language_chosen, blocked, hints, created_at, "
                          "last_seen_at) VALUES (1, 'Citizen', 'zh', 0, 0, '{}', ?, ?)", (NOW.isoformat(), NOW.isoformat())).lastrowid
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    rows = []
    for i in range(total):
        is_open = i >= total - open_cases
        created = NOW - timedelta(minutes=rng.randint(1, 60 * 24 * (3 if is_open else 365)))
        area = rng.choice(micro)
        grid = area.rsplit("-", 1)[0]
        assignee = rng.choice(workers[grid])
        deadline = created + timedelta(hours=rng.choice((4, 24, 48, 72)))
        accepted = created + timedelta(minutes=rng.randint(1, 60))
        if is_open:
            state = rng.choice(("assigned", "in_progress", "in_progress"))
            resolved = closed = None
            # Most open cases' next alarm lies ahead; `due` of them have come due for this sweep.
            alarm = NOW - timedelta(seconds=rng.randint(1, 30)) if i >= total - due else NOW + timedelta(minutes=rng.randint(1, 600))
            accepted_at = accepted if state == "in_progress" else None
        else:
            state = rng.choice(("closed",) * 9 + ("rejected",))
            resolved = created + timedelta(hours=rng.uniform(1, 80))
            closed = resolved + timedelta(hours=1)
            alarm = None
            accepted_at = accepted
        rating = rng.choice((1, 1, 1, 0, None)) if state == "closed" else None
        number = f"{created:%y%m%d}-{i:07d}"
        rows.append((number, reporter, state, rng.choice(categories), created.strftime(fmt), deadline.strftime(fmt),
                     created.strftime(fmt), closed.strftime(fmt) if closed else None, area, assignee, "inside",
                     created.strftime(fmt), accepted_at.strftime(fmt) if accepted_at else None,
                     resolved.strftime(fmt) if resolved else None, alarm.strftime(fmt) if alarm else None, rating))
        if len(rows) == 50_000:
            _insert(db, rows)
            rows = []
    _insert(db, rows)
    db.commit()
    db.execute("ANALYZE")
    db.close()


def _insert(db: sqlite3.Connection, rows: list[tuple]) -> None:  # type: ignore[type-arg]
    db.executemany(
        "INSERT INTO cases (number, reporter_id, state, category_code, created_at, deadline_at, updated_at, closed_at, "
        "area_code, assignee_id, placement, assigned_at, accepted_at, resolved_at, alarm_at, rating, location_verified, "
        "location_source, lat, lon, nudges, reminders) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 'shared', 29.85, 121.50, 0, 0)", rows)


async def measure(engine: str, url: str, due: int, workers: dict[str, list[int]], leaders: dict[str, int]) -> None:
    print(f"-- {engine}")
    store = Store(url)
    timing = timing_of(Settings(_env_file=None))
    async with store.transaction() as session:
        index = await AreaIndex.load(session)
    # The sweep with `due` cases due: the first run does the work, the second finds nothing.
    started = time.perf_counter()
    looked = 0
    while True:
        async with store.transaction() as session:
            result = await timers.sweep(session, index, timing, NOW)
        looked += result.looked_at
        if not result.more:
            break
    busy = time.perf_counter() - started
    started = time.perf_counter()
    async with store.transaction() as session:
        idle_result = await timers.sweep(session, index, timing, NOW)
    idle = time.perf_counter() - started
    print(f"reminder sweep, {looked} cases due: {ms(busy)} ({busy / max(looked, 1) * 1000:.2f} ms per case)")
    print(f"reminder sweep, nothing due ({idle_result.looked_at} looked at): {ms(idle)}")

    worker = next(iter(workers.values()))[0]
    leader = next(iter(leaders.values()))
    for label, person in (("worker", worker), ("leader", leader)):
        samples = []
        for _ in range(200):
            started = time.perf_counter()
            async with store.transaction() as session:
                shown, total = await tasks.open_tasks(session, index, person)
            samples.append(time.perf_counter() - started)
        samples.sort()
        print(f"/tasks for a {label} ({total} open, {len(shown)} shown): p50 {ms(statistics.median(samples))}, "
              f"p95 {ms(samples[int(len(samples) * 0.95)])}")

    started = time.perf_counter()
    async with store.transaction() as session:
        report = await stats.gather(session, index, NOW - timedelta(days=30), NOW)
    took = time.perf_counter() - started
    print(f"statistics for 30 days ({report.overall.total} cases, {len(report.per_area)} grids, "
          f"{len(report.per_worker)} workers): {ms(took)}")
    print(f"resident memory of this process: {rss_mb():.0f} MB")
    await store.close()


def copy_to_postgres(sqlite_url: str, target: str) -> str:
    from storage.copy import copy_store

    started = time.perf_counter()
    report = asyncio.run(copy_store(sqlite_url, target))
    print(f"gridline db copy to PostgreSQL: {report.rows:,} rows in {time.perf_counter() - started:.0f} s")
    return target


def started_postgres(folder: str) -> str:
    import subprocess

    script = Path(__file__).resolve().parent.parent / "scripts" / "test-postgres"
    Path(folder).chmod(0o755)  # the server runs as the postgres user and must reach its folder
    admin = subprocess.run([str(script), "start", f"{folder}/pg"], check=True, capture_output=True, text=True).stdout.strip()
    import asyncpg

    async def create() -> None:
        connection = await asyncpg.connect(admin.replace("postgresql+asyncpg://", "postgresql://"))
        await connection.execute("CREATE DATABASE bench")
        await connection.close()

    asyncio.run(create())
    return admin.rsplit("/", 1)[0] + "/bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--postgres", metavar="URL|start", help="also measure on PostgreSQL (an empty database, "
                                                                  "or `start` for a throwaway local server)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/bench.sqlite3"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade_schema(url)
        micro, workers, leaders, categories = asyncio.run(prepare(url))
        started = time.perf_counter()
        fill(path, args.cases, args.open, args.due, micro, workers, categories)
        print(f"store: {args.cases:,} cases ({args.open:,} open) in {time.perf_counter() - started:.0f} s, "
              f"{Path(path).stat().st_size / 1e6:.0f} MB on disk")
        postgres = None
        if args.postgres:
            postgres = copy_to_postgres(url, started_postgres(folder) if args.postgres == "start" else args.postgres)
            asyncio.run(analyze(postgres))
        try:
            asyncio.run(measure("SQLite", url, args.due, workers, leaders))
            if postgres:
                asyncio.run(measure("PostgreSQL", postgres, args.due, workers, leaders))
        finally:
            if args.postgres == "start":
                import subprocess

                subprocess.run([str(Path(__file__).resolve().parent.parent / "scripts" / "test-postgres"), "stop",
                                f"{folder}/pg"], check=False)


async def analyze(url: str) -> None:
    from sqlalchemy import text

    store = Store(url)
    async with store.engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("ANALYZE"))
    await store.close()


if __name__ == "__main__":
    main()
