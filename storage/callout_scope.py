"""Who may call people out where, and who a call-out reaches: a commander's areas, the micro-grids
of an area or around a point, the neighbouring ones, and the responders (and grid workers) in them.
Pure map geometry and role look-ups; nothing here changes the store."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import shapely
from shapely import affinity
from shapely.geometry import Point
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import roles
from storage.map_index import METRES_PER_DEGREE_LAT, AreaIndex
from storage.models import Mobilization
from storage.models import Role as HeldRole
from storage.vocab import Level, Role

COMMANDER_ROLES = (Role.LEADER, Role.DISPATCHER, Role.ADMIN)
RESPONDER_TAGS = roles.TAGS["responder"]
GRID_WORKERS = "grid_worker"  # a "tag" that calls the grid workers of the scope too
TAG_OPTIONS = (*RESPONDER_TAGS, GRID_WORKERS)



@dataclass(frozen=True)
class Command:
    """The areas a person may call out: a leader's grids, a dispatcher's or admin's areas."""

    areas: frozenset[str]
    everywhere: bool

    def covers(self, index: AreaIndex, code: str) -> bool:
        return self.everywhere or index.within(code, set(self.areas))

    def leads_to(self, index: AreaIndex, code: str) -> bool:
        """Whether a commander may open this area while choosing: one they command, or one on the
        way down to theirs (whose other parts they are not shown)."""
        return self.covers(index, code) or any(code in index.chain(area) for area in self.areas)

    def __bool__(self) -> bool:
        return self.everywhere or bool(self.areas)


async def command_of(session: AsyncSession, person_id: int) -> Command:
    rows = (await session.execute(
        select(HeldRole.role, HeldRole.area_code).where(HeldRole.person_id == person_id,
                                                        HeldRole.role.in_(COMMANDER_ROLES))
    )).all()
    return Command(frozenset(code for _role, code in rows if code),
                   any(role == Role.ADMIN and code is None for role, code in rows))


def _grids_of(index: AreaIndex, micro_grids: Sequence[str]) -> list[str]:
    """The grids these micro-grids belong to."""
    return sorted({parent for code in micro_grids if (parent := index.parent_of.get(code)) is not None})


def micro_grids_in(index: AreaIndex, codes: list[str]) -> list[str]:
    """The micro-grids of these areas (an area that is a micro-grid stands for itself)."""
    return sorted({code for code in index.under(codes) if index.level_of(code) == Level.MICROGRID})


def _micro_grids_touching(index: AreaIndex, shape: shapely.Geometry) -> set[str]:
    hits = index.tree.query(shape, predicate="intersects")
    return {index.codes[i] for i in hits.tolist() if index.levels[i] == Level.MICROGRID}


def micro_grids_around(index: AreaIndex, lat: float, lon: float, radius_m: float) -> list[str]:
    """Every micro-grid whose area touches the circle of `radius_m` around the point."""
    degrees = radius_m / METRES_PER_DEGREE_LAT
    circle = affinity.scale(Point(lon, lat).buffer(degrees, quad_segs=16),
                            xfact=1 / max(math.cos(math.radians(lat)), 0.01), yfact=1.0)
    return sorted(_micro_grids_touching(index, circle))


def wider_micro_grids(index: AreaIndex, current: list[str], whole_grids: bool) -> list[str]:
    """The micro-grids next to the current ones, or every micro-grid of their grids; new ones only."""
    have = set(current)
    if whole_grids:
        return sorted(set(micro_grids_in(index, _grids_of(index, current))) - have)
    outline = area_outline(index, current)
    if outline is None:
        return []
    return sorted(_micro_grids_touching(index, outline.buffer(1e-6)) - have)


def area_outline(index: AreaIndex, codes: list[str]) -> shapely.Geometry | None:
    """The union of the call-out's areas (for the CAP export)."""
    shapes = [index.boundaries[index.position[c]] for c in codes if c in index.position]
    return shapely.union_all(shapes) if shapes else None


async def people_in_scope(session: AsyncSession, index: AreaIndex, micro_grids: list[str], tags: list[str]) -> list[int]:
    """The responders of these micro-grids with any of the tags (all of them for no tag), and with
    the grid-workers "tag", the workers of their grids; each person once."""
    if not micro_grids:
        return []
    wanted = [t for t in tags if t in RESPONDER_TAGS]
    responders = (await session.execute(
        select(HeldRole.person_id, HeldRole.tags).where(HeldRole.role == Role.RESPONDER,
                                                        HeldRole.area_code.in_(micro_grids))
    )).all()
    chosen = {person for person, held in responders if not tags or any(t in (held or []) for t in wanted)}
    if GRID_WORKERS in tags:
        chosen |= set((await session.scalars(
            select(HeldRole.person_id).where(HeldRole.role == Role.WORKER,
                                             HeldRole.area_code.in_(_grids_of(index, micro_grids)))
        )).all())
    return sorted(chosen)


async def scope_of(session: AsyncSession, index: AreaIndex, mobilization: Mobilization) -> tuple[list[str], list[int]]:
    """The micro-grids a call-out reaches and the people in them."""
    if mobilization.center_lat is not None and mobilization.center_lon is not None and mobilization.radius_m:
        micro = micro_grids_around(index, mobilization.center_lat, mobilization.center_lon, mobilization.radius_m)
    else:
        micro = micro_grids_in(index, list(mobilization.area_codes))
    return micro, await people_in_scope(session, index, micro, list(mobilization.tags))
