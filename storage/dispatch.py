"""What dispatchers decide: the cases no rule could place, and who may act on which of them.

A dispatcher acts for the areas they dispatch and everything inside them; a top-level dispatcher
also for cases that are on no area at all (typed addresses, points outside the map). Every
decision is checked against the store when it is made, not when its button was drawn, by the rules
that drew it (`storage.policy.dispatch_actions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import cases, outbox, policy, routing
from storage.map_index import AreaIndex
from storage.models import Case, CaseFollower, CasePhoto, Person, Role
from storage.policy import DispatchAction, DispatchRefusal
from storage.vocab import CaseState, Level, Placement
from storage.vocab import Role as RoleName

# A case waits for a dispatcher while a dispatcher (or nobody) holds it in one of these states.
WAITING_STATES = policy.DISPATCH_STATES
# A typed reason for not accepting a case, in characters: the dispatcher is asked to keep to it.
MAX_REASON = 500
ASSIGNABLE_ROLES = (RoleName.WORKER, RoleName.LEADER)
# Where choosing a person to give a case to may begin, from the grid up.
START_LEVELS = (Level.GRID, Level.COMMUNITY, Level.STREET, Level.DISTRICT)


class DispatchError(Exception):
    """A dispatcher's decision that cannot be carried out; `reason` says which, for the message."""

    def __init__(self, reason: DispatchRefusal, case: Case | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.case = case


@dataclass(frozen=True)
class Scope:
    """The areas a person dispatches, and whether one of them is at the top of the map. An admin
    dispatches the whole map: cases no dispatcher could take come to them."""

    areas: frozenset[str]
    top: bool
    admin: bool = False

    def __bool__(self) -> bool:
        return bool(self.areas) or self.admin

    def covers(self, index: AreaIndex, area_code: str | None) -> bool:
        if area_code is None:
            return self.top
        return index.within(area_code, set(self.areas))


async def scope_of(session: AsyncSession, index: AreaIndex, person_id: int,
                   role: str = RoleName.DISPATCHER) -> Scope:
    codes = frozenset(c for c in (await session.scalars(
        select(Role.area_code).where(Role.person_id == person_id, Role.role == role)
    )).all() if c is not None)
    if role == RoleName.DISPATCHER and await is_admin(session, person_id):
        roots = frozenset(code for code in index.position if index.parent_of.get(code) is None)
        return Scope(codes | roots, True, admin=True)
    return Scope(codes, any(index.parent_of.get(code) is None and code in index.position for code in codes))


async def is_admin(session: AsyncSession, person_id: int) -> bool:
    return await session.scalar(
        select(Role.id).where(Role.person_id == person_id, Role.role == RoleName.ADMIN).limit(1)) is not None


async def may_dispatch(session: AsyncSession, index: AreaIndex, person_id: int, case: Case) -> bool:
    """Whether this person may decide on this case now: a dispatcher of its area, or the one holding it."""
    scope = await scope_of(session, index, person_id)
    if not scope:
        return False
    return case.assignee_id == person_id or scope.covers(index, case.area_code)


async def waiting_for(session: AsyncSession, index: AreaIndex, person_id: int, limit: int = 30) -> list[Case]:
    """The cases waiting for this dispatcher's decision: held by them, by a fellow dispatcher of
    their areas, or by nobody; oldest first."""
    scope = await scope_of(session, index, person_id)
    if not scope:
        return []
    if scope.admin:
        # Not every top dispatcher's work: what no dispatcher holds (given to an admin, or to nobody),
        # and what the dispatcher areas this admin also holds have.
        own = select(Role.area_code).where(Role.person_id == person_id, Role.role == RoleName.DISPATCHER)
        fellows = select(Role.person_id).where(
            (Role.role == RoleName.ADMIN) | ((Role.role == RoleName.DISPATCHER) & Role.area_code.in_(own)))
    else:
        fellows = select(Role.person_id).where(Role.role == RoleName.DISPATCHER, Role.area_code.in_(scope.areas))
    held = (Case.assignee_id == person_id) | Case.assignee_id.in_(fellows) | Case.assignee_id.is_(None)
    rows = (await session.scalars(
        select(Case).where(Case.state.in_(WAITING_STATES), held).order_by(Case.created_at, Case.id).limit(limit * 4)
    )).all()
    waiting = [c for c in rows if c.assignee_id == person_id or scope.covers(index, c.area_code)]
    return waiting[:limit]


async def assignable_people(session: AsyncSession, grid: str) -> list[tuple[Person, str, int]]:
    """Who a case in this grid can be given to: its workers, then its leaders, with their open cases."""
    found: list[tuple[Person, str, int]] = []
    for role in ASSIGNABLE_ROLES:
        found += [(person, role, count) for person, count in await routing.holders(session, role, grid)]
    return found


async def _grid_of_holder(session: AsyncSession, index: AreaIndex, person_id: int, scope: Scope,
                          preferred: str | None) -> str | None:
    """The grid, within the dispatcher's scope, in which this person works (the case's own grid first)."""
    grids = [c for c in (await session.scalars(
        select(Role.area_code).where(Role.person_id == person_id, Role.role.in_(ASSIGNABLE_ROLES))
    )).all() if c is not None and scope.covers(index, c)]
    if preferred in grids:
        return preferred
    return grids[0] if grids else None


def check(action: DispatchAction, case: Case) -> None:
    """Raise DispatchError, with the policy's reason, unless the case's state allows `action` now
    (for a person the caller has found may dispatch it)."""
    reason = policy.dispatch_refusal(action, case.state, decides=True)
    if reason is not None:
        raise DispatchError(reason, case)


async def _case_to_decide(session: AsyncSession, index: AreaIndex, case_id: int, person_id: int,
                          action: DispatchAction) -> Case:
    case = await cases.case_by_id(session, case_id)
    if case is None or not await may_dispatch(session, index, person_id, case):
        raise DispatchError(DispatchRefusal.NOT_YOURS, case)
    check(action, case)
    return case


def start_area(index: AreaIndex, scope: Scope, case: Case) -> str | None:
    """Where choosing a person begins: the case's grid when the dispatcher covers it, else the
    deepest area of the case they cover, else their own area; None when they have no area at all
    (an admin before any map is imported)."""
    if case.area_code is not None:
        for code in index.chain(case.area_code):
            if index.level_of(code) in START_LEVELS and scope.covers(index, code):
                return code
    return min(scope.areas, default=None)


async def accept_as_is(session: AsyncSession, index: AreaIndex, case_id: int, person_id: int, now: datetime) -> Case:
    """The dispatcher takes the case on as it is; the citizen hears it was accepted."""
    case = await _case_to_decide(session, index, case_id, person_id, DispatchAction.ACCEPT)
    case.assignee_id = person_id
    return await cases.accept_case(session, case.id, person_id, now)


async def assign_to(session: AsyncSession, index: AreaIndex, case_id: int, person_id: int, assignee_id: int,
                    now: datetime) -> tuple[Case, Person]:
    """Give the case to a worker or leader of a grid in the dispatcher's areas, recording why."""
    case = await _case_to_decide(session, index, case_id, person_id, DispatchAction.ASSIGN)
    scope = await scope_of(session, index, person_id)
    grid = await _grid_of_holder(session, index, assignee_id, scope, index.grid_of(case.area_code))
    assignee = await session.get(Person, assignee_id)
    if grid is None or assignee is None:
        raise DispatchError(DispatchRefusal.NOT_ASSIGNABLE, case)
    if assignee.blocked:
        # Which, since what to do differs: someone who never opened the bot can be asked to press Start.
        raise DispatchError(DispatchRefusal.NEVER_OPENED if assignee.never_opened else DispatchRefusal.UNREACHABLE, case)
    dispatcher = await session.get(Person, person_id)
    count = (await routing.open_counts(session, [assignee_id]))[assignee_id]
    # A case the map could not place belongs, from now on, to the grid it was given to.
    area_code = case.area_code if index.grid_of(case.area_code) == grid else grid
    role = await session.scalar(select(Role.role).where(Role.person_id == assignee_id, Role.area_code == grid,
                                                        Role.role.in_(ASSIGNABLE_ROLES)))
    decision = routing.Routing(Placement(case.placement or Placement.TYPED), area_code, assignee_id, role,
                               f"dispatcher {dispatcher.name if dispatcher else person_id} gave it to "
                               f"{role} {assignee.name} of grid {grid}, {count} open cases")
    await routing.apply_routing(session, case, decision, person_id, now)
    return case, assignee


async def reject(session: AsyncSession, index: AreaIndex, case_id: int, person_id: int, reason: str, now: datetime) -> Case:
    """The case is not accepted, for `reason` (at most MAX_REASON characters: the caller asks again
    for a longer one, since the citizen reads it and a cut reason could say the wrong thing)."""
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise ValueError(f"a reason of {len(reason)} characters, over {MAX_REASON}")
    case = await _case_to_decide(session, index, case_id, person_id, DispatchAction.REJECT)
    return await cases.reject_case(session, case.id, person_id, now, reason)


async def mark_duplicate(session: AsyncSession, index: AreaIndex, case_id: int, person_id: int, original_number: str,
                         now: datetime) -> tuple[Case, Case]:
    """The case is the same problem as an earlier open one: its reporters and photos move there and
    the case itself is closed as not accepted, pointing at the original."""
    case = await _case_to_decide(session, index, case_id, person_id, DispatchAction.DUPLICATE)
    original = await cases.case_by_number(session, original_number.strip())
    if original is not None and original.id == case.id:
        raise DispatchError(DispatchRefusal.SAME_CASE, case)
    if original is None or not await may_name_original(session, index, person_id, case, original):
        # A case this dispatcher may not see is answered exactly like a number that does not exist.
        raise DispatchError(DispatchRefusal.NO_SUCH_CASE, case)
    if original.state not in cases.MERGEABLE_STATES:
        raise DispatchError(DispatchRefusal.ORIGINAL_CLOSED, original)
    photo_ids = tuple((await session.scalars(
        select(CasePhoto.photo_id).where(CasePhoto.case_id == case.id, CasePhoto.role == "report").order_by(CasePhoto.id)
    )).all())
    followers = (await session.scalars(select(CaseFollower.person_id).where(CaseFollower.case_id == case.id))).all()
    if case.reporter_id is not None:
        await cases.add_photos_to_case(session, original.id, case.reporter_id, photo_ids, now)
    for follower in followers:
        await cases.follow_case(session, original.id, follower, now)
    case.duplicate_of_id = original.id
    await cases.reject_case(session, case.id, person_id, now, original.number)
    return case, original


async def may_name_original(session: AsyncSession, index: AreaIndex, person_id: int, case: Case, original: Case) -> bool:
    """Whether a dispatcher deciding on `case` may name `original` as the case it repeats: a case
    they may dispatch themselves, or one `nearby_originals` offers for this case. Its reporters will
    follow the original, so a case elsewhere in the city is never reachable by typing or forging its id."""
    if await may_dispatch(session, index, person_id, original):
        return True
    return any(found.id == original.id for found, _metres in await nearby_originals(session, case, limit=None))


async def nearby_originals(session: AsyncSession, case: Case, limit: int | None = 4) -> list[tuple[Case, float]]:
    """Open cases near this one that it may repeat, nearest first (any category: people choose differently)."""
    if case.lat is None or case.lon is None:
        return []
    found = await cases.nearby_open_cases(session, None, case.lat, case.lon, radius_m=150)
    return [(c, d) for c, d in found if c.id != case.id and c.created_at <= case.created_at][:limit]


async def queue_card(session: AsyncSession, person_id: int, case_id: int, now: datetime) -> None:
    """The case's card, sent to the dispatcher who asked for it (while they may still decide on it)."""
    await outbox.enqueue(session, person_id, outbox.DispatchCardPayload(case_id), now)


async def rejection_reason(session: AsyncSession, case: Case) -> str | None:
    """Why the case was not accepted, as the dispatcher gave it (for its card)."""
    events = await cases.case_timeline(session, case.id)
    return next((e.note for e in reversed(events) if e.to_state == CaseState.REJECTED), None)
