"""Cases and their life: numbering, submitting, every change of state, and who hears of it.

Every change writes a CaseEvent and, in the same transaction, queues a message to each person
who follows the case, so a crash can lose neither.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from storage import log_context, outbox, platform_updates
from storage.db import insert_for
from storage.map_index import distance_m as distance_m  # read through this module by report drafts
from storage.models import (
    Case,
    CaseCounter,
    CaseEvent,
    CaseFollower,
    CasePhoto,
    Category,
    Person,
    Photo,
    UpstreamSync,
)
from storage.vocab import FINAL_STATES as FINAL_STATES  # the names callers have always read here
from storage.vocab import OPEN_STATES as OPEN_STATES
from storage.vocab import (
    CaseState,
    Channel,
    EventKind,
    LocationSource,
    PhotoRole,
    SyncState,
)

# The steps of a case's history its citizens may read. The rest (routed, handed back, unreached)
# name staff and their internal reasons; citizens see the state changes those cause.
CITIZEN_STEPS: frozenset[EventKind] = frozenset({EventKind.STATE, EventKind.PHOTOS, EventKind.ON_SITE,
                                                 EventKind.UPSTREAM, EventKind.COMMENT})
# The note on a close the timer made because the citizen did not rate the result.
CLOSED_UNRATED = "closed unrated"

# The closed loop of DESIGN.md: where a case may go from each state.
TRANSITIONS: Mapping[CaseState, frozenset[CaseState]] = {
    CaseState.REPORTED: frozenset({CaseState.ACCEPTED, CaseState.ASSIGNED, CaseState.REJECTED, CaseState.ESCALATED}),
    CaseState.ACCEPTED: frozenset({CaseState.ASSIGNED, CaseState.REJECTED, CaseState.ESCALATED}),
    CaseState.ASSIGNED: frozenset({CaseState.IN_PROGRESS, CaseState.RESOLVED, CaseState.VERIFYING, CaseState.ACCEPTED,
                                   CaseState.ESCALATED}),
    CaseState.IN_PROGRESS: frozenset({CaseState.RESOLVED, CaseState.VERIFYING, CaseState.ASSIGNED, CaseState.ESCALATED}),
    # 核查: the verifier confirms (resolved, the citizen is asked to rate) or sends it back to the worker.
    CaseState.VERIFYING: frozenset({CaseState.RESOLVED, CaseState.IN_PROGRESS}),
    CaseState.RESOLVED: frozenset({CaseState.CLOSED, CaseState.REOPENED}),
    CaseState.REOPENED: frozenset({CaseState.ASSIGNED, CaseState.IN_PROGRESS, CaseState.RESOLVED, CaseState.VERIFYING,
                                   CaseState.ESCALATED}),
    CaseState.ESCALATED: frozenset({CaseState.ACCEPTED, CaseState.ASSIGNED, CaseState.IN_PROGRESS, CaseState.REJECTED,
                                    CaseState.ESCALATED}),
    CaseState.CLOSED: frozenset(),
    CaseState.REJECTED: frozenset(),
}

DUPLICATE_RADIUS_M = 50
# A second reporter's photos may join a case in these states (a resolved one may still reopen).
MERGEABLE_STATES: tuple[CaseState, ...] = (*OPEN_STATES, CaseState.RESOLVED)


class CaseStateError(Exception):
    """The case is not in a state that allows this change (someone else got there first)."""

    def __init__(self, case: Case, wanted: CaseState) -> None:
        super().__init__(f"case {case.number} is {case.state}, cannot become {wanted}")
        self.case = case
        self.wanted = wanted


class NotYourCase(Exception):
    """The person asked about a case they neither reported nor follow."""


@dataclass(frozen=True)
class NewCase:
    reporter_id: int | None
    category_code: str
    description: str | None
    lat: float | None
    lon: float | None
    address: str | None
    location_source: LocationSource
    photo_ids: tuple[int, ...]
    channel: Channel = Channel.TELEGRAM
    reporter_contact: dict[str, str] | None = None
    answers: dict[str, Any] | None = None  # to the category's questions


async def next_case_number(session: AsyncSession, now: datetime, timezone: ZoneInfo) -> str:
    """A number to say on the phone: the local date and the day's sequence, e.g. 261123-0042."""
    day = now.astimezone(timezone).strftime("%y%m%d")
    insert = insert_for(session)
    statement = (
        insert(CaseCounter)
        .values(day=day, last=1)
        .on_conflict_do_update(index_elements=["day"], set_={"last": CaseCounter.last + 1})
        .returning(CaseCounter.last)
    )
    sequence: int = (await session.execute(statement)).scalar_one()
    return f"{day}-{sequence:04d}"


