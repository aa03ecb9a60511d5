"""The command-centre board (issue 17) with many open cases in the viewer's scope.

    .venv/bin/python bench/board.py [--cases 100000] [--db postgresql://...] [--runs 40]
    .venv/bin/python bench/board.py --cases 400 --screenshots docs/   # the pictures in the note

Prints p50/p95 of: each JSON call of the board's first load and the whole first load (the calls
the page makes, in parallel as it makes them); a city-zoom request (the whole district: counted
per cell) and a street-zoom one; and, in a real browser (Chromium, as the tests use), the time
from a case's submit to its marker on an open board. With --db on PostgreSQL the case is
submitted through a second store (its own engine and pool, as another process would), so the
board hears of it only by NOTIFY.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import shapely
from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.board_auth import sign_init_data
from bot.web import HttpFace
from handlers.runtime import Runtime
from storage import cases, people, roles
from storage.catalog import load_catalog, sync_categories
from storage.clock import ManualClock
from storage.db import Store, async_driver_url, upgrade_schema
from storage.map_import import DEMO_CITY, read_map, write_map
from storage.map_index import AreaIndex
from storage.models import Case, CheckIn, Mobilization, Responder
from storage.vocab import CallOutAnswer, CallOutState, CaseState, LocationSource, Placement
from tests.browser import chromium_path
from tests.fake_telegram import FakeBotApi
from tests.harness import settings_for

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
VIEWER_TG = 900_001
CITY_BOX = "29.80,121.45,29.95,121.62"
STREET_BOX = "29.850,121.500,29.862,121.515"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def line(label: str, seconds: list[float]) -> str:
    return f"{label:<44} p50 {statistics.median(seconds) * 1000:7.1f} ms   p95 {pct(seconds, 0.95) * 1000:7.1f} ms"


async def seed(store: Store, count: int, scene: bool) -> None:
    """The demo city, the catalog, a district dispatcher (the viewer) and `count` cases in micro-grids;
    with `scene`, also a live call-out with answers and some check-ins (for the pictures)."""
    rng = random.Random(17)
    async with store.transaction() as session:
        await write_map(session, read_map(DEMO_CITY.read_text(encoding="utf-8")), NOW)
        await sync_categories(session, load_catalog())
        index = await AreaIndex.load(session)
        viewer = await people.ensure_person(session, VIEWER_TG, "值班员 Duty officer", "zh", NOW)
        await roles.give_role(session, viewer.id, "dispatcher", "HS", [], NOW)
        leaf = [c for c in load_catalog().all() if c.parent_code]
    micro = [c for c in index.codes if index.level_of(c) == "microgrid"]
    shapes = {c: index.boundaries[index.position[c]] for c in micro}
    # Most open cases are with a worker; a few wait for a dispatcher (reported, accepted, escalated).
    open_states = [CaseState.ASSIGNED] * 18 + [CaseState.IN_PROGRESS] * 18 + [CaseState.REPORTED] * 2 + \
        [CaseState.ACCEPTED, CaseState.ESCALATED]
    hot = rng.sample(micro, 12)  # where problems cluster, as they do
    rows: list[dict[str, Any]] = []
    for i in range(count):
        code = rng.choice(hot) if rng.random() < 0.35 else rng.choice(micro)
        west, south, east, north = shapes[code].bounds
        lat, lon = rng.uniform(south, north), rng.uniform(west, east)
        category = rng.choice(leaf)
        done = scene and rng.random() < 0.45  # the pictures: some of the month's cases already closed
        created = NOW - timedelta(minutes=rng.randint(5, 60 * 24 * (25 if done else 4)))
        deadline = created + timedelta(hours=category.time_limit_hours)
        extra: dict[str, Any] = {}
        if done:
            resolved = created + timedelta(hours=category.time_limit_hours * rng.uniform(0.3, 1.4))
            extra = {"resolved_at": resolved, "closed_at": resolved + timedelta(hours=2),
                     "rating": rng.choice((1, 1, 1, 1, 0, None))}
        rows.append({"number": f"B{i:07d}", "state": CaseState.CLOSED if done else rng.choice(open_states),
                     "category_code": category.code, **extra,
                     "lat": lat, "lon": lon, "location_verified": True, "location_source": LocationSource.SHARED,
                     "created_at": created, "deadline_at": deadline, "updated_at": created, "placement": Placement.INSIDE,
                     "area_code": code, "nudges": 0, "reminders": 0, "channel": "telegram"})
        if len(rows) == 10_000:
            async with store.transaction() as session:
                await session.execute(insert(Case), rows)
            rows = []
    if rows:
        async with store.transaction() as session:
            await session.execute(insert(Case), rows)
    # A store that has settled: its statistics gathered (PostgreSQL: and its visibility map, for
    # index-only scans), as autovacuum or SQLite's ANALYZE would have by now.
    if store.engine.dialect.name == "postgresql":
        async with store.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("VACUUM ANALYZE cases")
    else:
        async with store.transaction() as session:
            await session.execute(text("ANALYZE"))
    if not scene:
        return
    async with store.transaction() as session:
        area = "HS-01-01-G2-M3"
        centre = shapes[area].centroid
        callout = Mobilization(commander_id=viewer.id, state=CallOutState.ACTIVE, area_codes=[area], center_lat=centre.y,
                               center_lon=centre.x, radius_m=300, tags=[], headline="积水抢险 Flooded underpass", need=8,
                               drill=False, created_at=NOW - timedelta(minutes=12), sent_at=NOW - timedelta(minutes=12))
        session.add(callout)
        await session.flush()
        answers = [CallOutAnswer.ARRIVED] * 3 + [CallOutAnswer.COMING] * 4 + [CallOutAnswer.CANNOT] + [None] * 4
        for n, answer in enumerate(answers):
            person = await people.ensure_person(session, 800_000 + n, f"志愿者{n + 1}", "zh", NOW)
            session.add(Responder(mobilization_id=callout.id, person_id=person.id, answer=answer,
                                  answered_at=NOW if answer else None, delivered_at=NOW, unreachable=False, alerts=1))
        for n in range(14):
            person = await people.ensure_person(session, 810_000 + n, f"网格员{n + 1}", "zh", NOW)
            grid = rng.choice([c for c in index.codes if index.level_of(c) == "grid"])
            await roles.give_role(session, person.id, "worker", grid, [], NOW)
            point = shapely.Point(*shapes[rng.choice(index.children_of(grid))].centroid.coords[0])
            session.add(CheckIn(person_id=person.id, at=NOW - timedelta(hours=rng.uniform(0, 1.5)), lat=point.y, lon=point.x))


def init_data(token: str) -> str:
    return sign_init_data({"auth_date": str(int(NOW.timestamp())), "query_id": "bench",
                           "user": json.dumps({"id": VIEWER_TG, "first_name": "Duty"})}, token)


async def timed(http: aiohttp.ClientSession, path: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    async with http.get(path, headers=headers) as response:
        assert response.status == 200, (path, response.status, await response.text())
        await response.read()
    return time.perf_counter() - started


async def measure_json(base: str, headers: dict[str, str], runs: int) -> None:
    load = ["/board/api/me", "/board/api/areas", f"/board/api/cases?bbox={CITY_BOX}&state=open", "/board/api/lists",
            "/board/api/callouts", "/board/api/checkins", "/board/api/figures"]
    async with aiohttp.ClientSession(base) as http:
        for path in load:  # warm: the map index, the pool
            took = await timed(http, path, headers)
            if "figures" in path:
                print(f"figures, first call (counted by the database; then kept a minute): {took * 1000:.1f} ms")
        each: dict[str, list[float]] = {path: [] for path in load}
        whole: list[float] = []
        for _ in range(runs):
            started = time.perf_counter()
            await timed(http, load[0], headers)  # me, then the areas, then the rest at once (as the page does)
            await timed(http, load[1], headers)
            await asyncio.gather(*(timed(http, p, headers) for p in load[2:]))
            whole.append(time.perf_counter() - started)
            for path in load:
                each[path].append(await timed(http, path, headers))
        print(line("first load (all its calls, as the page)", whole))
        for path in load:
            print(line("  " + path.split("?")[0].replace("/board/api/", "") + (" (city)" if "bbox" in path else ""), each[path]))
        for label, box in (("city zoom: cases (district, counted per cell)", CITY_BOX),
                           ("street zoom: cases (points)", STREET_BOX)):
            found = [await timed(http, f"/board/api/cases?bbox={box}&state=open", headers) for _ in range(runs)]
            print(line(label, found))
        async with http.get(f"/board/api/cases?bbox={CITY_BOX}", headers=headers) as response:
            body = await response.json()
        print(f"  (city zoom answers {len(body['cells'])} cells for {sum(c['count'] for c in body['cells'])} open cases)")


async def measure_browser(base: str, token: str, submit_store: Store, runtime: Runtime, runs: int, shots: Path | None) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                                   args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = await browser.new_page(viewport={"width": 1920, "height": 1080})
            started = time.perf_counter()
            await page.goto(f"{base}/board/#tgWebAppData={quote(init_data(token))}")
            await page.wait_for_selector("body[data-ready='1']", timeout=60000)
            print(f"first load in the browser (page, libraries, every call, drawn): {(time.perf_counter() - started) * 1000:.0f} ms")
            if shots is not None:
                await page.wait_for_timeout(800)
                await page.screenshot(path=str(shots / "board-desktop.png"))
                phone = await browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                               is_mobile=True, has_touch=True)
                await phone.goto(f"{base}/board/#tgWebAppData={quote(init_data(token))}")
                await phone.wait_for_selector("body[data-ready='1']", timeout=60000)
                await phone.wait_for_timeout(800)
                await phone.screenshot(path=str(shots / "board-phone.png"))
                print(f"screenshots: {shots / 'board-desktop.png'}, {shots / 'board-phone.png'}")
            await page.evaluate("window.gridlineBoard.map().setView([29.8560, 121.5075], 18)")
            await page.wait_for_timeout(500)
            waits: list[float] = []
            rng = random.Random(3)
            for n in range(runs):
                lat, lon = 29.8560 + rng.uniform(-0.0008, 0.0008), 121.5075 + rng.uniform(-0.0015, 0.0015)
                started = time.perf_counter()
                async with submit_store.transaction() as session:
                    case = await cases.submit_case(session, cases.NewCase(None, "municipal.manhole", f"bench {n}", lat, lon,
                                                                          None, LocationSource.SHARED, ()),
                                                   runtime.clock.now(), runtime.settings.zone)
                    case.area_code = "HS-01-01-G1-M1"
                    number = case.number
                await page.wait_for_function(f"window.gridlineBoard.numbers().indexOf({json.dumps(number)}) >= 0",
                                             timeout=10000, polling="raf")
                waits.append(time.perf_counter() - started)
            print(line("submit -> marker on an open board", waits))
        finally:
            await browser.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--db", help="a PostgreSQL URL (an empty database); default: a SQLite file")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--screenshots", type=Path, help="save board-desktop.png and board-phone.png here")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="gridline-board-"))
    url = async_driver_url(args.db) if args.db else f"sqlite+aiosqlite:///{folder / 'board.sqlite3'}"
    await asyncio.to_thread(upgrade_schema, url)
    store = Store(url)
    started = time.perf_counter()
    await seed(store, args.cases, scene=args.screenshots is not None)
    print(f"{args.cases:,} open cases in the viewer's scope ({'PostgreSQL' if args.db else 'SQLite'}), "
          f"seeded in {time.perf_counter() - started:.0f} s")
    api = FakeBotApi()
    await api.start()
    settings = settings_for(api, folder, db_url=args.db, map_tiles="")
    runtime = Runtime(settings=settings, store=store, clock=ManualClock(NOW), catalog=load_catalog())
    face = HttpFace(runtime, None)  # type: ignore[arg-type]  # the board needs no Bot API
    await face.start("127.0.0.1", 0)
    base = f"http://127.0.0.1:{face.port}"
    headers = {"Authorization": "tma " + init_data(api.token)}
    other = Store(url) if args.db else store  # PostgreSQL: as another process would
    try:
        await measure_json(base, headers, args.runs)
        await measure_browser(base, api.token, other, runtime, min(args.runs, 20), args.screenshots)
    finally:
        await face.stop()
        if other is not store:
            await other.close()
        await store.close()
        await api.stop()


if __name__ == "__main__":
    asyncio.run(main())
