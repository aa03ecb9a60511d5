"""Finding the micro-grid of a point among 40,000 (one big city's worth).

    .venv/bin/python bench/map_lookup.py [--areas 40000] [--lookups 20000]

Generates a 200 x 200 tiling of jittered quadrilaterals (about 100 m across) around Ningbo,
imports it through the same path as `gridline grids import` into a SQLite store in a temporary
folder, loads the spatial index as the bot does, and looks up random points: lookups per second
and p50/p99 latency, next to a plain loop that tests every polygon in turn on the same points.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shapely.geometry import Point

from storage.clock import SystemClock
from storage.db import Store, upgrade_schema
from storage.map_import import read_map, write_map
from storage.map_index import AreaIndex

WEST, SOUTH, STEP = 121.40, 29.75, 0.001  # about 100 m


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def generate(areas: int, rng: random.Random) -> str:
    side = int(math.isqrt(areas))
    # Shared corners are jittered once, so neighbours still tile without gaps or overlaps.
    corners = [[(WEST + c * STEP + rng.uniform(-0.2, 0.2) * STEP * (0 < c < side),
                 SOUTH + r * STEP + rng.uniform(-0.2, 0.2) * STEP * (0 < r < side))
                for c in range(side + 1)] for r in range(side + 1)]
    features = []
    for r in range(side):
        for c in range(side):
            ring = [corners[r][c], corners[r][c + 1], corners[r + 1][c + 1], corners[r + 1][c], corners[r][c]]
            features.append({"type": "Feature", "properties": {"code": f"M{r:03d}-{c:03d}", "name": f"M {r}-{c}",
                             "level": "microgrid"}, "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return json.dumps({"type": "FeatureCollection", "features": features})


async def import_and_load(text: str, url: str) -> tuple[float, float, AreaIndex]:
    store = Store(url)
    started = time.perf_counter()
    features = read_map(text)
    async with store.transaction() as session:
        await write_map(session, features, SystemClock().now())
    imported = time.perf_counter() - started
    started = time.perf_counter()
    async with store.transaction() as session:
        index = await AreaIndex.load(session)
    loaded = time.perf_counter() - started
    await store.close()
    return imported, loaded, index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--areas", type=int, default=40_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--plain", type=int, default=200, help="points for the plain loop (it is slow)")
    args = parser.parse_args()
    rng = random.Random(7)
    text = generate(args.areas, rng)
    side = int(math.isqrt(args.areas))
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.sqlite3"
        upgrade_schema(url)
        before = rss_mb()
        imported, loaded, index = asyncio.run(import_and_load(text, url))
        after = rss_mb()
    points = [(WEST + rng.uniform(0, side * STEP), SOUTH + rng.uniform(0, side * STEP)) for _ in range(args.lookups)]
    timings = []
    found = 0
    for lon, lat in points:
        started = time.perf_counter_ns()
        placement = index.locate(lon, lat)
        timings.append(time.perf_counter_ns() - started)
        found += placement.code is not None
    plain_timings = []
    for lon, lat in points[: args.plain]:
        started = time.perf_counter_ns()
        point = Point(lon, lat)
        next((code for code, boundary in zip(index.codes, index.boundaries, strict=True) if boundary.covers(point)), None)
        plain_timings.append(time.perf_counter_ns() - started)
    mean = statistics.fmean(timings) / 1e6
    plain_mean = statistics.fmean(plain_timings) / 1e6
    p50, p99 = (statistics.quantiles(timings, n=100)[i] / 1e6 for i in (49, 98))
    print(f"areas: {len(index)} micro-grids; import (check + write to SQLite): {imported:.1f} s; index load: {loaded:.2f} s")
    print(f"memory: {after - before:.0f} MB more resident after import and load ({after:.0f} MB in all)")
    print(f"index lookups: {len(points)}, found {found}; {1000 / mean:,.0f}/s; p50 {p50:.3f} ms, p99 {p99:.3f} ms")
    print(f"plain loop over all polygons: {1000 / plain_mean:,.1f}/s ({plain_mean:.1f} ms each, {len(plain_timings)} points)")
    print(f"index / plain loop: {plain_mean / mean:,.0f}x")


if __name__ == "__main__":
    main()