def note_for_citizens(event: CaseEvent) -> str | None:
    """What of an event's note its citizens may read: not why staff passed the case up, not
    where the worker stood, not the timer's own marker."""
    if event.kind not in CITIZEN_STEPS or event.kind == EventKind.ON_SITE:
        return None
    if event.to_state == CaseState.ESCALATED or closed_unrated(event):
        return None
    if event.from_state == CaseState.VERIFYING and event.to_state == CaseState.IN_PROGRESS:
        return None  # why the verifier sent the fix back is for its worker
    return event.note


def closed_unrated(event: CaseEvent) -> bool:
    """Closed by the timer because nobody rated the result in time."""
    return event.to_state == CaseState.CLOSED and event.note == CLOSED_UNRATED


async def _record_event(
    session: AsyncSession,
    case: Case,
    kind: EventKind,
    actor_id: int | None,
    now: datetime,
    from_state: CaseState | None = None,
    to_state: CaseState | None = None,
    note: str | None = None,
) -> CaseEvent:
    log_context.about_case(case.number)  # the lines logged from here on name the case
    event = CaseEvent(
        case_id=case.id,
        at=now,
        actor_id=actor_id,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        note=note,
    )
    session.add(event)
    await session.flush()
    return event


async def _tell_followers(
    session: AsyncSession, case: Case, event: CaseEvent, now: datetime, skip_person: int | None = None
) -> None:
    followers = await session.scalars(select(CaseFollower.person_id).where(CaseFollower.case_id == case.id))
    for person_id in followers.all():
        if person_id != skip_person:
            await outbox.enqueue(session, person_id, outbox.CaseUpdatePayload(case.id, event.id), now)


async def follow_case(session: AsyncSession, case_id: int, person_id: int, now: datetime) -> bool:
    """Make the person hear of the case's progress; False when they already did."""
    if await session.get(CaseFollower, (case_id, person_id)) is not None:
        return False
    session.add(CaseFollower(case_id=case_id, person_id=person_id, since=now))
    await session.flush()
    return True


async def _attach_photos(
    session: AsyncSession, case: Case, photo_ids: tuple[int, ...], role: PhotoRole, event: CaseEvent, person_id: int | None
) -> int:
    existing = set(
        (await session.scalars(select(CasePhoto.photo_id).where(CasePhoto.case_id == case.id, CasePhoto.role == role))).all()
    )
    added = 0
    for photo_id in photo_ids:
        if photo_id in existing:
            continue
        existing.add(photo_id)
        session.add(CasePhoto(case_id=case.id, photo_id=photo_id, role=role, event_id=event.id, added_by=person_id))
        added += 1
    await session.flush()
    return added


# The time limit of a case whose category the catalog no longer has (its card says the same).
UNKNOWN_CATEGORY_HOURS = 72


async def submit_case(session: AsyncSession, new: NewCase, now: datetime, timezone: ZoneInfo) -> Case:
    """Create a case from a finished report; the reporter follows it from now on."""
    category = await session.get(Category, new.category_code)
    hours = category.time_limit_hours if category else UNKNOWN_CATEGORY_HOURS
    accept, arrive = (category.accept_hours, category.arrive_hours) if category else (None, None)
    case = Case(
        number=await next_case_number(session, now, timezone),
        reporter_id=new.reporter_id,
        channel=new.channel,
        reporter_contact=new.reporter_contact,
        state=CaseState.REPORTED,
        category_code=new.category_code,
        description=new.description,
        lat=new.lat,
        lon=new.lon,
        address=new.address,
        location_verified=new.lat is not None and new.location_source != LocationSource.TYPED,
        location_source=new.location_source,
        created_at=now,
        deadline_at=now + timedelta(hours=hours),
        updated_at=now,
        answers=new.answers or None,
        accept_due_at=now + timedelta(hours=accept) if accept else None,
        arrive_due_at=now + timedelta(hours=arrive) if arrive else None,
    )
    session.add(case)
    await session.flush()
    event = await _record_event(session, case, EventKind.STATE, new.reporter_id, now, None, CaseState.REPORTED)
    await _attach_photos(session, case, new.photo_ids, PhotoRole.REPORT, event, new.reporter_id)
    if new.reporter_id is not None:
        await follow_case(session, case.id, new.reporter_id, now)
    # Queued for the city's platform in the same transaction, so no case is ever missed by the sync.
    session.add(UpstreamSync(case_id=case.id, state=SyncState.NEW, attempts=0, next_at=now, maybe_posted=False,
                             created_at=now))
    return case


