"""Emergency call-outs (一键激活): who is in scope, sending to each of them once, their answers, and
the roll call a commander watches. Knows nothing of Telegram; messages go through the outbox."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import shapely
from shapely import affinity
from shapely.geometry import Point
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox, roles
from storage.map_index import METRES_PER_DEGREE_LAT, AreaIndex
from storage.models import Mobilization, Person, Responder, Role
from storage.points import require_valid_point

COMMANDER_ROLES = ("leader", "dispatcher", "admin")
RESPONDER_TAGS = roles.TAGS["responder"]
GRID_WORKERS = "grid_worker"  # a "tag" that calls the grid workers of the scope too
ANSWERS = ("coming", "arrived", "cannot")
TEMPLATES = ("flood", "fire", "missing", "evacuate", "doors", "free")
# What a commander types, in characters: a longer text is refused (the caller asks again), never cut.
MAX_HEADLINE = 200
MAX_INSTRUCTION = 1000
MAX_UPDATE = 1000


class MobilizeError(Exception):
    """A call-out step that cannot be taken: `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
        select(Role.role, Role.area_code).where(Role.person_id == person_id, Role.role.in_(COMMANDER_ROLES))
    )).all()
    return Command(frozenset(code for _role, code in rows if code),
                   any(role == "admin" and code is None for role, code in rows))


def micro_grids_in(index: AreaIndex, codes: list[str]) -> list[str]:
    """The micro-grids of these areas (an area that is a micro-grid stands for itself)."""
    found: list[str] = []
    stack = list(codes)
    while stack:
        code = stack.pop()
        if index.level_of(code) == "microgrid":
            found.append(code)
        else:
            stack.extend(index.children_of(code))
    return sorted(set(found))


def micro_grids_around(index: AreaIndex, lat: float, lon: float, radius_m: float) -> list[str]:
    """Every micro-grid whose area touches the circle of `radius_m` around the point."""
    degrees = radius_m / METRES_PER_DEGREE_LAT
    circle = affinity.scale(Point(lon, lat).buffer(degrees, quad_segs=16),
                            xfact=1 / max(math.cos(math.radians(lat)), 0.01), yfact=1.0)
    hits = index.tree.query(circle, predicate="intersects")
    return sorted(index.codes[i] for i in hits.tolist() if index.levels[i] == "microgrid")


async def people_in_scope(session: AsyncSession, index: AreaIndex, micro_grids: list[str], tags: list[str]) -> list[int]:
    """The responders of these micro-grids with any of the tags (all of them for no tag), and with
    the grid-workers "tag", the workers of their grids; each person once."""
    if not micro_grids:
        return []
    wanted = [t for t in tags if t in RESPONDER_TAGS]
    responders = (await session.execute(
        select(Role.person_id, Role.tags).where(Role.role == "responder", Role.area_code.in_(micro_grids))
    )).all()
    chosen = {person for person, held in responders if not tags or any(t in (held or []) for t in wanted)}
    if GRID_WORKERS in tags:
        grids = {index.parent_of.get(code) for code in micro_grids} - {None}
        chosen |= set((await session.scalars(
            select(Role.person_id).where(Role.role == "worker", Role.area_code.in_(grids))
        )).all())
    return sorted(chosen)


async def start_draft(session: AsyncSession, commander_id: int, now: datetime) -> Mobilization:
    """A new call-out being put together (an older unsent draft of the same commander is dropped)."""
    await session.execute(update(Mobilization).where(
        Mobilization.commander_id == commander_id, Mobilization.state == "draft").values(state="dropped"))
    draft = Mobilization(commander_id=commander_id, state="draft", area_codes=[], tags=[], drill=False,
                         created_at=now, realerts=0, widen_offered=False)
    session.add(draft)
    await session.flush()
    return draft


async def draft_of(session: AsyncSession, mobilization_id: int, commander_id: int) -> Mobilization:
    found = await session.get(Mobilization, mobilization_id)
    if found is None or found.commander_id != commander_id:
        raise MobilizeError("not_yours")
    if found.state != "draft":
        raise MobilizeError("already_sent")
    return found


async def scope_of(session: AsyncSession, index: AreaIndex, mobilization: Mobilization) -> tuple[list[str], list[int]]:
    """The micro-grids a call-out reaches and the people in them."""
    if mobilization.center_lat is not None and mobilization.center_lon is not None and mobilization.radius_m:
        micro = micro_grids_around(index, mobilization.center_lat, mobilization.center_lon, mobilization.radius_m)
    else:
        micro = micro_grids_in(index, list(mobilization.area_codes))
    return micro, await people_in_scope(session, index, micro, list(mobilization.tags))


async def send(session: AsyncSession, index: AreaIndex, mobilization_id: int, commander_id: int, now: datetime,
               drill: bool = False) -> tuple[Mobilization, int]:
    """Send the call-out to everyone in scope, once each, ahead of every other message."""
    mobilization = await draft_of(session, mobilization_id, commander_id)
    command = await command_of(session, commander_id)
    micro, people = await scope_of(session, index, mobilization)
    if not all(command.covers(index, code) for code in micro):
        raise MobilizeError("outside")
    if not people:
        raise MobilizeError("nobody")
    mobilization.state = "active"
    mobilization.drill = drill
    mobilization.sent_at = now
    mobilization.area_codes = micro if mobilization.radius_m else list(mobilization.area_codes)
    for person_id in people:
        session.add(Responder(mobilization_id=mobilization.id, person_id=person_id, unreachable=False, alerts=1))
        await outbox.enqueue(session, person_id, outbox.CalloutPayload(mobilization.id), now, outbox.EMERGENCY)
    await session.flush()
    return mobilization, len(people)


async def answer(session: AsyncSession, mobilization_id: int, person_id: int, given: str, now: datetime,
                 where: tuple[float, float] | None = None) -> Mobilization:
    """A responder's answer (it may be changed while the call-out lasts)."""
    if given not in ANSWERS:
        raise MobilizeError("invalid")
    if where is not None:
        require_valid_point(*where)
    mobilization = await session.get(Mobilization, mobilization_id)
    responder = await session.get(Responder, (mobilization_id, person_id))
    if mobilization is None or responder is None:
        raise MobilizeError("not_yours")
    if mobilization.state != "active":
        raise MobilizeError("over")
    responder.answer = given
    responder.answered_at = now
    if where is not None:
        responder.arrived_lat, responder.arrived_lon = where
    return mobilization


async def mark_delivered(session: AsyncSession, mobilization_id: int, person_id: int, now: datetime) -> None:
    await session.execute(update(Responder).where(
        Responder.mobilization_id == mobilization_id, Responder.person_id == person_id, Responder.delivered_at.is_(None)
    ).values(delivered_at=now))


async def mark_unreachable(session: AsyncSession, mobilization_id: int, person_id: int) -> None:
    await session.execute(update(Responder).where(
        Responder.mobilization_id == mobilization_id, Responder.person_id == person_id).values(unreachable=True))


@dataclass
class RollCall:
    total: int = 0
    delivered: int = 0
    names: dict[str, list[str]] = field(default_factory=lambda: {a: [] for a in (*ANSWERS, "none", "unreachable")})

    def count(self, answer: str) -> int:
        return len(self.names[answer])


async def roll_call(session: AsyncSession, mobilization_id: int) -> RollCall:
    rows = (await session.execute(
        select(Responder, Person.name, Person.blocked).join(Person, Person.id == Responder.person_id)
        .where(Responder.mobilization_id == mobilization_id).order_by(Person.name, Person.id)
    )).all()
    call = RollCall(total=len(rows))
    for responder, name, blocked in rows:
        call.delivered += responder.delivered_at is not None
        if responder.answer:
            call.names[responder.answer].append(name)
        elif responder.unreachable or blocked:
            call.names["unreachable"].append(name)
        else:
            call.names["none"].append(name)
    return call


async def _still_commanded_by(session: AsyncSession, mobilization_id: int, person_id: int) -> Mobilization:
    """The call-out, if this person sent it and still holds a role that may call people out
    (whoever lost it may still stand down, but not alert anyone again)."""
    mobilization = await session.get(Mobilization, mobilization_id)
    if mobilization is None or mobilization.commander_id != person_id:
        raise MobilizeError("not_yours")
    command = await command_of(session, person_id)
    if not command.everywhere and not command.areas:
        raise MobilizeError("not_yours")
    return mobilization


async def realert(session: AsyncSession, mobilization_id: int, commander_id: int | None, now: datetime) -> int:
    """Alert again everyone who has not answered and can be reached; how many."""
    if commander_id is None:  # the timer's own re-alert
        mobilization = await session.get(Mobilization, mobilization_id)
        if mobilization is None:
            raise MobilizeError("not_yours")
    else:
        mobilization = await _still_commanded_by(session, mobilization_id, commander_id)
    if mobilization.state != "active":
        raise MobilizeError("over")
    silent = (await session.scalars(select(Responder).join(Person, Person.id == Responder.person_id).where(
        Responder.mobilization_id == mobilization_id, Responder.answer.is_(None), Responder.unreachable.is_(False),
        Person.blocked.is_(False)))).all()
    for responder in silent:
        responder.alerts += 1
        await outbox.enqueue(session, responder.person_id, outbox.CalloutPayload(mobilization_id, again=True),
                             now, outbox.EMERGENCY)
    mobilization.realerts += 1
    return len(silent)


async def realert_due(session: AsyncSession, now: datetime, every: timedelta, times: int) -> int:
    """Alert again, every `every` up to `times` times, those who have not answered an active call-out."""
    statement = select(Mobilization).where(
        Mobilization.state == "active", Mobilization.realerts < times, Mobilization.sent_at.is_not(None))
    if session.bind.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    active = (await session.scalars(statement)).all()
    count = 0
    for mobilization in active:
        if now >= mobilization.sent_at + every * (mobilization.realerts + 1):
            count += await realert(session, mobilization.id, None, now)
    return count


async def offer_widening(session: AsyncSession, now: datetime, after: timedelta) -> int:
    """Once per call-out: when "need N" is set and fewer than N are coming `after` the call, the
    commander is offered to widen it. Returns how many offers were queued."""
    statement = select(Mobilization).where(
        Mobilization.state == "active", Mobilization.need.is_not(None), Mobilization.widen_offered.is_(False),
        Mobilization.sent_at <= now - after)
    if session.bind.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    candidates = (await session.scalars(statement)).all()
    offered = 0
    for mobilization in candidates:
        call = await roll_call(session, mobilization.id)
        mobilization.widen_offered = True
        if call.count("coming") + call.count("arrived") < (mobilization.need or 0):
            await outbox.enqueue(session, mobilization.commander_id, outbox.CalloutWidenPayload(mobilization.id),
                                 now, outbox.EMERGENCY)
            offered += 1
    return offered


def wider_micro_grids(index: AreaIndex, current: list[str], whole_grids: bool) -> list[str]:
    """The micro-grids next to the current ones, or every micro-grid of their grids; new ones only."""
    have = set(current)
    if whole_grids:
        grids = {index.parent_of.get(code) for code in current} - {None}
        return sorted(set(micro_grids_in(index, sorted(grids))) - have)
    shapes = [index.boundaries[index.position[c]] for c in current if c in index.position]
    if not shapes:
        return []
    outline = shapely.union_all(shapes).buffer(1e-6)
    hits = index.tree.query(outline, predicate="intersects")
    return sorted({index.codes[i] for i in hits.tolist() if index.levels[i] == "microgrid"} - have)


async def widen(session: AsyncSession, index: AreaIndex, mobilization_id: int, commander_id: int, whole_grids: bool,
                now: datetime) -> int:
    """Call the people of the wider area too (those not called yet); how many were added."""
    mobilization = await session.get(Mobilization, mobilization_id)
    if mobilization is None or mobilization.commander_id != commander_id:
        raise MobilizeError("not_yours")
    if mobilization.state != "active":
        raise MobilizeError("over")
    command = await command_of(session, commander_id)
    extra = [c for c in wider_micro_grids(index, micro_grids_in(index, list(mobilization.area_codes)), whole_grids)
             if command.covers(index, c)]
    called = set((await session.scalars(select(Responder.person_id).where(
        Responder.mobilization_id == mobilization_id))).all())
    added = [p for p in await people_in_scope(session, index, extra, list(mobilization.tags)) if p not in called]
    if not added:
        raise MobilizeError("nobody")
    mobilization.area_codes = [*mobilization.area_codes, *extra]
    for person_id in added:
        session.add(Responder(mobilization_id=mobilization.id, person_id=person_id, unreachable=False, alerts=1))
        await outbox.enqueue(session, person_id, outbox.CalloutPayload(mobilization.id), now, outbox.EMERGENCY)
    await session.flush()
    return len(added)


async def follow_up(session: AsyncSession, mobilization_id: int, commander_id: int, text: str, now: datetime) -> int:
    """A follow-up from the commander (at most MAX_UPDATE characters) to everyone the call-out reached."""
    if len(text) > MAX_UPDATE:
        raise ValueError(f"an update of {len(text)} characters, over {MAX_UPDATE}")
    mobilization = await _still_commanded_by(session, mobilization_id, commander_id)
    if mobilization.state != "active":
        raise MobilizeError("over")
    reached = (await session.scalars(select(Responder.person_id).where(
        Responder.mobilization_id == mobilization_id, Responder.unreachable.is_(False)))).all()
    for person_id in reached:
        await outbox.enqueue(session, person_id, outbox.CalloutUpdatePayload(mobilization_id, text),
                             now, outbox.EMERGENCY)
    return len(reached)


async def stand_down(session: AsyncSession, mobilization_id: int, commander_id: int, now: datetime) -> int:
    """It is over: everyone the call-out reached is told; a second stand down changes nothing."""
    mobilization = await session.get(Mobilization, mobilization_id)
    if mobilization is None or mobilization.commander_id != commander_id:
        raise MobilizeError("not_yours")
    if mobilization.state != "active":
        raise MobilizeError("over")
    mobilization.state = "over"
    mobilization.ended_at = now
    reached = (await session.scalars(select(Responder.person_id).where(
        Responder.mobilization_id == mobilization_id, Responder.unreachable.is_(False)))).all()
    for person_id in reached:
        await outbox.enqueue(session, person_id, outbox.CalloutEndPayload(mobilization_id), now, outbox.EMERGENCY)
    return len(reached)


async def recent(session: AsyncSession, commander_id: int, limit: int = 10) -> list[Mobilization]:
    return list((await session.scalars(select(Mobilization).where(
        Mobilization.commander_id == commander_id, Mobilization.state.in_(("active", "over"))
    ).order_by(Mobilization.id.desc()).limit(limit))).all())


def area_outline(index: AreaIndex, codes: list[str]) -> shapely.Geometry | None:
    """The union of the call-out's areas (for the CAP export)."""
    shapes = [index.boundaries[index.position[c]] for c in codes if c in index.position]
    return shapely.union_all(shapes) if shapes else None
