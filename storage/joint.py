"""Joint handling (主协办): a case with a main holder (its assignee) and co-holders, each with a part.

A dispatcher of the case gives a part to another area: a grid (its least loaded worker, else its
leader) or a department defined as an area of the map (its leader, else a dispatcher, else a
worker there). Each co-holder gets their own card, marks their part done or says why it cannot be
done; the main holder may resolve only when no part is open, or resolves anyway with a reason,
which is recorded on every part left open (waived). Each part has its own reminders (half-way, at
the deadline) and, once overdue, its escalation to whoever gave it (`due_parts`, storage/timers.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import cases, dispatch, outbox, routing
from storage.map_index import AreaIndex
from storage.models import Case, CaseEvent, CasePart, Person
from storage.vocab import N_, OPEN_STATES, CaseState, EventKind, PartState
from storage.vocab import Role as RoleName

MAX_REASON = 500
PART_DONE = N_("🤝 {name} finished their part of task <b>{number}</b>.")
PART_CANNOT = N_("🤝 {name} cannot do their part of task <b>{number}</b>: {reason}")
PART_OVERDUE = N_("⏰ The part of case <b>{number}</b> given to {name} is overdue.")
# Work states in which parts may be given (not once it is resolved or closed).
JOINT_STATES = tuple(s for s in OPEN_STATES if s != CaseState.VERIFYING)


class PartRefusal(StrEnum):
    NOT_DISPATCHER = "not_dispatcher"  # only a dispatcher of the case gives parts
    NO_SUCH_AREA = "no_such_area"
    NOBODY_THERE = "nobody_there"  # nobody reachable holds a role there
    STATE = "state"  # the case or the part has moved on
    NO_MAIN = "no_main"  # the case has no main holder yet: assign it first
    NOT_YOURS = "not_yours"  # the part is someone else's


class PartError(Exception):
    def __init__(self, reason: PartRefusal, case: Case | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.case = case


async def _holder_of(session: AsyncSession, index: AreaIndex, area_code: str, skip: set[int]) -> Person | None:
    level = index.level_of(area_code)
    order = (RoleName.WORKER, RoleName.LEADER) if level == "grid" else \
        (RoleName.LEADER, RoleName.DISPATCHER, RoleName.WORKER)
    for role in order:
        for person, _count in await routing.holders(session, role, area_code):
            if person.id not in skip:
                return person
    return None


async def give_part(session: AsyncSession, index: AreaIndex, case_number: str, dispatcher_id: int, area_code: str,
                    now: datetime) -> tuple[Case, CasePart, Person]:
    """A dispatcher of the case gives a part of it to the person who holds `area_code`."""
    case = await cases.case_by_number(session, case_number)
    if case is None or not await dispatch.may_dispatch(session, index, dispatcher_id, case):
        raise PartError(PartRefusal.NOT_DISPATCHER)
    case = await cases.case_for_update(session, case.id)
    if case.state not in JOINT_STATES:
        raise PartError(PartRefusal.STATE, case)
    if case.assignee_id is None or case.assignee_id == dispatcher_id:
        raise PartError(PartRefusal.NO_MAIN, case)
    if area_code not in index.position:
        raise PartError(PartRefusal.NO_SUCH_AREA, case)
    taken = set((await session.scalars(select(CasePart.holder_id).where(CasePart.case_id == case.id))).all())
    holder = await _holder_of(session, index, area_code, {case.assignee_id, dispatcher_id, *taken})
    if holder is None:
        raise PartError(PartRefusal.NOBODY_THERE, case)
    deadline = max(case.deadline_at, now + timedelta(hours=1))
    part = CasePart(case_id=case.id, holder_id=holder.id, area_code=area_code, state=PartState.OPEN,
                    given_by=dispatcher_id, created_at=now, deadline_at=deadline, reminders=0,
                    alarm_at=now + (deadline - now) / 2)
    session.add(part)
    giver = await cases.person_name(session, dispatcher_id)
    await cases.record_step(session, case, EventKind.PART, dispatcher_id, now,
                            f"co-holder {holder.name} ({area_code}) added by {giver}", tell=False)
    await session.flush()
    await outbox.enqueue(session, holder.id, outbox.PartCardPayload(part.id), now)
    return case, part, holder


async def part_for_update(session: AsyncSession, part_id: int, person_id: int) -> tuple[CasePart, Case]:
    """The person's own open part and its case (still open); else PartError."""
    part = await session.get(CasePart, part_id)
    if part is None or part.holder_id != person_id:
        raise PartError(PartRefusal.NOT_YOURS)
    case = await cases.case_for_update(session, part.case_id)
    if part.state != PartState.OPEN or case.state not in JOINT_STATES:
        raise PartError(PartRefusal.STATE, case)
    return part, case


