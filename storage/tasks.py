"""A grid worker's side of a case: taking it on, going there, resolving it with proof, passing it up
or back. Who may do what is decided by `storage.policy` (the same rules draw the task card's
buttons), checked here against the store every time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy import case as sql_case
from sqlalchemy.ext.asyncio import AsyncSession

from storage import cases, joint, outbox, policy, routing, verify
from storage.map_index import AreaIndex
from storage.models import Case, CaseEvent, CheckIn, Person, ResolutionDraft, Role
from storage.points import require_valid_point
from storage.policy import Standing, TaskAction, TaskRefusal
from storage.vocab import CaseState, EventKind, Verifier, VerifyMode
from storage.vocab import Role as RoleName

WORK_STATES = policy.WORK_STATES
WAITING_STATES = policy.WAITING_STATES
# The last stage of a task's deadline reminders: escalated for being overdue (see storage/timers.py).
ESCALATED_STAGE = 4
# Reminders of the steps before resolving, when the category limits them (工作时限): late to accept,
# late on site. With the bits of `Case.step_alerts` that say the reminder (then the escalation) went.
LATE_TO_ACCEPT = 11
LATE_ON_SITE = 12
STEP_ALERT_BITS = {LATE_TO_ACCEPT: (1, 2), LATE_ON_SITE: (4, 8)}
MAX_AFTER_PHOTOS = 5
# What a worker types, in characters: a longer text is refused (the caller asks again), never cut,
# since the citizen or the next holder reads it and a cut one could say the wrong thing.
MAX_NOTE = 1000  # the note that resolves a task
MAX_REASON = 500  # why a task goes up a level or back


def late_step(case: Case) -> tuple[int, datetime] | None:
    """The step with its own time limit the case is in now, and when that step is due: to accept
    (a holder has it, it was never accepted) or to arrive (accepted, nobody was on site yet). The
    limits count from the report, so a case reopened later is held to its deadline alone."""
    if case.assignee_id is None:
        return None
    if case.accept_due_at is not None and case.state == CaseState.ASSIGNED and case.first_accepted_at is None:
        return LATE_TO_ACCEPT, case.accept_due_at
    if case.arrive_due_at is not None and case.state == CaseState.IN_PROGRESS and case.arrived_at is None:
        return LATE_ON_SITE, case.arrive_due_at
    return None


def _within(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) > limit:
        raise ValueError(f"a text of {len(text)} characters, over {limit}")
    return text


class TaskError(Exception):
    """A task step that cannot be taken now; `reason` says which, `case` as it stands."""

    def __init__(self, reason: TaskRefusal, case: Case | None = None, other: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.case = case
        self.other = other  # the name of whoever got there first, when that is the reason


async def standing(session: AsyncSession, index: AreaIndex, person_id: int, case: Case) -> Standing:
    """How the person stands to the case: holding it, leading its grid, working in its grid."""
    grid = index.grid_of(case.area_code)
    held = set((await session.scalars(
        select(Role.role).where(Role.person_id == person_id, Role.area_code == grid)
    )).all()) if grid else set()
    return Standing(case.assignee_id == person_id, RoleName.LEADER in held, RoleName.WORKER in held)


def check(action: TaskAction, case: Case, who: Standing) -> None:
    """Raise TaskError, with the policy's reason, unless the person may take `action` on the case now."""
    reason = policy.task_refusal(action, case.state, case.accepted_at is not None, who)
    if reason is not None:
        raise TaskError(reason, case)


async def _name(session: AsyncSession, person_id: int | None) -> str:
    person = await session.get(Person, person_id) if person_id is not None else None
    return person.name if person else "-"


async def _task(session: AsyncSession, index: AreaIndex, case_id: int, person_id: int) -> tuple[Case, Standing]:
    case = await cases.case_for_update(session, case_id)
    who = await standing(session, index, person_id, case)
    if not who.may_see(case):
        raise TaskError(TaskRefusal.NOT_YOURS, case)
    return case, who


