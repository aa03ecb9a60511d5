"""Who people are in which areas: the roles they hold (a grid's worker or leader, a community's
dispatcher, a micro-grid's responder, an admin), the one-time invites that give a role, whom a
person may invite, and rosters loaded from a spreadsheet export."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Area, Invite, Person, Role
from storage.people import MAX_NAME, ensure_person
from storage.vocab import Language, Level, Tag
from storage.vocab import Role as RoleName

if TYPE_CHECKING:
    from storage.map_index import AreaIndex

# The role names as plain text, in the order they are offered (the command line's choices show them).
ROLES: tuple[str, ...] = tuple(role.value for role in RoleName)
# Which level of area each role belongs to; an admin may be tied to any area, or none. (Keyed by
# text: a name typed on the command line or in a roster is looked up here before it is checked.)
ROLE_LEVELS: Mapping[str, tuple[Level, ...]] = {
    RoleName.WORKER: (Level.GRID,),
    RoleName.LEADER: (Level.GRID,),
    RoleName.DISPATCHER: (Level.COMMUNITY, Level.STREET, Level.DISTRICT),
    RoleName.RESPONDER: (Level.MICROGRID,),
    RoleName.ADMIN: tuple(Level),
}
TAGS: Mapping[str, tuple[Tag, ...]] = {
    RoleName.WORKER: (Tag.FULL_TIME, Tag.PART_TIME),
    RoleName.RESPONDER: (Tag.PARTY_MEMBER, Tag.VOLUNTEER, Tag.PROPERTY_STAFF, Tag.BUILDING_HEAD),
}
# Whom a grid leader may invite.
LEADER_INVITES: tuple[RoleName, ...] = (RoleName.WORKER, RoleName.RESPONDER)
INVITE_LIFETIME = timedelta(days=7)
ROSTER_COLUMNS = ["tg_id", "name", "role", "area", "tags", "language"]


class RoleError(Exception):
    """A role that cannot be given as asked: one short sentence saying why."""


def role_problem(role: str, area_level: str | None, tags: list[str]) -> str | None:
    """Why `role` in an area of `area_level` with `tags` is not possible, or None."""
    if role not in ROLES:
        return f"unknown role {role!r}; roles are {', '.join(ROLES)}"
    if area_level is None and role != RoleName.ADMIN:
        return f"a {role} needs an area (--area CODE)"
    if area_level is not None and area_level not in ROLE_LEVELS[role]:
        return f"a {role} belongs to a {' or '.join(ROLE_LEVELS[role])}, not a {area_level}"
    allowed = TAGS.get(role, ())
    unknown = [t for t in tags if t not in allowed]
    if unknown:
        hint = f"; tags for a {role}: {', '.join(allowed)}" if allowed else f"; a {role} takes no tags"
        return f"unknown tag {', '.join(unknown)}{hint}"
    return None


async def area_level(session: AsyncSession, code: str | None) -> Level | None:
    if code is None:
        return None
    level = await session.scalar(select(Area.level).where(Area.code == code))
    if level is None:
        raise RoleError(f"no area with code {code}")
    return level


async def give_role(session: AsyncSession, person_id: int, role: str, area_code: str | None, tags: list[str],
                    now: datetime) -> tuple[Role, bool]:
    """Give a person a role (its name as typed: it is checked here) in an area; returns the role and
    whether it is new. RoleError says why not."""
    problem = role_problem(role, await area_level(session, area_code), tags)
    if problem:
        raise RoleError(problem)
    existing = await session.scalar(
        select(Role).where(Role.person_id == person_id, Role.role == role,
                           Role.area_code.is_(None) if area_code is None else Role.area_code == area_code)
    )
    if existing is not None:
        if sorted(existing.tags or []) != sorted(tags):
            existing.tags = sorted(set(tags))
        return existing, False
    granted = Role(person_id=person_id, role=RoleName(role), area_code=area_code, tags=sorted(set(tags)), on_duty=True,
                   created_at=now)
    session.add(granted)
    await session.flush()
    return granted, True


async def roles_of(session: AsyncSession, person_id: int) -> list[tuple[Role, Area | None]]:
    rows = await session.execute(
        select(Role, Area).outerjoin(Area, Area.code == Role.area_code).where(Role.person_id == person_id).order_by(Role.id)
    )
    return [(role, area) for role, area in rows.all()]


async def take_roles(session: AsyncSession, person_id: int, role: RoleName | None = None,
                     area_code: str | None = None) -> list[Role]:
    """Remove a person's roles (all, or those matching role / area) and return what was removed."""
    query = select(Role).where(Role.person_id == person_id)
    if role is not None:
        query = query.where(Role.role == role)
    if area_code is not None:
        query = query.where(Role.area_code == area_code)
    removed = list((await session.scalars(query)).all())
    if removed:
        await session.execute(delete(Role).where(Role.id.in_([r.id for r in removed])))
    return removed