async def _finish(session: AsyncSession, part: CasePart, case: Case, state: PartState, note: str | None,
                  now: datetime, message: str) -> None:
    part.state, part.note, part.done_at, part.alarm_at = state, note, now, None
    name = await cases.person_name(session, part.holder_id)
    await cases.record_step(session, case, EventKind.PART, part.holder_id, now,
                            f"{name}: part {state}" + (f" ({note})" if note else ""), tell=False)
    if case.assignee_id is not None:
        await outbox.enqueue(session, case.assignee_id, outbox.NoticePayload(
            message, {"name": name, "number": case.number, "reason": note or ""}), now)


async def mark_done(session: AsyncSession, part_id: int, person_id: int, now: datetime) -> tuple[CasePart, Case]:
    part, case = await part_for_update(session, part_id, person_id)
    await _finish(session, part, case, PartState.DONE, None, now, PART_DONE)
    return part, case


async def cannot(session: AsyncSession, part_id: int, person_id: int, reason: str, now: datetime) -> tuple[CasePart, Case]:
    """The co-holder cannot do their part, and says why (at most MAX_REASON characters); the main holder hears."""
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise ValueError(f"a reason of {len(reason)} characters, over {MAX_REASON}")
    part, case = await part_for_update(session, part_id, person_id)
    await _finish(session, part, case, PartState.CANNOT, reason, now, PART_CANNOT)
    return part, case


async def parts_of(session: AsyncSession, case_id: int) -> list[tuple[CasePart, str]]:
    """A case's parts with their holders' names, in the order they were given."""
    rows = (await session.execute(select(CasePart, Person.name).join(Person, Person.id == CasePart.holder_id)
                                  .where(CasePart.case_id == case_id).order_by(CasePart.id))).tuples().all()
    return list(rows)


async def open_parts(session: AsyncSession, case_id: int) -> list[tuple[CasePart, str]]:
    return [(part, name) for part, name in await parts_of(session, case_id) if part.state == PartState.OPEN]


async def waive_open_parts(session: AsyncSession, case_id: int, person_id: int, reason: str, now: datetime) -> int:
    """The main holder resolves without the open parts, for `reason` (recorded on each); how many."""
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise ValueError(f"a reason of {len(reason)} characters, over {MAX_REASON}")
    case = await cases.case_for_update(session, case_id)
    if case.assignee_id != person_id or case.state not in JOINT_STATES:
        raise PartError(PartRefusal.STATE, case)
    waived = 0
    for part, name in await open_parts(session, case_id):
        part.state, part.note, part.done_at, part.alarm_at = PartState.WAIVED, reason, now, None
        waived += 1
        session.add(CaseEvent(case_id=case.id, at=now, actor_id=person_id, kind=EventKind.PART,
                              note=f"part of {name} waived by the main holder: {reason}"))
    await session.flush()
    return waived


async def held_parts(session: AsyncSession, person_id: int, limit: int = 30) -> list[tuple[CasePart, Case]]:
    """The open parts a person holds, soonest deadline first (for /tasks)."""
    rows = (await session.execute(select(CasePart, Case).join(Case, Case.id == CasePart.case_id)
                                  .where(CasePart.holder_id == person_id, CasePart.state == PartState.OPEN,
                                         Case.state.in_(JOINT_STATES))
                                  .order_by(CasePart.deadline_at, CasePart.id).limit(limit))).tuples().all()
    return list(rows)


@dataclass
class PartSweep:
    reminded: int = 0
    escalated: int = 0


async def due_parts(session: AsyncSession, now: datetime, escalate_after: timedelta, limit: int = 200) -> PartSweep:
    """Each open part's own clock: a reminder half-way and at its deadline, then, `escalate_after`
    past it, word to whoever gave it. A part of a case that is no longer open rests."""
    result = PartSweep()
    rows = (await session.execute(select(CasePart, Case).join(Case, Case.id == CasePart.case_id)
                                  .where(CasePart.state == PartState.OPEN, CasePart.alarm_at <= now)
                                  .order_by(CasePart.alarm_at).limit(limit))).tuples().all()
    for part, case in rows:
        if case.state not in JOINT_STATES:
            part.alarm_at = None
            continue
        if part.reminders == 0:
            part.reminders, part.alarm_at = 1, part.deadline_at
            await outbox.enqueue(session, part.holder_id, outbox.PartCardPayload(part.id, 1), now, priority=outbox.LATER)
            result.reminded += 1
        elif part.reminders == 1:
            part.reminders, part.alarm_at = 2, part.deadline_at + escalate_after
            await outbox.enqueue(session, part.holder_id, outbox.PartCardPayload(part.id, 2), now, priority=outbox.LATER)
            result.reminded += 1
        else:
            part.reminders, part.alarm_at = 3, None
            name = await cases.person_name(session, part.holder_id)
            if part.given_by is not None:
                await outbox.enqueue(session, part.given_by, outbox.NoticePayload(
                    PART_OVERDUE, {"number": case.number, "name": name}), now)
            session.add(CaseEvent(case_id=case.id, at=now, actor_id=None, kind=EventKind.PART,
                                  note=f"part of {name} overdue: escalated to whoever gave it"))
            result.escalated += 1
    await session.flush()
    return result
