"""Everything that happens because time passed, derived from rows in the store.

Each case carries `alarm_at`, the next moment anything could be due for it (every change sets it to
"now" so it is looked at again). A sweep takes the cases whose alarm has come, does what is due,
records how far it got (`nudges`, `reminders`, the state) and sets the next alarm, all in one
transaction: a restart loses nothing and repeats nothing, and a reminder missed while the bot was
down fires once, late. Only the most advanced reminder of a case fires; the ones it supersedes
are skipped rather than sent in a burst.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import distinct, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import cases, joint, outbox, routing, tasks
from storage.db import changed_rows, insert_for
from storage.map_index import AreaIndex
from storage.models import Case, Category, JobRun, Role
from storage.tasks import TaskError
from storage.vocab import CaseState

BATCH = 500
# Deadline reminders: 1 at half the time limit, 2 at 80 %, 3 at the deadline, 4 escalated as overdue.
REMINDER_SHARES = (0.5, 0.8, 1.0)
ESCALATED_STAGE = tasks.ESCALATED_STAGE


@dataclass(frozen=True)
class Timing:
    accept_within: timedelta
    escalate_after: timedelta
    auto_close_after: timedelta
    quiet: tuple[time, time] | None
    digest_at: time
    zone: ZoneInfo

    def quiet_until(self, now: datetime) -> datetime | None:
        """The end of the quiet hours `now` falls in, or None outside them."""
        if self.quiet is None:
            return None
        local = now.astimezone(self.zone)
        start, end = self.quiet
        clock = local.time()
        inside = start <= clock or clock < end if start > end else start <= clock < end
        if not inside:
            return None
        end_day = local.date() if clock < end else local.date() + timedelta(days=1)
        return datetime.combine(end_day, end, tzinfo=self.zone)


@dataclass
class SweepResult:
    looked_at: int = 0
    nudged: int = 0
    to_leader: int = 0
    reminded: int = 0
    escalated: int = 0
    closed: int = 0
    more: bool = False
    _categories: dict[str, Category | None] = field(default_factory=dict, repr=False)


async def _category(session: AsyncSession, result: SweepResult, code: str) -> Category | None:
    if code not in result._categories:
        result._categories[code] = await session.get(Category, code)
    return result._categories[code]


def _time_limit(category: Category | None, case: Case) -> timedelta:
    return timedelta(hours=category.time_limit_hours) if category else case.deadline_at - case.created_at


def _reminder_points(case: Case, limit: timedelta, timing: Timing) -> list[datetime]:
    start = case.deadline_at - limit
    return [start + limit * share for share in REMINDER_SHARES] + [case.deadline_at + timing.escalate_after]


def _awaiting_acceptance(case: Case) -> tuple[int, datetime] | None:
    """Who has yet to accept the case and since when, or None when nobody is waited for."""
    if case.state in ("assigned", "reopened") and case.accepted_at is None and case.assignee_id is not None \
            and case.assigned_at is not None:
        return case.assignee_id, case.assigned_at
    return None


def _rating_since(case: Case) -> datetime:
    """When the citizen was asked to rate: on resolving, or, for a verified case, on verification
    (`resolved_at` stays the worker's time, for the on-time rate; the verification is the last change)."""
    assert case.resolved_at is not None
    return max(case.resolved_at, case.updated_at) if case.verifier_id is not None else case.resolved_at


def next_alarm(case: Case, limit: timedelta, timing: Timing) -> datetime | None:
    """The next moment something could be due for this case, from its rows alone."""
    moments: list[datetime] = []
    awaiting = _awaiting_acceptance(case)
    # With a limit to accept of its own, the category's step reminders pass the case up, not the nudges.
    if awaiting is not None and case.nudges < (1 if case.accept_due_at is not None else 2):
        moments.append(awaiting[1] + timing.accept_within * (case.nudges + 1))
    step = tasks.late_step(case)
    if step is not None:
        remind_bit, escalate_bit = tasks.STEP_ALERT_BITS[step[0]]
        if not case.step_alerts & remind_bit:
            moments.append(step[1])
        elif not case.step_alerts & escalate_bit:
            moments.append(step[1] + timing.escalate_after)
    if case.state in tasks.WORK_STATES and case.assignee_id is not None and case.reminders < ESCALATED_STAGE:
        moments.append(_reminder_points(case, limit, timing)[case.reminders])
    if case.state == "escalated" and case.assignee_id is not None:
        moments.append(max(case.escalated_at or case.updated_at, case.deadline_at) + timing.escalate_after)
    if case.state == "resolved" and case.resolved_at is not None:
        moments.append(_rating_since(case) + timing.auto_close_after)
    if case.state == CaseState.VERIFYING and case.verifier_id is not None and case.reminders == 0:
        moments.append(case.updated_at + timing.escalate_after)  # the verifier's one reminder
    return min(moments) if moments else None


async def _queue_reminder(session: AsyncSession, person_id: int,
                          payload: outbox.TaskCardPayload | outbox.ReminderPayload | outbox.VerifyCardPayload,
                          now: datetime, timing: Timing, urgent: bool) -> None:
    message = await outbox.enqueue(session, person_id, payload, now, outbox.LATER)
    hold = None if urgent else timing.quiet_until(now)
    if hold is not None:
        message.not_before = hold


async def _look_at(session: AsyncSession, index: AreaIndex, timing: Timing, case: Case, now: datetime,
                   result: SweepResult) -> None:
    category = await _category(session, result, case.category_code)
    urgent = bool(category and category.urgent)
    limit = _time_limit(category, case)
    awaiting = _awaiting_acceptance(case)
    if awaiting is not None:
        assignee_id, assigned_at = awaiting
        if now >= assigned_at + timing.accept_within * 2 and case.nudges < 2 and case.accept_due_at is None:
            case.nudges = 2
            above = await routing.holder_above(session, index, case, assignee_id)
            if above is not None:
                person, role, code = above
                minutes = int(timing.accept_within.total_seconds() // 60) * 2
                await routing.hand_over(session, case, person.id, role,
                                        f"not accepted within {minutes} min; to {role} {person.name} of {code}", None, now)
                result.to_leader += 1
        elif now >= assigned_at + timing.accept_within and case.nudges < 1:
            case.nudges = 1
            await _queue_reminder(session, assignee_id, outbox.TaskCardPayload(case.id, nudge=True), now, timing, urgent)
            result.nudged += 1
    await _look_at_step(session, index, timing, case, now, result, urgent)
    if case.state in tasks.WORK_STATES and case.assignee_id is not None:
        due = sum(1 for moment in _reminder_points(case, limit, timing) if moment <= now)
        if due > case.reminders:
            case.reminders = due
            if due == ESCALATED_STAGE:
                await _escalate_overdue(session, index, case, now, result)
            else:
                await _queue_reminder(session, case.assignee_id, outbox.ReminderPayload(case.id, due), now, timing, urgent)
                if due == len(REMINDER_SHARES):  # the deadline itself: the leader hears too
                    for leader in await _grid_leaders(session, index, case):
                        if leader != case.assignee_id:
                            await _queue_reminder(session, leader, outbox.ReminderPayload(case.id, due), now, timing, urgent)
                result.reminded += 1
    elif case.state == "escalated" and case.assignee_id is not None:
        if now >= max(case.escalated_at or case.updated_at, case.deadline_at) + timing.escalate_after:
            await _escalate_overdue(session, index, case, now, result)
    elif (case.state == CaseState.VERIFYING and case.verifier_id is not None and case.reminders == 0
          and now >= case.updated_at + timing.escalate_after):
        # Nobody verified it in GRIDLINE_ESCALATE_AFTER_HOURS: the verifier gets the card again, once.
        case.reminders = 1
        await _queue_reminder(session, case.verifier_id, outbox.VerifyCardPayload(case.id), now, timing, urgent)
        result.reminded += 1
    elif case.state == "resolved" and case.resolved_at is not None and now >= _rating_since(case) + timing.auto_close_after:
        await cases.change_state(session, case.id, CaseState.CLOSED, None, now, note=cases.CLOSED_UNRATED)
        result.closed += 1
    case.alarm_at = next_alarm(case, limit, timing)


async def _look_at_step(session: AsyncSession, index: AreaIndex, timing: Timing, case: Case, now: datetime,
                        result: SweepResult, urgent: bool) -> None:
    """The step's own limit (to accept, to arrive): at it, the holder and the grid's leader are
    reminded; `escalate_after` later, the case goes one level up, as an overdue one does."""
    step = tasks.late_step(case)
    if step is None or case.assignee_id is None:
        return
    stage, due = step
    remind_bit, escalate_bit = tasks.STEP_ALERT_BITS[stage]
    if now >= due + timing.escalate_after and not case.step_alerts & escalate_bit:
        case.step_alerts |= remind_bit | escalate_bit
        what = "not accepted" if stage == tasks.LATE_TO_ACCEPT else "nobody on site"
        hours = round((now - due).total_seconds() / 3600, 1)
        try:
            await tasks.escalate(session, index, case.id, None, f"{what} {hours} h after the step's limit", now)
        except TaskError:  # nobody above: the reminders at the step's limit were all there was to do
            return
        result.escalated += 1
    elif now >= due and not case.step_alerts & remind_bit:
        case.step_alerts |= remind_bit
        told = {case.assignee_id, *await _grid_leaders(session, index, case)}
        for person_id in sorted(told):
            await _queue_reminder(session, person_id, outbox.ReminderPayload(case.id, stage), now, timing, urgent)
        result.reminded += 1


async def _escalate_overdue(session: AsyncSession, index: AreaIndex, case: Case, now: datetime,
                            result: SweepResult) -> None:
    hours = round(max((now - case.deadline_at).total_seconds(), 0) / 3600, 1)
    try:
        await tasks.escalate(session, index, case.id, None, f"overdue by {hours} h", now)
        result.escalated += 1
    except TaskError:
        # Nobody above: it stays where it is; the deadline reminders have already gone out.
        case.escalated_at = now


async def _grid_leaders(session: AsyncSession, index: AreaIndex, case: Case) -> list[int]:
    grid = index.grid_of(case.area_code)
    if grid is None:
        return []
    return list((await session.scalars(select(Role.person_id).where(Role.role == "leader", Role.area_code == grid))).all())


async def sweep(session: AsyncSession, index: AreaIndex, timing: Timing, now: datetime, limit: int = BATCH) -> SweepResult:
    """Do what is due for up to `limit` cases whose alarm has come; `more` says whether others wait."""
    result = SweepResult()
    statement = select(Case).where(Case.alarm_at <= now).order_by(Case.alarm_at, Case.id).limit(limit + 1)
    if session.bind.dialect.name == "postgresql":
        # Another process sweeping at the same moment takes other cases, never the same one.
        statement = statement.with_for_update(skip_locked=True).execution_options(populate_existing=True)
    due = list((await session.scalars(statement)).all())
    result.more = len(due) > limit
    for case in due[:limit]:
        await _look_at(session, index, timing, case, now, result)
        result.looked_at += 1
    # Joint cases (主协办): each co-holder's part has its own reminders and escalation.
    parts = await joint.due_parts(session, now, timing.escalate_after)
    result.reminded += parts.reminded
    result.escalated += parts.escalated
    return result


# --- the daily digest ----------------------------------------------------------------------------


async def claim_daily(session: AsyncSession, name: str, timing: Timing, at: time, now: datetime) -> bool:
    """True once per local day, at or after `at`: the job's turn has come and is now taken."""
    local = now.astimezone(timing.zone)
    if local.time() < at:
        return False
    day = local.date().isoformat()
    # One statement each, so two processes asking at once cannot both get the day.
    insert = insert_for(session)
    if await changed_rows(session, insert(JobRun).values(name=name, last_day=day).on_conflict_do_nothing()):
        return True
    return bool(await changed_rows(session, update(JobRun).where(JobRun.name == name, JobRun.last_day < day)
                                   .values(last_day=day)))


async def queue_digests(session: AsyncSession, index: AreaIndex, timing: Timing, now: datetime) -> int:
    """The morning digest for every worker and leader with open work (held in quiet hours)."""
    holders = {person_id for person_id in (await session.scalars(
        select(distinct(Case.assignee_id)).where(Case.state.in_(tasks.WORK_STATES), Case.assignee_id.is_not(None))
    )).all() if person_id is not None}
    areas = (await session.scalars(
        select(distinct(Case.area_code)).where(Case.state.in_(tasks.WORK_STATES), Case.area_code.is_not(None))
    )).all()
    grids = {index.grid_of(code) for code in areas} - {None}
    if grids:
        holders |= set((await session.scalars(
            select(Role.person_id).where(Role.role == "leader", Role.area_code.in_(grids))
        )).all())
    hold = timing.quiet_until(now)
    for person_id in sorted(holders):
        message = await outbox.enqueue(session, person_id, outbox.DigestPayload(now.astimezone(timing.zone).date().isoformat()),
                                       now, outbox.LATER)
        if hold is not None:
            message.not_before = hold
    return len(holders)
