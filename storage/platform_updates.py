"""Every step of a case Gridline posted, on its way to the city platform as an Open311 service
request update (`POST servicerequestupdates`), and the same steps read back for Gridline's own
`GET servicerequestupdates` (adapters/open311_server.py).

A step's row is written in the transaction that takes the step (`queue_step`, from
`cases.change_state`), so none is lost. The sync (`adapters/open311_client.py`) sends a case's rows
in order once the case has its upstream id; a failure keeps the row, and the later ones of that case
wait behind it, with backoff. The `update_id` is the row's own, stable across retries and restarts:
a send whose answer was lost goes again with the same id, which the platform takes as the same
update (the extension's idempotency key), so nothing reaches it twice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Case, CaseEvent, CasePhoto, UpstreamSync, UpstreamUpdate
from storage.vocab import CaseState, EventKind, PhotoRole, SyncState, UpdateState

LEASE = timedelta(minutes=2)
BACKOFF_BASE = timedelta(seconds=10)
BACKOFF_MAX = timedelta(hours=1)
# The steps that count as closed on the platform (as Gridline's own Open311 face says it, storage/open311.py).
CLOSED_STATES = (CaseState.RESOLVED, CaseState.CLOSED, CaseState.REJECTED)
MAX_NOTE = 900  # characters of a step's note sent upstream


def update_id(event_id: int) -> str:
    return f"gridline-{event_id}"


def describe(event: CaseEvent, duplicate_of: str | None) -> str:
    """What a step says to the platform (its language is the platform's: plain English)."""
    note = (event.note or "").strip()[:MAX_NOTE]
    to = event.to_state
    if to == CaseState.REJECTED and duplicate_of:
        return f"Marked as a duplicate of {duplicate_of}"
    if to == CaseState.RESOLVED and event.from_state == CaseState.VERIFYING:
        return "Verified" + (f": {note}" if note and note != "verified" else "")
    words = {
        CaseState.ACCEPTED: "Accepted",
        CaseState.ASSIGNED: "Assigned to a grid worker",
        CaseState.IN_PROGRESS: "Work started" if event.from_state != CaseState.VERIFYING else "Sent back to the worker",
        CaseState.VERIFYING: "Resolved, to be verified",
        CaseState.RESOLVED: "Resolved",
        CaseState.CLOSED: "Closed",
        CaseState.REOPENED: "Reopened",
        CaseState.REJECTED: "Rejected",
        CaseState.ESCALATED: "Escalated to a higher level",
    }
    text = words.get(to, str(to)) if to is not None else "Updated"
    # Staff's internal reasons (why a case went up a level, why a fix was sent back) stay inside.
    if note and to not in (CaseState.ESCALATED, CaseState.IN_PROGRESS, CaseState.CLOSED):
        text += f": {note}"
    return text


def status_after(state: CaseState | None) -> str:
    return "closed" if state in CLOSED_STATES else "open"


async def queue_step(session: AsyncSession, case: Case, event: CaseEvent, from_platform: bool = False) -> None:
    """Queue a change of state for the platform, when the case is one Gridline posts (it has a sync
    row) and the change did not come from the platform itself."""
    if from_platform or event.kind != EventKind.STATE or event.to_state in (None, CaseState.REPORTED):
        return
    if await session.get(UpstreamSync, case.id) is None:
        return
    photo_id = None
    if event.to_state in (CaseState.VERIFYING, CaseState.RESOLVED):
        photo_id = await session.scalar(select(CasePhoto.photo_id).where(
            CasePhoto.case_id == case.id, CasePhoto.role == PhotoRole.AFTER).order_by(CasePhoto.id.desc()).limit(1))
    duplicate_of = None
    if case.duplicate_of_id is not None:
        duplicate_of = await session.scalar(select(Case.number).where(Case.id == case.duplicate_of_id))
    session.add(UpstreamUpdate(case_id=case.id, event_id=event.id, update_id=update_id(event.id),
                               status=status_after(event.to_state), description=describe(event, duplicate_of),
                               photo_id=photo_id, updated_at=event.at, state=UpdateState.NEW, attempts=0,
                               next_at=event.at))
    await session.flush()


@dataclass(frozen=True)
class Due:
    """One update to send: the row's id and what goes in the POST (the media link is made by the caller)."""

    row_id: int
    update_id: str
    service_request_id: str
    status: str
    updated_at: datetime
    description: str
    photo_id: int | None
    case_number: str


async def claim_due(session: AsyncSession, now: datetime, limit: int = 50) -> list[Due]:
    """Updates due to be sent, of cases the platform has numbered, each only when no earlier update
    of its case still waits (a case's steps arrive in order); leased so a crash only delays them."""
    earlier = aliased(UpstreamUpdate)
    waiting_before = exists().where(and_(earlier.case_id == UpstreamUpdate.case_id, earlier.id < UpstreamUpdate.id,
                                         earlier.state.in_((UpdateState.NEW, UpdateState.RETRY))))
    statement = (select(UpstreamUpdate, UpstreamSync.upstream_id, Case.number)
                 .join(UpstreamSync, UpstreamSync.case_id == UpstreamUpdate.case_id)
                 .join(Case, Case.id == UpstreamUpdate.case_id)
                 .where(UpstreamUpdate.state.in_((UpdateState.NEW, UpdateState.RETRY)), UpstreamUpdate.next_at <= now,
                        UpstreamSync.state == SyncState.POSTED, UpstreamSync.upstream_id.is_not(None), ~waiting_before)
                 .order_by(UpstreamUpdate.id).limit(limit))
    if session.bind.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True, of=UpstreamUpdate)
    found = []
    for row, upstream_id, number in (await session.execute(statement)).all():
        row.next_at = now + LEASE
        found.append(Due(row.id, row.update_id, upstream_id, row.status, row.updated_at, row.description, row.photo_id,
                         number))
    return found