async def nearby_open_cases(
    session: AsyncSession, category_code: str | None, lat: float, lon: float, radius_m: float = DUPLICATE_RADIUS_M
) -> list[tuple[Case, float]]:
    """Open cases of the same category (any, for None) within `radius_m`, nearest first."""
    dlat = radius_m / 111_320
    dlon = radius_m / (111_320 * max(math.cos(math.radians(lat)), 0.01))
    candidates = await session.scalars(
        select(Case).where(
            Case.category_code == category_code if category_code is not None else true(),
            Case.state.in_(MERGEABLE_STATES),
            Case.lat.between(lat - dlat, lat + dlat),
            Case.lon.between(lon - dlon, lon + dlon),
        )
    )
    # The query asked for a latitude and longitude between bounds: none of these is None.
    found = [(case, distance_m(lat, lon, case.lat, case.lon)) for case in candidates.all()
             if case.lat is not None and case.lon is not None]
    return sorted((pair for pair in found if pair[1] <= radius_m), key=lambda pair: pair[1])


async def add_photos_to_case(
    session: AsyncSession, case_id: int, person_id: int, photo_ids: tuple[int, ...], now: datetime
) -> Case:
    """A second reporter's photos join an open case, and that reporter follows it. The caller has
    decided that this person may join this case (drafts.merge_into_offered_case, a dispatcher's
    duplicate); this only checks the state."""
    case = await case_for_update(session, case_id)
    if case.state not in MERGEABLE_STATES:
        raise CaseStateError(case, case.state)
    event = await _record_event(session, case, EventKind.PHOTOS, person_id, now, note=None)
    await _attach_photos(session, case, photo_ids, PhotoRole.REPORT, event, person_id)
    await follow_case(session, case.id, person_id, now)
    case.updated_at = now
    return case


async def case_for_update(session: AsyncSession, case_id: int) -> Case:
    """The case, locked for this transaction. SQLite transactions here already hold the write lock
    (BEGIN IMMEDIATE), so a case this session has loaded is used as it is."""
    if session.bind.dialect.name == "postgresql":
        # populate_existing: a copy this session loaded before the lock must not hide a change
        # another transaction committed while we waited for it.
        case = await session.scalar(select(Case).where(Case.id == case_id).with_for_update()
                                    .execution_options(populate_existing=True))
    else:
        case = await session.get(Case, case_id)
    if case is None:
        raise LookupError(f"no case {case_id}")
    return case


async def change_state(
    session: AsyncSession,
    case_id: int,
    to_state: CaseState,
    actor_id: int | None,
    now: datetime,
    note: str | None = None,
    after_photo_ids: tuple[int, ...] = (),
    from_platform: bool = False,
) -> Case:
    """Move a case along its life, record the event, and queue word to everyone following it and,
    for a case Gridline posted, to the city platform (unless the change came from there)."""
    case = await case_for_update(session, case_id)
    if to_state not in TRANSITIONS[case.state]:
        raise CaseStateError(case, to_state)
    event = await _record_event(session, case, EventKind.STATE, actor_id, now, case.state, to_state, note)
    if after_photo_ids:
        await _attach_photos(session, case, after_photo_ids, PhotoRole.AFTER, event, actor_id)
    verified = case.state == CaseState.VERIFYING and to_state == CaseState.RESOLVED
    case.state = to_state
    case.updated_at = now
    case.alarm_at = now  # the timers look again at every change
    if to_state in FINAL_STATES:
        case.closed_at = now
    elif to_state == CaseState.VERIFYING or (to_state == CaseState.RESOLVED and not verified):
        case.resolved_at = now  # when its worker resolved it: the on-time rate is the worker's
    elif to_state == CaseState.ESCALATED:
        case.escalated_at = now
    # The person who made the change knows of it already; everybody else following hears.
    await _tell_followers(session, case, event, now, skip_person=actor_id)
    await platform_updates.queue_step(session, case, event, from_platform)
    return case


async def record_step(session: AsyncSession, case: Case, kind: EventKind, actor_id: int | None, now: datetime,
                      note: str | None = None, tell: bool = True) -> CaseEvent:
    """A step that is not a change of state (the worker is on site, a comment); followers hear of it."""
    event = await _record_event(session, case, kind, actor_id, now, note=note)
    case.updated_at = now
    if tell:
        await _tell_followers(session, case, event, now, skip_person=actor_id)
    return event


MAX_COMMENT = 2000  # characters, as a report's description


async def add_comment(session: AsyncSession, case_id: int, person_id: int, text: str, now: datetime) -> CaseEvent:
    """A note a follower adds to the case's history, such as why they are not satisfied (at most
    MAX_COMMENT characters: the caller asks again for a longer one, nothing is cut)."""
    if len(text) > MAX_COMMENT:
        raise ValueError(f"a comment of {len(text)} characters, over {MAX_COMMENT}")
    case = await case_for_update(session, case_id)
    return await _record_event(session, case, EventKind.COMMENT, person_id, now, note=text)


async def accept_case(session: AsyncSession, case_id: int, actor_id: int | None, now: datetime) -> Case:
    return await change_state(session, case_id, CaseState.ACCEPTED, actor_id, now)


