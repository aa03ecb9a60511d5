"""The map as a running process reads it: where a point is (the deepest area that contains it,
through a spatial index over all boundaries), the tree of areas (what lies above and inside an
area, which grid it is in), and distances on the ground."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import STRtree
from shapely.geometry import Point
from shapely.ops import nearest_points
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.map_import import DEPTH
from storage.models import Area
from storage.vocab import Level, Placement

NEAR_METRES = 200
METRES_PER_DEGREE_LAT = 110_574
EARTH_RADIUS_M = 6_371_000


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class Located:
    """Where a point fell. inside: it lies in `code`; near: it lies `distance_m` outside it;
    outside: in nothing."""

    code: str | None
    how: Placement
    distance_m: float = 0.0


class AreaIndex:
    """Every area of the map in memory: its level, its parent, its boundary in a spatial index."""

    def __init__(self, codes: list[str], levels: list[Level], parents: list[str | None], boundaries: list[shapely.Geometry],
                 version: tuple[object, ...] = ()) -> None:
        self.codes = codes
        self.depths = np.array([DEPTH[level] for level in levels], dtype=np.int8)
        self.levels = levels
        self.parent_of: dict[str, str | None] = dict(zip(codes, parents, strict=True))
        self.children: dict[str | None, list[str]] = {}
        for code, parent in zip(codes, parents, strict=True):
            self.children.setdefault(parent, []).append(code)
        self.position = {code: i for i, code in enumerate(codes)}
        self.boundaries = boundaries
        self.tree = STRtree(boundaries)
        self.version = version

    @classmethod
    async def load(cls, session: AsyncSession) -> AreaIndex:
        rows = (await session.execute(
            select(Area.code, Area.level, Area.parent_code, Area.boundary).order_by(Area.code)
        )).all()
        boundaries = list(shapely.from_wkb([r.boundary for r in rows])) if rows else []
        return cls([r.code for r in rows], [r.level for r in rows], [r.parent_code for r in rows], boundaries,
                   await map_version(session))

    def __len__(self) -> int:
        return len(self.codes)

    def _deepest(self, candidates: np.ndarray) -> int:
        # Deepest level first; on a shared border, the smallest code: the same answer every time.
        positions: list[int] = candidates.tolist()
        return min(positions, key=lambda i: (-self.depths[i], self.codes[i]))

    def locate(self, lon: float, lat: float, near_m: float = NEAR_METRES) -> Located:
        if not self.codes:
            return Located(None, Placement.OUTSIDE)
        point = Point(lon, lat)
        inside = self.tree.query(point, predicate="covered_by")
        if len(inside):
            return Located(self.codes[self._deepest(inside)], Placement.INSIDE)
        reach = near_m / (METRES_PER_DEGREE_LAT * max(math.cos(math.radians(lat)), 0.01))
        nearby = self.tree.query(point, predicate="dwithin", distance=reach)
        best: tuple[float, int, str] | None = None
        for i in nearby.tolist():
            nearest = nearest_points(self.boundaries[i], point)[0]
            metres = distance_m(lat, lon, nearest.y, nearest.x)
            key = (round(metres, 3), -int(self.depths[i]), self.codes[i])
            if metres <= near_m and (best is None or key < best):
                best = key
        if best is None:
            return Located(None, Placement.OUTSIDE)
        return Located(best[2], Placement.NEAR, best[0])

    def chain(self, code: str) -> list[str]:
        """The area and every area above it, deepest first."""
        result: list[str] = []
        current: str | None = code
        while current is not None and current in self.position:
            result.append(current)
            current = self.parent_of.get(current)
        return result

    def children_of(self, code: str | None) -> list[str]:
        """The areas directly inside `code` (the top-level areas for None), by code."""
        return self.children.get(code, [])

    def under(self, codes: Iterable[str]) -> list[str]:
        """These areas and every area inside them, each area before what lies inside it."""
        found: list[str] = []
        stack = list(reversed(list(codes)))
        while stack:
            current = stack.pop()
            found.append(current)
            stack.extend(self.children_of(current))
        return found

    def grid_of(self, area_code: str | None) -> str | None:
        """The grid an area lies in (itself, for a grid); None above the grids, or for no area."""
        if not area_code:
            return None
        return next((code for code in self.chain(area_code) if self.level_of(code) == Level.GRID), None)

    def within(self, code: str, scope: set[str]) -> bool:
        """Whether `code` is one of the areas in `scope` or lies inside one of them."""
        return any(c in scope for c in self.chain(code))

    def level_of(self, code: str) -> Level | None:
        position = self.position.get(code)
        return self.levels[position] if position is not None else None


async def map_version(session: AsyncSession) -> tuple[object, ...]:
    """Changes whenever areas are imported, so a running bot knows to reload its index."""
    count, newest = (await session.execute(_VERSION)).one()
    return (count, newest)


_VERSION = select(func.count(), func.max(Area.updated_at))  # built once: asked at most turns


class MapCache:
    """The index a process looks points up in, rebuilt when an import has changed the areas."""

    def __init__(self) -> None:
        self._index: AreaIndex | None = None

    async def index(self, session: AsyncSession) -> AreaIndex:
        version = await map_version(session)
        if self._index is None or self._index.version != version:
            self._index = await AreaIndex.load(session)
        return self._index