async def sent(session: AsyncSession, row_id: int, now: datetime) -> None:
    row = await session.get(UpstreamUpdate, row_id)
    if row is not None:
        row.state, row.sent_at, row.last_error = UpdateState.SENT, now, None
        row.attempts += 1


def backoff(attempts: int, rng: random.Random) -> timedelta:
    plain = min(BACKOFF_BASE * (1 << max(attempts - 1, 0)), BACKOFF_MAX)
    return plain * rng.uniform(0.5, 1.5)


async def failed(session: AsyncSession, row_id: int, error: str, now: datetime, *, permanent: bool,
                 rng: random.Random) -> None:
    row = await session.get(UpstreamUpdate, row_id)
    if row is None:
        return
    row.attempts += 1
    row.last_error = error[:300]
    if permanent:
        row.state = UpdateState.FAILED  # the later steps of the case no longer wait behind it
        return
    row.state = UpdateState.RETRY
    row.next_at = now + backoff(row.attempts, rng)


async def pending_count(session: AsyncSession) -> int:
    rows = await session.scalars(select(UpstreamUpdate.id).where(
        UpstreamUpdate.state.in_((UpdateState.NEW, UpdateState.RETRY))))
    return len(rows.all())


# --- Gridline's own feed of steps (GET servicerequestupdates) ------------------------------------


@dataclass(frozen=True)
class Step:
    update_id: str
    service_request_id: str
    status: str
    updated_at: datetime
    description: str
    photo_id: int | None


async def steps_since(session: AsyncSession, after: datetime | None, until: datetime | None, page: int,
                      page_size: int) -> list[Step]:
    """The changes of state of every case since `after` (exclusive), oldest first, one page (from 1)."""
    statement = (select(CaseEvent, Case.number, Case.duplicate_of_id).join(Case, Case.id == CaseEvent.case_id)
                 .where(CaseEvent.kind == EventKind.STATE, CaseEvent.to_state != CaseState.REPORTED))
    if after is not None:
        statement = statement.where(CaseEvent.at > after)
    if until is not None:
        statement = statement.where(CaseEvent.at <= until)
    rows = (await session.execute(statement.order_by(CaseEvent.at, CaseEvent.id)
                                  .offset((page - 1) * page_size).limit(page_size))).all()
    originals = {original_id for _e, _n, original_id in rows if original_id is not None}
    numbers = dict((await session.execute(select(Case.id, Case.number).where(Case.id.in_(originals)))).tuples().all()) \
        if originals else {}
    events = [event.id for event, _n, _o in rows]
    photos = dict((await session.execute(select(CasePhoto.event_id, CasePhoto.photo_id).where(
        CasePhoto.event_id.in_(events), CasePhoto.role == PhotoRole.AFTER))).tuples().all()) if events else {}
    steps = []
    for event, number, original_id in rows:
        duplicate_of = numbers.get(original_id) if original_id is not None else None
        citizen_safe = event.to_state not in (CaseState.ESCALATED, CaseState.IN_PROGRESS)
        description = describe(event, duplicate_of) if citizen_safe else describe(
            CaseEvent(kind=event.kind, from_state=event.from_state, to_state=event.to_state, note=None), None)
        steps.append(Step(str(event.id), number, status_after(event.to_state), event.at, description,
                          photos.get(event.id)))
    return steps