async def accept(session: AsyncSession, index: AreaIndex, case_id: int, person_id: int, now: datetime) -> Case:
    """Take the task on. A colleague or the leader may take it too; whoever is first has it."""
    case, who = await _task(session, index, case_id, person_id)
    reason = policy.task_refusal(TaskAction.ACCEPT, case.state, case.accepted_at is not None, who)
    if reason is TaskRefusal.TAKEN:
        raise TaskError(reason, case, await _name(session, case.assignee_id))
    check(TaskAction.ACCEPT, case, who)
    if not who.holder:
        name = await _name(session, person_id)
        session.add(CaseEvent(case_id=case.id, at=now, actor_id=person_id, kind="routed", note=f"taken on by {name}"))
        case.assignee_id = person_id
    case.accepted_at = now
    if case.first_accepted_at is None:  # the step's time limit counts the first acceptance
        case.first_accepted_at = now
    return await cases.change_state(session, case.id, CaseState.IN_PROGRESS, person_id, now)


async def on_site(session: AsyncSession, index: AreaIndex, case_id: int, person_id: int, now: datetime,
                  where: tuple[float, float] | None = None) -> CaseEvent:
    """The worker is there; the citizen hears so. A location, when given, is kept with the event."""
    case, who = await _task(session, index, case_id, person_id)
    check(TaskAction.ON_SITE, case, who)
    note = f"{where[0]:.6f},{where[1]:.6f}" if where else None
    if case.arrived_at is None:  # the first arrival is the one the step's time limit counts
        case.arrived_at = now
        case.alarm_at = now  # the sweep looks again: no late-on-site reminder is due any more
    return await cases.record_step(session, case, EventKind.ON_SITE, person_id, now, note)


async def add_position_to_on_site(session: AsyncSession, index: AreaIndex, case_id: int, person_id: int,
                                  lat: float, lon: float, now: datetime) -> None:
    """The position a worker shared after tapping On site, kept with that step (and as a check-in)."""
    require_valid_point(lat, lon)
    case, who = await _task(session, index, case_id, person_id)
    event = await session.scalar(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "on_site", CaseEvent.actor_id == person_id)
        .order_by(CaseEvent.id.desc()).limit(1)
    )
    if event is not None:
        event.note = f"{lat:.6f},{lon:.6f}"
    session.add(CheckIn(person_id=person_id, at=now, lat=lat, lon=lon))


async def _no_open_parts(session: AsyncSession, case: Case) -> None:
    """The main holder resolves only once every co-holder's part is done (or waived, with a reason)."""
    if await joint.open_parts(session, case.id):
        raise TaskError(TaskRefusal.PARTS_OPEN, case)


async def start_resolving(session: AsyncSession, index: AreaIndex, case_id: int, person_id: int, now: datetime) -> Case:
    case, who = await _task(session, index, case_id, person_id)
    check(TaskAction.RESOLVE, case, who)
    await _no_open_parts(session, case)
    await session.execute(delete(ResolutionDraft).where(ResolutionDraft.person_id == person_id))
    session.add(ResolutionDraft(person_id=person_id, case_id=case.id, photo_ids=[], started_at=now))
    await session.flush()
    return case


async def add_after_photo(session: AsyncSession, person_id: int, photo_id: int) -> int | None:
    """Keep one after-photo; the count so far, or None when the limit is reached."""
    draft = await session.get(ResolutionDraft, person_id)
    if draft is None:
        return None
    if photo_id in draft.photo_ids:
        return len(draft.photo_ids)
    if len(draft.photo_ids) >= MAX_AFTER_PHOTOS:
        return None
    draft.photo_ids = [*draft.photo_ids, photo_id]
    return len(draft.photo_ids)


def first_of_album(person: Person, media_group: str | None) -> bool:
    """Whether an after-photo is the first of its album (or alone): an album is answered once."""
    hints = person.hints or {}
    if media_group and hints.get("after_album") == media_group:
        return False
    person.hints = {**hints, "after_album": media_group or ""}
    return True


