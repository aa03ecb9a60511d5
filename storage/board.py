"""What the command-centre board (issue 17) reads, always within the viewer's scope: cases in a
box of the map (points, or cells counted when there are too many), a case's detail, the lists
beside the map, live call-outs with their roll call, today's check-ins and the figures per grid;
and the board's passes (one-time links and sessions, only their hashes kept).

The scope is the one /stats uses (`stats.stats_scope`): a leader's grids, a dispatcher's areas,
an admin's areas or everything; everything inside them. Nobody else has a board.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import shapely
from sqlalchemy import ColumnElement, Integer, and_, case, cast, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import callouts, stats
from storage.db import changed_rows
from storage.map_index import AreaIndex
from storage.models import (
    Area,
    BoardPass,
    Case,
    CaseEvent,
    CasePhoto,
    Category,
    CheckIn,
    Mobilization,
    Person,
    Role,
)
from storage.policy import DISPATCH_STATES
from storage.vocab import OPEN_STATES, CallOutState, CaseState, Level
from storage.vocab import Role as RoleName

MAX_POINTS = 2000  # more cases than this in the box: counted per cell instead
CELLS_ACROSS = 40  # cells across the box when counting
HEAT_CELLS_ACROSS = 120
HEAT_DAYS = 30
LIST_LIMIT = 30
LINK_LIFETIME = timedelta(minutes=10)
SESSION_LIFETIME = timedelta(hours=12)
LINK, SESSION = "link", "session"  # the kinds of BoardPass


@dataclass(frozen=True)
class BoardScope:
    """The areas a person's board shows: `codes` every area inside their scope (None: the whole
    map, and cases on no area too); `roots` the areas their roles name (the top areas for everything)."""

    codes: frozenset[str] | None
    roots: tuple[str, ...]
    whole_map: bool = False  # `codes` holds every area (a dispatcher of the city): "on the map" says it cheaper

    def covers(self, area_code: str | None) -> bool:
        if self.codes is None:
            return True
        return area_code is not None and area_code in self.codes

    def case_filter(self) -> ColumnElement[bool] | None:
        if self.codes is None:
            return None
        return Case.area_code.is_not(None) if self.whole_map else Case.area_code.in_(sorted(self.codes))


async def board_scope(session: AsyncSession, index: AreaIndex, person_id: int) -> BoardScope | None:
    """The person's board scope, or None when they may not have a board."""
    areas = await stats.stats_scope(session, person_id)
    if areas is None:
        return None
    if not areas:
        return BoardScope(None, tuple(index.children_of(None)))
    known = [code for code in areas if code in index.position]
    codes = frozenset(index.under(known))
    return BoardScope(codes, tuple(known), whole_map=len(codes) == len(index.position))


@dataclass(frozen=True)
class Filters:
    """What the viewer narrowed the board to: an area (inside their scope), a category (and its
    subcategories), a state (`open`, `overdue`, `waiting` or a state's name), the last N days."""

    area: str | None = None
    category: str | None = None
    state: str = "open"
    days: int | None = None


def _conditions(scope: BoardScope, index: AreaIndex, filters: Filters, now: datetime,
                categories: Sequence[str] | None) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if filters.area:
        codes = sorted(set(index.under([filters.area])) & (scope.codes if scope.codes is not None else set(index.position)))
        found.append(Case.area_code.in_(codes))
    else:
        own = scope.case_filter()
        if own is not None:
            found.append(own)
    if categories is not None:
        found.append(Case.category_code.in_(list(categories)))
    if filters.state == "overdue":
        found += [Case.state.in_(OPEN_STATES), Case.deadline_at < now]
    elif filters.state == "waiting":
        found.append(Case.state.in_(DISPATCH_STATES))
    elif filters.state in tuple(CaseState):
        found.append(Case.state == CaseState(filters.state))
    elif filters.state != "all":
        found.append(Case.state.in_(OPEN_STATES))
    if filters.days:
        found.append(Case.created_at >= now - timedelta(days=filters.days))
    return found


async def category_codes(session: AsyncSession, code: str | None) -> list[str] | None:
    """A category and its subcategories (None: no filter)."""
    if not code:
        return None
    children = (await session.scalars(select(Category.code).where(Category.parent_code == code))).all()
    return [code, *children]


@dataclass(frozen=True)
class Box:
    south: float
    west: float
    north: float
    east: float

    def condition(self) -> ColumnElement[bool]:
        return and_(Case.lat >= self.south, Case.lat <= self.north, Case.lon >= self.west, Case.lon <= self.east)


