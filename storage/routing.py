"""Who holds a case: a new case goes to the grid's worker with the least open work, else the grid
leader, else the nearest dispatcher up the chain, else a top-level dispatcher, and when there is
nobody above, to the admins. A case passed up or given back goes to the next holder above. Every
decision is an event with its reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import cases, outbox, people
from storage.map_index import AreaIndex
from storage.models import Area, Case, CaseEvent, Person, Role
from storage.vocab import CaseState, EventKind, Level, Placement
from storage.vocab import Role as RoleName

DISPATCH_LEVELS: tuple[Level, ...] = (Level.COMMUNITY, Level.STREET, Level.DISTRICT)
DECIDING_ROLES: tuple[RoleName, ...] = (RoleName.DISPATCHER, RoleName.ADMIN)  # they get a dispatch card, not a task card
WORKING_ROLES: tuple[RoleName, ...] = (RoleName.WORKER, RoleName.LEADER)  # they get a task card
# Why a case did not go to the people of its grid, when its place says why.
_PLACE_REASONS = {Placement.OUTSIDE: "outside the service area", Placement.TYPED: "typed address, not on the map"}


@dataclass(frozen=True)
class Routing:
    placement: Placement
    area_code: str | None
    assignee_id: int | None
    assignee_role: RoleName | None  # worker, leader, dispatcher, admin (the last resort), or None when nobody could take it
    reason: str


class Above(NamedTuple):
    """The person a case goes up to, the role they hold it in, and the area that makes it theirs
    (None for an admin: the last resort, in no area)."""

    person: Person
    role: RoleName
    area_code: str | None


async def open_counts(session: AsyncSession, person_ids: list[int]) -> dict[int, int]:
    if not person_ids:
        return {}
    rows = await session.execute(
        select(Case.assignee_id, func.count()).where(Case.assignee_id.in_(person_ids), Case.state.in_(cases.OPEN_STATES))
        .group_by(Case.assignee_id)
    )
    counts = dict.fromkeys(person_ids, 0)
    counts.update((person_id, count) for person_id, count in rows.tuples() if person_id is not None)
    return counts


async def holders(session: AsyncSession, role: RoleName, area_code: str) -> list[tuple[Person, int]]:
    """Reachable people with this role in this area, with their open cases, least loaded first."""
    people = list((await session.scalars(
        select(Person).join(Role, Role.person_id == Person.id)
        .where(Role.role == role, Role.area_code == area_code, Role.on_duty.is_(True), Person.blocked.is_(False))
    )).all())
    counts = await open_counts(session, [p.id for p in people])
    return sorted(((p, counts[p.id]) for p in people), key=lambda pair: (pair[1], pair[0].id))


async def _top_dispatchers(session: AsyncSession) -> list[tuple[Person, int, str]]:
    rows = (await session.execute(
        select(Person, Role.area_code).join(Role, Role.person_id == Person.id).join(Area, Area.code == Role.area_code)
        .where(Role.role == RoleName.DISPATCHER, Area.parent_code.is_(None), Person.blocked.is_(False))
        .order_by(Person.id)
    )).all()
    counts = await open_counts(session, [p.id for p, _ in rows])
    return sorted(((p, counts[p.id], code) for p, code in rows), key=lambda t: (t[1], t[0].id))


async def choose_handler(session: AsyncSession, index: AreaIndex, placement: Placement, area_code: str | None,
                         grid_first: bool = True) -> Routing:
    """Decide who should hold a case placed at `area_code` (None when the place is not known)."""
    grid = index.grid_of(area_code)
    if grid_first and placement in (Placement.INSIDE, Placement.NEAR) and grid is not None:
        for role, why in ((RoleName.WORKER, f"grid {grid}, "), (RoleName.LEADER, f"grid {grid} has no worker on duty; ")):
            found = await holders(session, role, grid)
            if found:
                person, count = found[0]
                return Routing(placement, area_code, person.id, role, f"{why}{role} {person.name}, {count} open cases")
    for code in index.chain(area_code) if area_code else []:
        if index.level_of(code) in DISPATCH_LEVELS:
            dispatchers = await holders(session, RoleName.DISPATCHER, code)
            if dispatchers:
                person, count = dispatchers[0]
                why = _PLACE_REASONS.get(placement, "no worker or leader for its grid")
                return Routing(placement, area_code, person.id, RoleName.DISPATCHER,
                               f"{why}; dispatcher {person.name} of {code}, {count} open cases")
    why = _PLACE_REASONS.get(placement, "no one nearer")
    last = await _last_resort(session, None)
    if last is None:
        return Routing(placement, area_code, None, None, f"{why}; no dispatcher to take it")
    if last.role == RoleName.ADMIN:
        return Routing(placement, area_code, last.person.id, last.role,
                       f"{why}; no dispatcher to take it; admin {last.person.name}")
    return Routing(placement, area_code, last.person.id, last.role,
                   f"{why}; top dispatcher {last.person.name} of {last.area_code}")


async def _admin_on_hand(session: AsyncSession, other_than: int | None) -> Person | None:
    """The reachable admin with the fewest open cases: the last one a case can go to, so that no
    case waits for nobody (it shows in the admins' /queue and they can dispatch it)."""
    admins = list((await session.scalars(
        select(Person).where(Person.id.in_(select(Role.person_id).where(Role.role == RoleName.ADMIN)), Person.blocked.is_(False),
                             *((Person.id != other_than,) if other_than is not None else ()))
    )).all())
    counts = await open_counts(session, [p.id for p in admins])
    return min(admins, key=lambda p: (counts[p.id], p.id), default=None)


async def _last_resort(session: AsyncSession, other_than: int | None, *, top_dispatcher: bool = True,
                       admins: bool = True) -> Above | None:
    """Nobody in the case's own chain: a top-level dispatcher, the least loaded first; and when there
    is nobody above, the admins (`_admin_on_hand`). Never `other_than`, the person the case leaves."""
    if top_dispatcher:
        top = [(person, code) for person, _count, code in await _top_dispatchers(session) if person.id != other_than]
        if top:
            return Above(top[0][0], RoleName.DISPATCHER, top[0][1])
    if admins:
        admin = await _admin_on_hand(session, other_than)
        if admin is not None:
            return Above(admin, RoleName.ADMIN, None)
    return None


async def route_case(session: AsyncSession, case: Case, index: AreaIndex, now: datetime) -> Routing:
    """Place a newly submitted case on the map and give it to a person, recording why."""
    if case.lat is None or case.lon is None:
        placement, area_code = Placement.TYPED, None
    else:
        found = index.locate(case.lon, case.lat)
        placement, area_code = found.how, found.code
    decision = await choose_handler(session, index, placement, area_code)
    await apply_routing(session, case, decision, None, now)
    return decision


async def apply_routing(session: AsyncSession, case: Case, decision: Routing, actor_id: int | None, now: datetime) -> None:
    case.placement = decision.placement
    case.area_code = decision.area_code
    await hand_over(session, case, decision.assignee_id, decision.assignee_role, decision.reason, actor_id, now)


async def hand_over(session: AsyncSession, case: Case, person_id: int | None, role: RoleName | None, reason: str,
                    actor_id: int | None, now: datetime, keep_state: bool = False) -> None:
    """Give the case to a person with a reason: the event, the state that goes with their role, a
    fresh task clock, and the card that tells them."""
    case.assignee_id = person_id
    case.assigned_at = now
    case.accepted_at = None
    case.nudges = 0
    case.alarm_at = now
    session.add(CaseEvent(case_id=case.id, at=now, actor_id=actor_id, kind=EventKind.ROUTED, note=reason))
    await session.flush()
    allowed = cases.TRANSITIONS[case.state] if not keep_state else frozenset()
    # A reopened case stays "reopened" until its worker takes it on again, so they see why.
    if (role in WORKING_ROLES and case.state not in (CaseState.ASSIGNED, CaseState.REOPENED)
            and CaseState.ASSIGNED in allowed):
        await cases.change_state(session, case.id, CaseState.ASSIGNED, actor_id, now)
    elif role in DECIDING_ROLES and case.state in (CaseState.ASSIGNED, CaseState.IN_PROGRESS) and not keep_state:
        # Back with a dispatcher: before anyone took it on it waits as accepted, after that as passed up.
        back = CaseState.ACCEPTED if CaseState.ACCEPTED in allowed else CaseState.ESCALATED
        await cases.change_state(session, case.id, back, actor_id, now)
    if person_id is not None and role in DECIDING_ROLES:
        await outbox.enqueue(session, person_id, outbox.DispatchCardPayload(case.id), now)
    elif person_id is not None and role in WORKING_ROLES:
        # "for": why they get it, checked again when it is sent (the task may have moved on by then).
        await outbox.enqueue(session, person_id, outbox.TaskCardPayload(case.id, for_="holder"), now)




async def holder_above(session: AsyncSession, index: AreaIndex, case: Case, person_id: int | None, *,
                       admins_last: bool = False) -> Above | None:
    """The next person up from `person_id` for this case: grid leader, then the dispatchers of the
    community, street and district, then a top-level dispatcher (unless they are one). None when
    nobody is above; with `admins_last`, an admin then (the last resort), and None only when there
    is no admin either."""
    chain = index.chain(case.area_code) if case.area_code else []
    steps = [(RoleName.LEADER, c) for c in chain if index.level_of(c) == Level.GRID]
    steps += [(RoleName.DISPATCHER, c) for c in chain if index.level_of(c) in DISPATCH_LEVELS]
    held = set((await session.execute(
        select(Role.role, Role.area_code).where(Role.person_id == person_id)
    )).tuples().all()) if person_id is not None else set()
    position = max((i for i, step in enumerate(steps) if step in held), default=-1)
    for role, code in steps[position + 1 :]:
        found = [(p, n) for p, n in await holders(session, role, code) if p.id != person_id]
        if found:
            return Above(found[0][0], role, code)
    already_top = any(role == RoleName.DISPATCHER and code is not None and code in index.position
                      and index.parent_of.get(code) is None for role, code in held)
    return await _last_resort(session, person_id, top_dispatcher=not already_top, admins=admins_last)


async def return_cases_of(session: AsyncSession, person_id: int, index: AreaIndex, now: datetime,
                          why: str = "the worker was removed") -> list[Case]:
    """The open cases a person can no longer work go back: to the grid leader, else up the chain."""
    held = list((await session.scalars(
        select(Case).where(Case.assignee_id == person_id, Case.state.in_(cases.OPEN_STATES)).order_by(Case.id)
    )).all())
    for case in held:
        above = await holder_above(session, index, case, person_id, admins_last=True)
        if above is None:
            await hand_over(session, case, None, None, f"{why}; nobody to take it", None, now)
        elif above.role == RoleName.ADMIN:
            await hand_over(session, case, above.person.id, above.role, f"{why}; nobody above, to admin {above.person.name}",
                            None, now)
        else:
            person, role, code = above
            await hand_over(session, case, person.id, role, f"{why}; back to {role} {person.name} of {code}", None, now)
    await session.flush()
    return held


async def holder_blocked_bot(session: AsyncSession, index: AreaIndex, person_id: int, now: datetime) -> list[Case]:
    """A person who blocked the bot can be told nothing: record it, and their open cases move on."""
    await people.mark_blocked(session, person_id, now)
    return await return_cases_of(session, person_id, index, now, why="the holder blocked the bot")


@dataclass(frozen=True)
class NeverOpened:
    """What happened when a staff member turned out never to have opened the bot."""

    first_time: bool  # False when it was already known: nobody is told twice
    moved: list[Case]
    tell: list[int]  # who should hear of it: the leaders of their grids, else the admins


async def holder_never_opened(session: AsyncSession, index: AreaIndex, person_id: int, now: datetime) -> NeverOpened:
    """Telegram cannot reach a person who never opened the bot (a roster entry): for routing they
    are as if they blocked it, so their open cases move on; whoever leads them should ask them to
    press Start."""
    first_time = await people.mark_never_opened(session, person_id, now)
    moved = await return_cases_of(session, person_id, index, now, why="the holder never opened the bot")
    for case in moved:
        # Remembers whose case it was, so it can come back when they open the bot (the person is
        # the actor here in the sense that the step is about them).
        session.add(CaseEvent(case_id=case.id, at=now, actor_id=person_id, kind=EventKind.UNREACHED,
                              note="never opened the bot"))
    await session.flush()
    return NeverOpened(first_time, moved, await leaders_or_admins(session, index, person_id) if first_time else [])


async def leaders_or_admins(session: AsyncSession, index: AreaIndex, person_id: int) -> list[int]:
    """Reachable leaders of the grids this person works in (a responder's micro-grid counts as its
    grid); when there are none, the admins; nobody for a resident, whom no one leads."""
    areas = (await session.scalars(select(Role.area_code).where(Role.person_id == person_id))).all()
    if not areas:
        return []
    grids = {grid for grid in (index.grid_of(code) for code in areas if code in index.position) if grid}
    reachable = select(Person.id).where(Person.blocked.is_(False))
    leaders = (await session.scalars(
        select(Role.person_id).where(Role.role == RoleName.LEADER, Role.area_code.in_(grids), Role.person_id != person_id,
                                     Role.person_id.in_(reachable)).distinct().order_by(Role.person_id)
    )).all() if grids else []
    if leaders:
        return list(leaders)
    return list((await session.scalars(
        select(Role.person_id).where(Role.role == RoleName.ADMIN, Role.person_id != person_id, Role.person_id.in_(reachable))
        .distinct().order_by(Role.person_id)
    )).all())


async def work_back_after_opening(session: AsyncSession, index: AreaIndex, person_id: int, now: datetime) -> list[Case]:
    """Someone who never opened the bot has now opened it: the cases that left them for that reason,
    and that nobody has taken on or moved since, come back to them (their task cards are queued)."""
    left = dict((await session.execute(
        select(CaseEvent.case_id, func.max(CaseEvent.id))
        .where(CaseEvent.kind == EventKind.UNREACHED, CaseEvent.actor_id == person_id)
        .group_by(CaseEvent.case_id)
    )).tuples().all())
    person = await session.get(Person, person_id)
    if not left or person is None:
        return []
    last_routed = dict((await session.execute(
        select(CaseEvent.case_id, func.max(CaseEvent.id))
        .where(CaseEvent.case_id.in_(left), CaseEvent.kind == EventKind.ROUTED)
        .group_by(CaseEvent.case_id)
    )).tuples().all())
    returned: list[Case] = []
    for case in (await session.scalars(select(Case).where(Case.id.in_(left)).order_by(Case.id))).all():
        untouched = last_routed.get(case.id, 0) < left[case.id] and case.accepted_at is None
        grid = index.grid_of(case.area_code)
        if not untouched or case.state not in cases.OPEN_STATES or case.assignee_id == person_id or grid is None:
            continue
        for role in WORKING_ROLES:
            if any(holder.id == person_id for holder, _count in await holders(session, role, grid)):
                await hand_over(session, case, person_id, role, f"{person.name} opened the bot; back to {role} "
                                f"{person.name} of {grid}", None, now)
                returned.append(case)
                break
    return returned


@dataclass(frozen=True)
class DispatchGaps:
    """Where a case that no worker or leader takes would find no dispatcher of its own."""

    areas: list[str]  # the largest areas with no reachable dispatcher in them or above them
    top_dispatcher: bool  # typed addresses and points outside the map go to a top-level dispatcher
    admins: int  # reachable admins: the last resort


async def dispatch_gaps(session: AsyncSession) -> DispatchGaps:
    """Read from the map's tree alone (no shapes), so it stays quick for a city's tens of thousands of areas."""
    parent_of = dict((await session.execute(select(Area.code, Area.parent_code).order_by(Area.code))).tuples().all())
    children: dict[str | None, list[str]] = {}
    for code, parent in parent_of.items():
        children.setdefault(parent if parent in parent_of else None, []).append(code)
    dispatching = set(parent_of).intersection((await session.scalars(
        select(Role.area_code).join(Person, Person.id == Role.person_id)
        .where(Role.role == RoleName.DISPATCHER, Role.on_duty.is_(True), Person.blocked.is_(False))
    )).all())
    has_one_inside: set[str] = set()
    for area in dispatching:
        current: str | None = area
        while current is not None and current not in has_one_inside:
            has_one_inside.add(current)
            current = parent_of.get(current)
    gaps: list[str] = []
    pending = list(reversed(children.get(None, [])))
    while pending:
        code = pending.pop()
        if code in dispatching:
            continue  # this area and everything in it has a dispatcher
        if code not in has_one_inside:
            gaps.append(code)
        else:
            pending.extend(reversed(children.get(code, [])))
    admins = await session.scalar(
        select(func.count(func.distinct(Role.person_id))).join(Person, Person.id == Role.person_id)
        .where(Role.role == RoleName.ADMIN, Person.blocked.is_(False)))
    top = any(parent_of.get(code) not in parent_of for code in dispatching)
    return DispatchGaps(gaps, top, int(admins or 0))