async def people_with_roles(session: AsyncSession) -> list[tuple[Person, Role, Area | None]]:
    rows = await session.execute(
        select(Person, Role, Area).join(Role, Role.person_id == Person.id)
        .outerjoin(Area, Area.code == Role.area_code).order_by(Role.area_code, Role.role, Person.name)
    )
    return [(person, role, area) for person, role, area in rows.all()]


# --- invites ---------------------------------------------------------------------------------


async def create_invite(session: AsyncSession, role: str, area_code: str | None, tags: list[str], now: datetime,
                        created_by: int | None = None, lifetime: timedelta = INVITE_LIFETIME) -> Invite:
    """A link that gives a role (its name as typed: it is checked here) to whoever opens it first."""
    problem = role_problem(role, await area_level(session, area_code), tags)
    if problem:
        raise RoleError(problem)
    invite = Invite(token=secrets.token_urlsafe(16), role=RoleName(role), area_code=area_code, tags=sorted(set(tags)),
                    created_by=created_by, created_at=now, expires_at=now + lifetime)
    session.add(invite)
    await session.flush()
    return invite


class InviteOutcome(StrEnum):
    """What opening an invite link did."""

    GRANTED = "granted"
    ALREADY = "already"  # the person has the role already
    USED = "used"  # someone else opened it first
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # no such invite


@dataclass(frozen=True)
class Redeemed:
    outcome: InviteOutcome
    role: RoleName | None = None
    area: Area | None = None


async def redeem_invite(session: AsyncSession, token: str, person_id: int, now: datetime) -> Redeemed:
    """Open an invite link: the first person to open it in time gets its role; nobody gets it twice."""
    invite = await session.get(Invite, token) if len(token) <= 32 else None
    if invite is None:
        return Redeemed(InviteOutcome.UNKNOWN)
    area = await session.get(Area, invite.area_code) if invite.area_code else None
    if invite.used_at is not None:
        return Redeemed(InviteOutcome.ALREADY if invite.used_by == person_id else InviteOutcome.USED, invite.role, area)
    if invite.expires_at <= now:
        return Redeemed(InviteOutcome.EXPIRED, invite.role, area)
    _role, created = await give_role(session, person_id, invite.role, invite.area_code, list(invite.tags or []), now)
    if not created:
        # the invite stays unused for the one it was meant for
        return Redeemed(InviteOutcome.ALREADY, invite.role, area)
    invite.used_at = now
    invite.used_by = person_id
    return Redeemed(InviteOutcome.GRANTED, invite.role, area)


@dataclass(frozen=True)
class InviteRights:
    """Whom a person may invite: an admin anyone within their areas (or anywhere, without an area),
    a grid leader the workers and responders of their own grids."""

    everywhere: bool
    admin_areas: frozenset[str]
    leader_grids: frozenset[str]

    def roles(self) -> tuple[RoleName, ...]:
        if self.everywhere or self.admin_areas:
            return tuple(RoleName)
        return LEADER_INVITES if self.leader_grids else ()

    def home_areas(self) -> list[str]:
        return sorted(self.admin_areas | self.leader_grids)

    def allows(self, role: str, chain: list[str]) -> bool:
        """Whether they may invite `role` for the area whose chain (itself, then upwards) is given."""
        if self.everywhere or any(code in self.admin_areas for code in chain):
            return True
        return role in LEADER_INVITES and any(code in self.leader_grids for code in chain)

    def leads_to(self, index: AreaIndex, role: str, code: str) -> bool:
        """Whether they may open this area while choosing where to invite: one they may invite for,
        or one above their own areas (the way down passes through it; its other parts stay hidden)."""
        if self.allows(role, index.chain(code)):
            return True
        return any(code in index.chain(home) for home in self.home_areas())