async def finish_resolving(session: AsyncSession, index: AreaIndex, person_id: int, note: str, now: datetime,
                           verify_mode: VerifyMode = VerifyMode.NONE, verifier: Verifier = Verifier.LEADER) -> Case:
    """Resolve with the after-photos and the note (at most MAX_NOTE characters). Where verification
    applies (storage/verify.py) the case goes to its verifier first ("verifying"); else the citizen
    is told and asked to rate."""
    note = _within(note, MAX_NOTE)
    draft = await session.get(ResolutionDraft, person_id)
    if draft is None:
        raise TaskError(TaskRefusal.NO_DRAFT)
    if not draft.photo_ids:
        raise TaskError(TaskRefusal.NO_PHOTO, await cases.case_by_id(session, draft.case_id))
    case, who = await _task(session, index, draft.case_id, person_id)
    check(TaskAction.RESOLVE, case, who)
    await _no_open_parts(session, case)
    photo_ids = tuple(draft.photo_ids)
    await session.delete(draft)
    if await verify.to_verifier(session, index, case, verify_mode, verifier, person_id, now) is not None:
        case.reminders = 0  # from here on, the verifier's reminder (storage/timers.py)
        return await cases.change_state(session, case.id, CaseState.VERIFYING, person_id, now, note, photo_ids)
    return await cases.resolve_case(session, case.id, person_id, now, note, photo_ids)


async def drop_resolving(session: AsyncSession, person_id: int) -> None:
    await session.execute(delete(ResolutionDraft).where(ResolutionDraft.person_id == person_id))


async def escalate(session: AsyncSession, index: AreaIndex, case_id: int, person_id: int | None, reason: str,
                   now: datetime) -> tuple[Case, Person]:
    """Pass the case one level up (leader → community → street → district dispatcher) with a reason.
    `person_id` None is the timers escalating an overdue case on behalf of its holder. The reason
    is at most MAX_REASON characters."""
    reason = _within(reason, MAX_REASON)
    if person_id is not None:
        case, who = await _task(session, index, case_id, person_id)
        check(TaskAction.ESCALATE, case, who)
    else:
        case = await cases.case_for_update(session, case_id)
    if CaseState.ESCALATED not in cases.TRANSITIONS[case.state]:
        raise TaskError(TaskRefusal.STATE, case)
    above = await routing.holder_above(session, index, case, case.assignee_id)
    if above is None:
        raise TaskError(TaskRefusal.NOBODY_ABOVE, case)
    target, role, code = above
    await cases.change_state(session, case.id, CaseState.ESCALATED, person_id, now, reason)
    by = await _name(session, person_id) if person_id else "the timers"
    await routing.hand_over(session, case, target.id, role,
                            f"escalated by {by} ({reason}): to {role} {target.name} of {code}", person_id, now,
                            keep_state=True)
    return case, target


async def give_back(session: AsyncSession, index: AreaIndex, case_id: int, person_id: int, reason: str,
                    now: datetime) -> tuple[Case, Person | None]:
    """"Not mine" before taking it on, or "hand back" after: the case returns to whoever routed it
    to this person, else the next one up; the reason (at most MAX_REASON characters) stays in the
    case's history."""
    reason = _within(reason, MAX_REASON)
    case, who = await _task(session, index, case_id, person_id)
    check(TaskAction.HAND_BACK, case, who)  # or "not mine": the same step (see storage.policy)
    target = await _who_routed(session, case, person_id)
    role: RoleName | None
    if target is not None:
        role = await _role_for(session, index, target.id, case)
    if target is None or role is None:
        above = await routing.holder_above(session, index, case, person_id, admins_last=True)
        target, role = (above.person, above.role) if above else (None, None)
    await cases.record_step(session, case, EventKind.HANDED_BACK, person_id, now, reason, tell=False)
    name = await _name(session, person_id)
    note = f"{name} gave it back: to {role} {target.name}" if target else f"{name} gave it back; nobody to take it"
    await routing.hand_over(session, case, target.id if target else None, role, note, person_id, now)
    return case, target


