"""Verification before closing (核查): a resolved case goes to a verifier before its citizen rates it.

Which cases: GRIDLINE_VERIFY (`none`, `all`, or `catalog`: the categories whose catalog entry says
`verify = true`). Who: GRIDLINE_VERIFIER, the case's grid leader (`leader`, the default; a
dispatcher over the case when the grid has no other leader) or a dispatcher over it (`dispatcher`);
never the person who resolved it. With nobody to verify, the case is resolved as before.

The verifier confirms ("verified", optionally with a photo of their own): the case is resolved and
its citizen asked to rate it. Or sends it back with a reason: the case is back in progress with its
worker, who reads the reason, and its reminders start again. A case sent back loses its time of
resolution, so the on-time rate counts only fixes that passed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import cases, outbox, routing
from storage.map_index import AreaIndex
from storage.models import Case, CaseEvent, CasePhoto, Category
from storage.vocab import N_, CaseState, EventKind, PhotoRole, Verifier, VerifyMode
from storage.vocab import Role as RoleName

MAX_REASON = 500
SENT_BACK = N_("↩️ Task <b>{number}</b> was sent back by {name}, who verified it: {reason}")


class VerifyRefusal(StrEnum):
    NOT_VERIFIER = "not_verifier"  # not the person asked to verify this case
    STATE = "state"  # the case is no longer waiting for verification


class VerifyError(Exception):
    def __init__(self, reason: VerifyRefusal, case: Case | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.case = case


async def applies(session: AsyncSession, case: Case, mode: VerifyMode) -> bool:
    """Whether this case goes to a verifier when it is resolved."""
    if mode == VerifyMode.NONE:
        return False
    if mode == VerifyMode.ALL:
        return True
    category = await session.get(Category, case.category_code)
    return bool(category and category.verify)


async def pick_verifier(session: AsyncSession, index: AreaIndex, case: Case, who: Verifier,
                        resolver_id: int | None) -> int | None:
    """The person who verifies: a leader of the case's grid (unless GRIDLINE_VERIFIER=dispatcher),
    else the nearest dispatcher over the case; never its resolver. None when there is nobody."""
    chain = index.chain(case.area_code) if case.area_code else []
    grid = index.grid_of(case.area_code)
    if who == Verifier.LEADER and grid is not None:
        for person, _count in await routing.holders(session, RoleName.LEADER, grid):
            if person.id != resolver_id:
                return person.id
    for code in chain:
        for person, _count in await routing.holders(session, RoleName.DISPATCHER, code):
            if person.id != resolver_id:
                return person.id
    return None


async def to_verifier(session: AsyncSession, index: AreaIndex, case: Case, mode: VerifyMode, who: Verifier,
                      resolver_id: int, now: datetime) -> int | None:
    """The verifier this resolution goes to (their card queued), or None: resolve it as before."""
    if not await applies(session, case, mode):
        return None
    verifier = await pick_verifier(session, index, case, who, resolver_id)
    if verifier is None:
        return None
    case.verifier_id = verifier
    await outbox.enqueue(session, verifier, outbox.VerifyCardPayload(case.id), now)
    return verifier


async def _waiting(session: AsyncSession, case_id: int, person_id: int) -> Case:
    case = await cases.case_for_update(session, case_id)
    if case.verifier_id != person_id:
        raise VerifyError(VerifyRefusal.NOT_VERIFIER, case)
    if case.state != CaseState.VERIFYING:
        raise VerifyError(VerifyRefusal.STATE, case)
    return case


async def may_verify(session: AsyncSession, case_id: int, person_id: int) -> Case:
    """The case, when this person is its verifier and it waits for them; else VerifyError."""
    return await _waiting(session, case_id, person_id)


async def resolution(session: AsyncSession, case_id: int) -> CaseEvent | None:
    """The worker's latest resolution (its note and after-photos), when the case went to verification."""
    found: CaseEvent | None = await session.scalar(select(CaseEvent).where(
        CaseEvent.case_id == case_id, CaseEvent.to_state == CaseState.VERIFYING).order_by(CaseEvent.id.desc()).limit(1))
    return found


async def verify(session: AsyncSession, case_id: int, person_id: int, now: datetime,
                 photo_id: int | None = None) -> Case:
    """The verifier confirms the fix: the case is resolved (with the worker's note, which its citizen
    reads) and its citizen is asked to rate it; their own photo, if any, is kept with the step."""
    case = await _waiting(session, case_id, person_id)
    worker_step = await resolution(session, case.id)
    note = worker_step.note if worker_step is not None else None
    case = await cases.change_state(session, case.id, CaseState.RESOLVED, person_id, now, note)
    if photo_id is not None:
        event = await session.scalar(select(CaseEvent.id).where(CaseEvent.case_id == case.id)
                                     .order_by(CaseEvent.id.desc()).limit(1))
        session.add(CasePhoto(case_id=case.id, photo_id=photo_id, role=PhotoRole.CHECK, event_id=event,
                              added_by=person_id))
        await session.flush()
    return case


async def send_back(session: AsyncSession, case_id: int, person_id: int, reason: str, now: datetime) -> Case:
    """The fix is not good enough: back to its worker, in progress, with the reason (at most
    MAX_REASON characters); the worker reads it with the task's card, and reminders start again."""
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise ValueError(f"a reason of {len(reason)} characters, over {MAX_REASON}")
    case = await _waiting(session, case_id, person_id)
    worker_step = await resolution(session, case.id)
    worker = worker_step.actor_id if worker_step is not None else case.assignee_id
    case = await cases.change_state(session, case.id, CaseState.IN_PROGRESS, person_id, now, reason)
    case.resolved_at = None
    case.reminders = 0  # the reminders start again (storage/timers.py)
    if worker is not None:
        case.assignee_id = worker
        verifier = await cases.person_name(session, person_id)
        await outbox.enqueue(session, worker, outbox.NoticePayload(
            SENT_BACK, {"number": case.number, "name": verifier, "reason": reason}), now)
        await outbox.enqueue(session, worker, outbox.TaskCardPayload(case.id, for_="holder"), now)
    return case


async def waiting_for(session: AsyncSession, person_id: int) -> list[Case]:
    return list((await session.scalars(select(Case).where(
        Case.verifier_id == person_id, Case.state == CaseState.VERIFYING).order_by(Case.updated_at))).all())


def is_check(event: CaseEvent) -> bool:
    return event.kind == EventKind.STATE and event.from_state == CaseState.VERIFYING