async def cases_in_box(session: AsyncSession, index: AreaIndex, scope: BoardScope, box: Box, filters: Filters,
                       now: datetime) -> dict[str, Any]:
    """The cases in a box: `points` (each case) when at most MAX_POINTS, else `cells` (a count,
    how many overdue, and their mean position per cell of a grid laid over the box)."""
    where = [box.condition(), *_conditions(scope, index, filters, now, await category_codes(session, filters.category))]
    overdue = case((and_(Case.state.in_(OPEN_STATES), Case.deadline_at < now), 1), else_=0)
    # How many, counted no further than needed (from the index alone), before any row is read.
    many = await session.scalar(select(func.count()).select_from(select(Case.id).where(*where).limit(MAX_POINTS + 1).subquery()))
    if (many or 0) <= MAX_POINTS:
        rows = (await session.execute(select(Case.id, Case.number, Case.lat, Case.lon, Case.state, overdue).where(*where))).all()
        return {"points": [{"id": r[0], "number": r[1], "lat": r[2], "lon": r[3], "state": r[4].value,
                            "overdue": bool(r[5])} for r in rows[:MAX_POINTS]], "cells": []}
    size = max(box.north - box.south, box.east - box.west, 1e-6) / CELLS_ACROSS
    cy = cast((Case.lat - box.south) / size, Integer)
    cx = cast((Case.lon - box.west) / size, Integer)
    cells = (await session.execute(
        select(func.count(), func.sum(overdue), func.avg(Case.lat), func.avg(Case.lon)).where(*where).group_by(cy, cx)
    )).all()
    return {"points": [], "cells": [{"count": int(n), "overdue": int(late or 0), "lat": float(lat), "lon": float(lon)}
                                    for n, late, lat, lon in cells]}


async def heat(session: AsyncSession, scope: BoardScope, box: Box, now: datetime) -> list[list[float]]:
    """The reports of the last 30 days in the box, counted per small cell: [lat, lon, count]."""
    size = max(box.north - box.south, box.east - box.west, 1e-6) / HEAT_CELLS_ACROSS
    cy = cast((Case.lat - box.south) / size, Integer)
    cx = cast((Case.lon - box.west) / size, Integer)
    where = [box.condition(), Case.created_at >= now - timedelta(days=HEAT_DAYS)]
    own = scope.case_filter()
    if own is not None:
        where.append(own)
    rows = (await session.execute(
        select(func.avg(Case.lat), func.avg(Case.lon), func.count()).where(*where).group_by(cy, cx)
    )).all()
    return [[round(float(lat), 6), round(float(lon), 6), int(n)] for lat, lon, n in rows]


def _brief(row: Any, names: dict[str, str], now: datetime) -> dict[str, Any]:
    return {"id": row.id, "number": row.number, "state": row.state.value, "category": row.category_code,
            "area": names.get(row.area_code or "", row.area_code), "lat": row.lat, "lon": row.lon,
            "created_at": row.created_at.isoformat(), "deadline_at": row.deadline_at.isoformat(),
            "overdue": row.state in OPEN_STATES and row.deadline_at < now}