async def invite_rights(session: AsyncSession, person_id: int) -> InviteRights:
    rows = (await session.execute(
        select(Role.role, Role.area_code).where(Role.person_id == person_id, Role.role.in_((RoleName.ADMIN, RoleName.LEADER)))
    )).all()
    return InviteRights(
        everywhere=any(role == RoleName.ADMIN and code is None for role, code in rows),
        admin_areas=frozenset(code for role, code in rows if role == RoleName.ADMIN and code is not None),
        leader_grids=frozenset(code for role, code in rows if role == RoleName.LEADER and code is not None),
    )


# --- rosters ---------------------------------------------------------------------------------


@dataclass
class RosterRow:
    line: int
    tg_id: int
    name: str
    role: RoleName
    area: str | None
    tags: list[str] = field(default_factory=list)
    language: Language = Language.ZH


def parse_roster(text: str, areas: Mapping[str, str]) -> tuple[list[RosterRow], list[str]]:
    """Rows of a roster CSV (tg_id,name,role,area,tags,language) and the problems, by line number.

    `areas` maps every known area code to its level.
    """
    problems: list[str] = []
    rows: list[RosterRow] = []
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header[: len(ROSTER_COLUMNS)]] != ROSTER_COLUMNS:
        return [], [f"line 1: the header must be {','.join(ROSTER_COLUMNS)}"]
    seen: dict[tuple[int, str, str | None], int] = {}
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        values = (values + [""] * len(ROSTER_COLUMNS))[: len(ROSTER_COLUMNS)]
        tg_id_text, name, role, area, tags_text, language = (v.strip() for v in values)
        if not tg_id_text.isdigit() or not 0 < int(tg_id_text) < 2**53:
            problems.append(f"line {line}: tg_id must be a Telegram user id (digits), not {tg_id_text!r}")
            continue
        if not name:
            problems.append(f"line {line}: name is empty")
            continue
        if len(name) > MAX_NAME:
            problems.append(f"line {line}: name is longer than {MAX_NAME} characters")
            continue
        area_code = area or None
        if area_code is not None and area_code not in areas:
            problems.append(f"line {line}: no area with code {area_code}")
            continue
        tags = [t.strip() for t in tags_text.split(";") if t.strip()]
        problem = role_problem(role, areas.get(area_code) if area_code else None, tags)
        if problem:
            problems.append(f"line {line}: {problem}")
            continue
        if language not in ("", *Language):
            problems.append(f"line {line}: language must be zh or en, not {language!r}")
            continue
        key = (int(tg_id_text), role, area_code)
        if key in seen:
            problems.append(f"line {line}: the same person, role and area as line {seen[key]}")
            continue
        seen[key] = line
        rows.append(RosterRow(line, int(tg_id_text), name, RoleName(role), area_code, tags, Language(language or Language.ZH)))
    return rows, problems


async def area_levels(session: AsyncSession) -> dict[str, Level]:
    return dict((await session.execute(select(Area.code, Area.level))).tuples().all())


async def apply_roster(session: AsyncSession, rows: list[RosterRow], now: datetime) -> tuple[int, int]:
    """Write a checked roster: returns (roles added, roles already there)."""
    added = kept = 0
    for row in rows:
        person = await ensure_person(session, row.tg_id, row.name, row.language, now)
        _role, created = await give_role(session, person.id, row.role, row.area, row.tags, now)
        added += created
        kept += not created
    return added, kept