async def assign_case(
    session: AsyncSession, case_id: int, actor_id: int | None, now: datetime, note: str | None = None
) -> Case:
    return await change_state(session, case_id, CaseState.ASSIGNED, actor_id, now, note)


async def resolve_case(
    session: AsyncSession, case_id: int, actor_id: int | None, now: datetime, note: str, photo_ids: tuple[int, ...]
) -> Case:
    return await change_state(session, case_id, CaseState.RESOLVED, actor_id, now, note, photo_ids)


async def reject_case(session: AsyncSession, case_id: int, actor_id: int | None, now: datetime, reason: str) -> Case:
    return await change_state(session, case_id, CaseState.REJECTED, actor_id, now, reason)


async def rate_case(
    session: AsyncSession, case_id: int, person_id: int, satisfied: bool, now: datetime, reason: str | None = None
) -> Case:
    """The reporter's verdict on a resolved case: satisfied closes it, not satisfied reopens it."""
    case = await case_for_update(session, case_id)
    if case.reporter_id != person_id:
        raise NotYourCase(case_id)
    if case.state != CaseState.RESOLVED:
        raise CaseStateError(case, CaseState.CLOSED if satisfied else CaseState.REOPENED)
    case.rating = 1 if satisfied else 0
    if satisfied:
        return await change_state(session, case_id, CaseState.CLOSED, person_id, now, note=None)
    return await change_state(session, case_id, CaseState.REOPENED, person_id, now, note=reason)


async def person_name(session: AsyncSession, person_id: int | None) -> str:
    person = await session.get(Person, person_id) if person_id is not None else None
    return person.name if person else "-"


async def case_by_id(session: AsyncSession, case_id: int) -> Case | None:
    return await session.get(Case, case_id)


async def case_by_number(session: AsyncSession, number: str) -> Case | None:
    return (await session.scalars(select(Case).where(Case.number == number))).first()


async def followed_case(session: AsyncSession, case_id: int, person_id: int) -> Case:
    """A case the person follows, or NotYourCase: a person sees only their own cases."""
    case = await session.scalar(
        select(Case)
        .join(CaseFollower, CaseFollower.case_id == Case.id)
        .where(Case.id == case_id, CaseFollower.person_id == person_id)
    )
    if case is None:
        raise NotYourCase(case_id)
    return case


async def followed_cases_page(
    session: AsyncSession, person_id: int, page: int, per_page: int = 10
) -> tuple[list[Case], int]:
    """One page of the cases a person follows, newest first, and how many there are in all."""
    followed = select(CaseFollower.case_id).where(CaseFollower.person_id == person_id)
    total = await session.scalar(select(func.count()).select_from(followed.subquery()))
    cases = await session.scalars(
        select(Case)
        .where(Case.id.in_(followed))
        .order_by(Case.created_at.desc(), Case.id.desc())
        .offset(page * per_page)
        .limit(per_page)
    )
    return list(cases.all()), int(total or 0)


async def case_timeline(session: AsyncSession, case_id: int) -> list[CaseEvent]:
    events = await session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.at, CaseEvent.id)
    )
    return list(events.all())


async def reopen_reason(session: AsyncSession, case: Case) -> str | None:
    """What the citizen said since the case was last reopened (why they are not satisfied)."""
    events = await case_timeline(session, case.id)
    reopened_at = next((e.at for e in reversed(events) if e.to_state == CaseState.REOPENED), None)
    comments = [e.note for e in events if e.kind == EventKind.COMMENT and reopened_at and e.at >= reopened_at and e.note]
    return comments[-1] if comments else None


async def report_photos(session: AsyncSession, case_id: int) -> list[Photo]:
    """The photos reporters sent of the problem, first sent first."""
    photos = await session.scalars(
        select(Photo).join(CasePhoto, CasePhoto.photo_id == Photo.id)
        .where(CasePhoto.case_id == case_id, CasePhoto.role == PhotoRole.REPORT).order_by(CasePhoto.id)
    )
    return list(photos.all())


async def after_photos(session: AsyncSession, case_id: int) -> list[Photo]:
    """The worker's photos of the fix (every resolution's), first sent first."""
    photos = await session.scalars(
        select(Photo).join(CasePhoto, CasePhoto.photo_id == Photo.id)
        .where(CasePhoto.case_id == case_id, CasePhoto.role == PhotoRole.AFTER).order_by(CasePhoto.id)
    )
    return list(photos.all())


async def event_photos(session: AsyncSession, event_id: int) -> list[Photo]:
    photos = await session.scalars(
        select(Photo).join(CasePhoto, CasePhoto.photo_id == Photo.id).where(CasePhoto.event_id == event_id).order_by(CasePhoto.id)
    )
    return list(photos.all())