async def _who_routed(session: AsyncSession, case: Case, person_id: int) -> Person | None:
    """The person whose decision gave this case to `person_id` (a dispatcher or a leader), if any."""
    actor = await session.scalar(
        select(CaseEvent.actor_id).where(CaseEvent.case_id == case.id, CaseEvent.kind == "routed")
        .order_by(CaseEvent.id.desc()).limit(1)
    )
    if actor is None or actor == person_id:
        return None
    return await session.get(Person, actor)


async def _role_for(session: AsyncSession, index: AreaIndex, person_id: int, case: Case) -> RoleName | None:
    """The role in which `person_id` can hold this case: leader of its grid, or a dispatcher over it."""
    grid = index.grid_of(case.area_code)
    rows = (await session.execute(select(Role.role, Role.area_code).where(Role.person_id == person_id))).all()
    if grid and (RoleName.LEADER, grid) in rows:
        return RoleName.LEADER
    chain = set(index.chain(case.area_code)) if case.area_code else set()
    if any(role == RoleName.DISPATCHER and (code in chain or not chain) for role, code in rows):
        return RoleName.DISPATCHER
    return None


async def give_to_worker(session: AsyncSession, index: AreaIndex, case_id: int, leader_id: int, worker_id: int,
                         now: datetime) -> tuple[Case, Person]:
    """A grid leader hands a case of their grid to one of its workers."""
    case, who = await _task(session, index, case_id, leader_id)
    check(TaskAction.GIVE, case, who)
    grid = index.grid_of(case.area_code)
    worker = await session.get(Person, worker_id)
    is_worker = await session.scalar(select(func.count()).select_from(Role).where(
        Role.person_id == worker_id, Role.role == RoleName.WORKER, Role.area_code == grid))
    if worker is None or not is_worker:
        raise TaskError(TaskRefusal.NOT_ASSIGNABLE, case)
    if worker.blocked:
        # Which, since what to do differs: someone who never opened the bot can be asked to press Start.
        raise TaskError(TaskRefusal.NEVER_OPENED if worker.never_opened else TaskRefusal.UNREACHABLE, case)
    count = (await routing.open_counts(session, [worker_id]))[worker_id]
    leader = await _name(session, leader_id)
    await routing.hand_over(session, case, worker_id, RoleName.WORKER,
                            f"leader {leader} gave it to worker {worker.name}, {count} open cases", leader_id, now)
    return case, worker


async def grid_workers(session: AsyncSession, index: AreaIndex, case: Case) -> list[tuple[Person, int]]:
    """The workers on duty in the task's grid, with their open cases, least loaded first."""
    grid = index.grid_of(case.area_code)
    return await routing.holders(session, RoleName.WORKER, grid) if grid else []


async def back_after_reopen(session: AsyncSession, index: AreaIndex, case: Case, now: datetime) -> None:
    """Not satisfied: the case goes back to whoever resolved it and the grid leader hears of it.

    The deadline stays what it was, so the on-time rate stays honest; a case reopened after its
    deadline gets no new automatic reminders or escalation (its leader has just been told)."""
    # The worker's resolution: straight to "resolved", or to "verifying" (the verifier's step is not theirs).
    worker_resolved = (CaseEvent.to_state == CaseState.VERIFYING) | (
        (CaseEvent.to_state == CaseState.RESOLVED) & (CaseEvent.from_state != CaseState.VERIFYING))
    resolver = await session.scalar(
        select(CaseEvent.actor_id).where(CaseEvent.case_id == case.id, worker_resolved)
        .order_by(CaseEvent.id.desc()).limit(1)
    )
    holder = resolver or case.assignee_id
    if now >= case.deadline_at:
        case.reminders = ESCALATED_STAGE
    if holder is None:
        return
    name = await _name(session, holder)
    await routing.hand_over(session, case, holder, RoleName.WORKER, f"the citizen is not satisfied; back to {name}", None, now)
    grid = index.grid_of(case.area_code)
    if grid is not None:
        leaders = (await session.scalars(select(Role.person_id).where(Role.role == RoleName.LEADER,
                                                                       Role.area_code == grid))).all()
        for leader in leaders:
            if leader != holder:
                await outbox.enqueue(session, leader, outbox.TaskCardPayload(case.id, for_="leader"), now)


