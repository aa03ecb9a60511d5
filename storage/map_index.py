"""Where a point is: the deepest area that contains it, through a spatial index over all boundaries."""

from __future__ import annotations

import math
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

NEAR_METRES = 200
METRES_PER_DEGREE_LAT = 110_574


@dataclass(frozen=True)
class Placement:
    """inside: the point lies in `code`; near: it lies `distance_m` outside it; outside: in nothing."""

    code: str | None
    how: str
    distance_m: float = 0.0


class AreaIndex:
    def __init__(self, codes: list[str], levels: list[str], parents: list[str | None], boundaries: list[shapely.Geometry],
                 version: tuple[object, ...] = ()) -> None:
        self.codes = codes
        self.depths = np.array([DEPTH[level] for level in levels], dtype=np.int8)
        self.levels = levels
        self.parent_of = dict(zip(codes, parents, strict=True))
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
        return min(candidates.tolist(), key=lambda i: (-self.depths[i], self.codes[i]))

    def locate(self, lon: float, lat: float, near_m: float = NEAR_METRES) -> Placement:
        if not self.codes:
            return Placement(None, "outside")
        point = Point(lon, lat)
        inside = self.tree.query(point, predicate="covered_by")
        if len(inside):
            return Placement(self.codes[self._deepest(inside)], "inside")
        reach = near_m / (METRES_PER_DEGREE_LAT * max(math.cos(math.radians(lat)), 0.01))
        nearby = self.tree.query(point, predicate="dwithin", distance=reach)
        best: tuple[float, int, str] | None = None
        for i in nearby.tolist():
            nearest = nearest_points(self.boundaries[i], point)[0]
            metres = _metres(lat, lon, nearest.y, nearest.x)
            key = (round(metres, 3), -int(self.depths[i]), self.codes[i])
            if metres <= near_m and (best is None or key < best):
                best = key
        if best is None:
            return Placement(None, "outside")
        return Placement(best[2], "near", best[0])

    def chain(self, code: str) -> list[str]:
        """The area and every area above it, deepest first."""
        result = []
        current: str | None = code
        while current is not None and current in self.position:
            result.append(current)
            current = self.parent_of.get(current)
        return result

    def children_of(self, code: str | None) -> list[str]:
        """The areas directly inside `code` (the top-level areas for None), by code."""
        return self.children.get(code, [])

    def within(self, code: str, scope: set[str]) -> bool:
        """Whether `code` is one of the areas in `scope` or lies inside one of them."""
        return any(c in scope for c in self.chain(code))

    def level_of(self, code: str) -> str | None:
        position = self.position.get(code)
        return self.levels[position] if position is not None else None


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


async def map_version(session: AsyncSession) -> tuple[object, ...]:
    """Changes whenever areas are imported, so a running bot knows to reload its index."""
    count, newest = (await session.execute(select(func.count(), func.max(Area.updated_at)))).one()
    return (count, newest)


class MapCache:
    """The index a process looks points up in, rebuilt when an import has changed the areas."""

    def __init__(self) -> None:
        self._index: AreaIndex | None = None

    async def index(self, session: AsyncSession) -> AreaIndex:
        version = await map_version(session)
        if self._index is None or self._index.version != version:
            self._index = await AreaIndex.load(session)
        return self._index
