"""Workers out on patrol (空间签到): who checked in where, and a leader's view of their team."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import routing
from storage.models import CheckIn, Person, Role
from storage.points import is_valid_point, require_valid_point
from storage.vocab import Role as RoleName

MAX_LIVE = timedelta(hours=24)


async def check_in(session: AsyncSession, person_id: int, lat: float, lon: float, now: datetime,
                   live_for: timedelta | int | None = None, message_id: int | None = None) -> CheckIn:
    """A worker is here now; a live location (`live_for`, at most MAX_LIVE) counts until it ends."""
    require_valid_point(lat, lon)
    if isinstance(live_for, int):
        live_for = timedelta(seconds=live_for)
    live_until = now + min(live_for, MAX_LIVE) if live_for else None
    row = CheckIn(person_id=person_id, at=now, lat=lat, lon=lon, live_until=live_until, message_id=message_id)
    session.add(row)
    await session.flush()
    return row


async def move_live(session: AsyncSession, person_id: int, message_id: int, lat: float, lon: float,
                    now: datetime) -> bool:
    """A live location moved: its check-in follows while the live period lasts. False if it has ended."""
    row = await session.scalar(
        select(CheckIn).where(CheckIn.person_id == person_id, CheckIn.message_id == message_id)
        .order_by(CheckIn.id.desc()).limit(1)
    )
    if row is None or row.live_until is None or row.live_until < now or not is_valid_point(lat, lon):
        return False
    row.lat, row.lon = lat, lon
    return True


@dataclass(frozen=True)
class Member:
    person: Person
    role: str
    grid: str
    last: CheckIn | None  # today's latest check-in
    open_cases: int


async def team_of(session: AsyncSession, leader_id: int, now: datetime, zone: ZoneInfo) -> list[Member]:
    """The workers of every grid this person leads: today's check-in and their open cases."""
    grids = sorted(c for c in (await session.scalars(
        select(Role.area_code).where(Role.person_id == leader_id, Role.role == RoleName.LEADER))).all() if c)
    if not grids:
        return []
    rows = (await session.execute(
        select(Person, Role.area_code).join(Role, Role.person_id == Person.id)
        .where(Role.role == RoleName.WORKER, Role.area_code.in_(grids)).order_by(Role.area_code, Person.name)
    )).all()
    midnight = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
    counts = await routing.open_counts(session, [p.id for p, _ in rows])
    members = []
    for person, grid in rows:
        last = await session.scalar(
            select(CheckIn).where(CheckIn.person_id == person.id, CheckIn.at >= midnight)
            .order_by(CheckIn.at.desc()).limit(1)
        )
        members.append(Member(person, RoleName.WORKER, grid, last, counts[person.id]))
    return members
