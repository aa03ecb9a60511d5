"""Who a new case goes to: the grid's worker with the least open work, else the grid leader, else
the nearest dispatcher up the chain. Every decision is an event with its reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import cases, outbox
from storage.map_index import AreaIndex
from storage.models import Area, Case, CaseEvent, Person, Role

DISPATCH_LEVELS = ("community", "street", "district")


@dataclass(frozen=True)
class Routing:
    placement: str  # inside, near, outside, typed
    area_code: str | None
    assignee_id: int | None
    assignee_role: str | None  # worker, leader, dispatcher, or None when nobody could take it
    reason: str


async def open_counts(session: AsyncSession, person_ids: list[int]) -> dict[int, int]:
    if not person_ids:
        return {}
    rows = await session.execute(
        select(Case.assignee_id, func.count()).where(Case.assignee_id.in_(person_ids), Case.state.in_(cases.OPEN_STATES))
        .group_by(Case.assignee_id)
    )
    counts = dict.fromkeys(person_ids, 0)
    counts.update({person_id: count for person_id, count in rows.all()})
    return counts


async def holders(session: AsyncSession, role: str, area_code: str) -> list[tuple[Person, int]]:
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
        .where(Role.role == "dispatcher", Area.parent_code.is_(None), Person.blocked.is_(False))
        .order_by(Person.id)
    )).all()
    counts = await open_counts(session, [p.id for p, _ in rows])
    return sorted(((p, counts[p.id], code) for p, code in rows), key=lambda t: (t[1], t[0].id))


async def choose_handler(session: AsyncSession, index: AreaIndex, placement: str, area_code: str | None,
                         grid_first: bool = True) -> Routing:
    """Decide who should hold a case placed at `area_code` (None when the place is not known)."""
    chain = index.chain(area_code) if area_code else []
    if grid_first and placement in ("inside", "near"):
        grid = next((code for code in chain if index.level_of(code) == "grid"), None)
        if grid is not None:
            workers = await holders(session, "worker", grid)
            if workers:
                person, count = workers[0]
                return Routing(placement, area_code, person.id, "worker",
                               f"grid {grid}, worker {person.name}, {count} open cases")
            leaders = await holders(session, "leader", grid)
            if leaders:
                person, count = leaders[0]
                return Routing(placement, area_code, person.id, "leader",
                               f"grid {grid} has no worker on duty; leader {person.name}, {count} open cases")
    for code in chain:
        if index.level_of(code) in DISPATCH_LEVELS:
            dispatchers = await holders(session, "dispatcher", code)
            if dispatchers:
                person, count = dispatchers[0]
                why = {"outside": "outside the service area", "typed": "typed address, not on the map"}.get(
                    placement, "no worker or leader for its grid")
                return Routing(placement, area_code, person.id, "dispatcher",
                               f"{why}; dispatcher {person.name} of {code}, {count} open cases")
    top = await _top_dispatchers(session)
    why = {"outside": "outside the service area", "typed": "typed address, not on the map"}.get(placement, "no one nearer")
    if top:
        person, count, code = top[0]
        return Routing(placement, area_code, person.id, "dispatcher", f"{why}; top dispatcher {person.name} of {code}")
    return Routing(placement, area_code, None, None, f"{why}; no dispatcher to take it")


async def route_case(session: AsyncSession, case: Case, index: AreaIndex, now: datetime) -> Routing:
    """Place a newly submitted case on the map and give it to a person, recording why."""
    if case.lat is None or case.lon is None:
        placement, area_code = "typed", None
    else:
        found = index.locate(case.lon, case.lat)
        placement, area_code = found.how, found.code
    decision = await choose_handler(session, index, placement, area_code)
    await apply_routing(session, case, decision, None, now)
    return decision


async def apply_routing(session: AsyncSession, case: Case, decision: Routing, actor_id: int | None, now: datetime) -> None:
    case.placement = decision.placement
    case.area_code = decision.area_code
    case.assignee_id = decision.assignee_id
    session.add(CaseEvent(case_id=case.id, at=now, actor_id=actor_id, kind="routed", note=decision.reason))
    await session.flush()
    if decision.assignee_role in ("worker", "leader") and "assigned" in cases.TRANSITIONS[case.state]:
        await cases.change_state(session, case.id, "assigned", actor_id, now)
    await tell_new_holder(session, case, decision, now)


async def tell_new_holder(session: AsyncSession, case: Case, decision: Routing, now: datetime) -> None:
    """Queue the card that tells the case's new holder it is theirs to act on."""
    if decision.assignee_id is not None and decision.assignee_role == "dispatcher":
        await outbox.enqueue(session, decision.assignee_id, "dispatch_card", {"case": case.id}, now)


async def return_cases_of(session: AsyncSession, person_id: int, index: AreaIndex, now: datetime) -> list[Case]:
    """The open cases a removed person held go back: to the grid leader, else up the chain."""
    held = list((await session.scalars(
        select(Case).where(Case.assignee_id == person_id, Case.state.in_(cases.OPEN_STATES)).order_by(Case.id)
    )).all())
    for case in held:
        chain = index.chain(case.area_code) if case.area_code else []
        grid = next((code for code in chain if index.level_of(code) == "grid"), None)
        leaders = [(p, c) for p, c in await holders(session, "leader", grid) if p.id != person_id] if grid else []
        if leaders:
            person, count = leaders[0]
            decision = Routing(case.placement or "inside", case.area_code, person.id, "leader",
                               f"the worker was removed; back to leader {person.name} of grid {grid}")
        else:
            decision = await choose_handler(session, index, case.placement or "typed", case.area_code, grid_first=False)
            decision = Routing(decision.placement, decision.area_code, decision.assignee_id, decision.assignee_role,
                               "the worker was removed; " + decision.reason)
        case.assignee_id = decision.assignee_id
        session.add(CaseEvent(case_id=case.id, at=now, kind="routed", note=decision.reason))
        await tell_new_holder(session, case, decision, now)
    await session.flush()
    return held