async def pass_on_citizen_comment(session: AsyncSession, case: Case, event_id: int, now: datetime) -> None:
    """What the citizen added (why they are not satisfied) reaches whoever holds the case."""
    if case.assignee_id is not None and case.state in cases.OPEN_STATES:
        await outbox.enqueue(session, case.assignee_id, outbox.CitizenCommentPayload(case.id, event_id), now)


# --- lists -------------------------------------------------------------------------------------


async def works_in_a_grid(session: AsyncSession, person_id: int) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(Role).where(
        Role.person_id == person_id, Role.role.in_((RoleName.WORKER, RoleName.LEADER)))))


async def led_grids(session: AsyncSession, person_id: int) -> list[str]:
    return sorted(c for c in (await session.scalars(
        select(Role.area_code).where(Role.person_id == person_id, Role.role == RoleName.LEADER)
    )).all() if c)


async def _task_filter(session: AsyncSession, index: AreaIndex, person_id: int) -> tuple[ColumnElement[bool]]:
    """Tasks held by the person, or open in a grid they lead; each side fits one index, (assignee_id,
    state) or (area_code, state), so neither scans the closed cases."""
    held = (Case.assignee_id == person_id) & Case.state.in_((*WORK_STATES, CaseState.ESCALATED))
    grids = await led_grids(session, person_id)
    if grids:
        inside = index.under(grids)
        held = held | (Case.area_code.in_(inside) & Case.state.in_(WORK_STATES))
    return (held,)


async def open_tasks(session: AsyncSession, index: AreaIndex, person_id: int, limit: int = 30) -> tuple[list[Case], int]:
    """A worker's open tasks, or for a leader also every open task of their grids: the soonest
    deadline first (so the overdue ones lead), and how many there are in all."""
    where = await _task_filter(session, index, person_id)
    total = await session.scalar(select(func.count()).select_from(Case).where(*where))
    rows = await session.scalars(select(Case).where(*where).order_by(Case.deadline_at, Case.id).limit(limit))
    return list(rows.all()), int(total or 0)


@dataclass(frozen=True)
class TaskCounts:
    open: int
    due_today: int
    overdue: int


async def task_counts(session: AsyncSession, index: AreaIndex, person_id: int, now: datetime, zone: ZoneInfo) -> TaskCounts:
    where = await _task_filter(session, index, person_id)
    midnight = datetime.combine(now.astimezone(zone).date() + timedelta(days=1), time(0), tzinfo=zone)
    total, overdue, today = (await session.execute(select(
        func.count(),
        func.coalesce(func.sum(sql_case((Case.deadline_at < now, 1), else_=0)), 0),
        func.coalesce(func.sum(sql_case(((Case.deadline_at >= now) & (Case.deadline_at < midnight), 1), else_=0)), 0),
    ).where(*where))).one()
    return TaskCounts(int(total), int(today), int(overdue))


async def may_see_task(session: AsyncSession, index: AreaIndex, person_id: int, case: Case) -> bool:
    return (await standing(session, index, person_id, case)).may_see(case)


async def queue_card(session: AsyncSession, person_id: int, case_id: int, now: datetime) -> None:
    """The task's card, sent to the person who asked for it (while they may still see it)."""
    await outbox.enqueue(session, person_id, outbox.TaskCardPayload(case_id), now)