async def _area_names(session: AsyncSession, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    return dict((await session.execute(select(Area.code, Area.name).where(Area.code.in_(sorted(codes))))).tuples().all())


async def lists(session: AsyncSession, scope: BoardScope, now: datetime) -> dict[str, Any]:
    """What waits for a dispatcher (held by a dispatcher, an admin or nobody) and the overdue tasks."""
    columns = (Case.id, Case.number, Case.state, Case.category_code, Case.area_code, Case.lat, Case.lon,
               Case.created_at, Case.deadline_at)
    own = scope.case_filter()
    in_scope = [own] if own is not None else []
    deciders = select(Role.person_id).where(Role.role.in_((RoleName.DISPATCHER, RoleName.ADMIN)))
    waiting = (await session.execute(
        select(*columns).where(Case.state.in_(DISPATCH_STATES), *in_scope,
                               or_(Case.assignee_id.is_(None), Case.assignee_id.in_(deciders)))
        .order_by(Case.created_at, Case.id).limit(LIST_LIMIT))).all()
    late = (await session.execute(
        select(*columns).where(Case.state.in_(OPEN_STATES), Case.deadline_at < now, *in_scope)
        .order_by(Case.deadline_at, Case.id).limit(LIST_LIMIT))).all()
    names = await _area_names(session, {r.area_code for r in [*waiting, *late] if r.area_code})
    late_now = case((Case.deadline_at < now, 1), else_=0)
    waits = case((and_(Case.state.in_(DISPATCH_STATES),
                       or_(Case.assignee_id.is_(None), Case.assignee_id.in_(deciders))), 1), else_=0)
    open_count, late_count, waiting_count = (await session.execute(
        select(func.count(), func.sum(late_now), func.sum(waits)).where(Case.state.in_(OPEN_STATES), *in_scope))).one()
    return {"waiting": [_brief(r, names, now) for r in waiting], "overdue": [_brief(r, names, now) for r in late],
            "totals": {"open": int(open_count), "overdue": int(late_count or 0), "waiting": int(waiting_count or 0)}}


async def live_callouts(session: AsyncSession, index: AreaIndex, scope: BoardScope) -> list[dict[str, Any]]:
    """Call-outs in progress that touch the scope, with their roll call and a point to show them at."""
    found = []
    for mobilization in (await session.scalars(
            select(Mobilization).where(Mobilization.state == CallOutState.ACTIVE).order_by(Mobilization.id))).all():
        codes = [c for c in mobilization.area_codes or [] if c in index.position]
        if scope.codes is not None and not any(index.within(c, set(scope.codes)) for c in codes):
            continue
        lat, lon = mobilization.meet_lat or mobilization.center_lat, mobilization.meet_lon or mobilization.center_lon
        if (lat is None or lon is None) and codes:
            centre = index.boundaries[index.position[codes[0]]].centroid
            lat, lon = centre.y, centre.x
        call = await callouts.roll_call(session, mobilization.id)
        found.append({"id": mobilization.id, "headline": mobilization.headline, "drill": mobilization.drill,
                      "need": mobilization.need, "lat": lat, "lon": lon, "radius_m": mobilization.radius_m,
                      "sent_at": mobilization.sent_at.isoformat() if mobilization.sent_at else None,
                      "total": call.total, "counts": {row: len(names) for row, names in call.names.items()},
                      "names": call.names})
    return found


async def checkins_today(session: AsyncSession, scope: BoardScope, now: datetime, zone: ZoneInfo) -> list[dict[str, Any]]:
    """Today's patrol check-ins of the workers and leaders of the scope's grids."""
    start = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
    query = select(CheckIn.lat, CheckIn.lon, CheckIn.at, Person.name).join(Person, Person.id == CheckIn.person_id) \
        .where(CheckIn.at >= start).order_by(CheckIn.at.desc()).limit(500)
    if scope.codes is not None:
        query = query.where(CheckIn.person_id.in_(select(Role.person_id).where(
            Role.role.in_((RoleName.WORKER, RoleName.LEADER)), Role.area_code.in_(sorted(scope.codes)))))
    rows = (await session.execute(query)).all()
    return [{"lat": lat, "lon": lon, "at": at.isoformat(), "name": name} for lat, lon, at, name in rows]


async def figures(session: AsyncSession, index: AreaIndex, scope: BoardScope, start: datetime, end: datetime) -> dict[str, Any]:
    """On-time, closure and satisfaction rates overall and per grid: the numbers /stats gives."""
    overall, per_area = await stats.rates(session, index, start, end, list(scope.roots) if scope.codes is not None else None)
    names = await _area_names(session, set(per_area))

    def plain(figures: stats.Figures) -> dict[str, Any]:
        return {"total": figures.total, "on_time": figures.on_time_rate, "closure": figures.closure_rate,
                "satisfaction": figures.satisfaction_rate, "by_state": figures.by_state}

    return {"start": start.isoformat(), "end": end.isoformat(), "overall": plain(overall),
            "per_grid": [{"code": code, "name": names.get(code, code), **plain(f)} for code, f in per_area.items()]}


async def areas(session: AsyncSession, scope: BoardScope) -> list[dict[str, Any]]:
    """The areas of the scope down to the grids, with their boundaries (GeoJSON, simplified a little)."""
    query = select(Area.code, Area.name, Area.level, Area.parent_code, Area.boundary).where(Area.level != Level.MICROGRID)
    if scope.codes is not None:
        query = query.where(Area.code.in_(sorted(scope.codes)))
    rows = (await session.execute(query.order_by(Area.code))).all()
    shapes = shapely.from_wkb([r.boundary for r in rows]) if rows else []
    return [{"code": r.code, "name": r.name, "level": r.level.value, "parent": r.parent_code,
             "geometry": shapely.to_geojson(shapely.simplify(shape, 0.00005, preserve_topology=True))}
            for r, shape in zip(rows, shapes, strict=True)]


async def categories(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (await session.execute(select(Category.code, Category.parent_code, Category.names)
                                  .where(Category.active.is_(True)).order_by(Category.position, Category.code))).all()
    return [{"code": code, "parent": parent, "names": names} for code, parent, names in rows]


async def case_detail(session: AsyncSession, scope: BoardScope, case_id: int) -> dict[str, Any] | None:
    """A case with its history, holder, deadline and photo ids; None when it is not in the scope."""
    found = await session.get(Case, case_id)
    if found is None or not scope.covers(found.area_code):
        return None
    events = (await session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                    .order_by(CaseEvent.at, CaseEvent.id))).all()
    ids = sorted({e.actor_id for e in events if e.actor_id is not None} | ({found.assignee_id} if found.assignee_id else set()))
    people = dict((await session.execute(select(Person.id, Person.name).where(Person.id.in_(ids)))).tuples().all()) if ids else {}
    photos = (await session.execute(select(CasePhoto.photo_id, CasePhoto.role).where(CasePhoto.case_id == case_id)
                                    .order_by(CasePhoto.id))).all()
    names = await _area_names(session, {found.area_code} if found.area_code else set())
    return {"id": found.id, "number": found.number, "state": found.state.value, "category": found.category_code,
            "description": found.description, "address": found.address, "lat": found.lat, "lon": found.lon,
            "area": names.get(found.area_code or "", found.area_code), "created_at": found.created_at.isoformat(),
            "deadline_at": found.deadline_at.isoformat(), "holder": people.get(found.assignee_id or 0),
            "rating": found.rating,
            "history": [{"at": e.at.isoformat(), "kind": e.kind.value, "from": e.from_state.value if e.from_state else None,
                         "to": e.to_state.value if e.to_state else None, "note": e.note,
                         "by": people.get(e.actor_id or 0)} for e in events],
            "photos": [{"id": photo_id, "role": role.value} for photo_id, role in photos]}


# --- passes: one-time links and sessions -------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _new_pass(session: AsyncSession, person_id: int, kind: str, now: datetime, lifetime: timedelta) -> str:
    """A fresh token of this kind for the person, good for `lifetime` (only its hash is kept)."""
    token = secrets.token_urlsafe(32 if kind == SESSION else 24)  # a link is shown in the chat: shorter
    session.add(BoardPass(token_hash=_hash(token), person_id=person_id, kind=kind, created_at=now,
                          expires_at=now + lifetime))
    await session.flush()
    return token


async def issue_link(session: AsyncSession, person_id: int, now: datetime) -> str:
    """A one-time sign-in token for the person's board, good for LINK_LIFETIME."""
    return await _new_pass(session, person_id, LINK, now, LINK_LIFETIME)


async def open_link(session: AsyncSession, token: str, now: datetime) -> str | None:
    """Use a link (once, before it expires) and start a session: its token, or None."""
    used = await changed_rows(session, update(BoardPass).where(
        BoardPass.token_hash == _hash(token), BoardPass.kind == LINK, BoardPass.used_at.is_(None),
        BoardPass.expires_at > now).values(used_at=now))
    if not used:
        return None
    person_id = await session.scalar(select(BoardPass.person_id).where(BoardPass.token_hash == _hash(token)))
    assert person_id is not None
    return await _new_pass(session, person_id, SESSION, now, SESSION_LIFETIME)


async def session_person(session: AsyncSession, token: str, now: datetime) -> int | None:
    """Whose live session this token is, or None."""
    person_id: int | None = await session.scalar(select(BoardPass.person_id).where(
        BoardPass.token_hash == _hash(token), BoardPass.kind == SESSION, BoardPass.expires_at > now))
    return person_id


async def revoke(session: AsyncSession, person_id: int) -> int:
    """End a person's sessions and unused links; how many there were."""
    return await changed_rows(session, delete(BoardPass).where(BoardPass.person_id == person_id))


async def map_extent(session: AsyncSession) -> tuple[float, float, float, float] | None:
    """South, west, north, east of the whole map (for the citizens' picker); None with no map."""
    south, west, north, east = (await session.execute(
        select(func.min(Area.min_lat), func.min(Area.min_lon), func.max(Area.max_lat), func.max(Area.max_lon)))).one()
    return None if south is None else (float(south), float(west), float(north), float(east))
