"""The store's side of the sync with the city's platform: which cases are due to be posted, what
happened to each attempt, the statuses seen upstream, and the figures `gridline sync status` shows.

Posting is at-most-once by construction: before a POST leaves, the row says `maybe_posted`; a row
that says so is looked for upstream (by the marker in its description) before it is posted again,
and a case that has an upstream id is never posted again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import cases
from storage.models import Case, Role, UpstreamSync
from storage.vocab import SYNC_PENDING, CaseState, EventKind, SyncState

LEASE = timedelta(minutes=2)
BACKOFF_BASE = timedelta(seconds=10)
BACKOFF_MAX = timedelta(hours=1)
PULL_EVERY = timedelta(minutes=5)
MARKER = "[Gridline {number}]"
# What the platform says of a case, as its followers read it, in characters (shortened visibly beyond).
MAX_UPSTREAM_NOTE = 1000


def marker(number: str) -> str:
    return MARKER.format(number=number)


async def claim_due(session: AsyncSession, now: datetime, limit: int = 20) -> list[tuple[UpstreamSync, Case]]:
    """Rows due for a POST or a token lookup, leased so a crash only delays them."""
    statement = (select(UpstreamSync, Case).join(Case, Case.id == UpstreamSync.case_id)
                 .where(UpstreamSync.state.in_(("new", "retry", "token")), UpstreamSync.next_at <= now)
                 .order_by(UpstreamSync.next_at).limit(limit))
    if session.bind.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True, of=UpstreamSync)
    rows = [(item, case) for item, case in (await session.execute(statement)).all()]
    for item, _case in rows:
        item.next_at = now + LEASE
    return rows


async def about_to_post(session: AsyncSession, case_id: int, leased_until: datetime, now: datetime) -> bool:
    """Said (and committed) before the POST leaves: from here on it may have reached the platform.

    False when this process's lease (`leased_until`, from `claim_due`) ran out and another
    process claimed the row meanwhile: then only that one may post, or the city gets it twice.
    """
    item = await session.get(UpstreamSync, case_id, with_for_update=session.bind.dialect.name == "postgresql",
                             populate_existing=True)
    if item is None or item.next_at != leased_until or item.state not in ("new", "retry"):
        return False
    item.maybe_posted = True
    item.attempts += 1
    item.next_at = now + LEASE  # the POST may take its whole timeout; nobody else takes the row meanwhile
    return True


async def _row(session: AsyncSession, case_id: int) -> UpstreamSync:
    """A case's sync row, which every synced case has from its creation on."""
    item = await session.get(UpstreamSync, case_id)
    if item is None:
        raise LookupError(f"case {case_id} has no sync row")
    return item


async def posted(session: AsyncSession, case_id: int, upstream_id: str | None, token: str | None, now: datetime) -> None:
    item = await _row(session, case_id)
    item.maybe_posted = False
    item.last_error = None
    item.posted_at = item.posted_at or now
    if upstream_id:
        item.upstream_id, item.state = upstream_id, SyncState.POSTED
        item.next_at = now + PULL_EVERY
    else:
        item.token, item.state = token, SyncState.TOKEN
        item.next_at = now + BACKOFF_BASE


def backoff(attempts: int, rng: random.Random) -> timedelta:
    """Exponential, capped, with jitter so many failed rows do not all come back at once."""
    plain = min(BACKOFF_BASE * (1 << max(attempts - 1, 0)), BACKOFF_MAX)
    return plain * rng.uniform(0.5, 1.5)


async def failed(session: AsyncSession, case_id: int, error: str, now: datetime, *, permanent: bool, reached: bool,
                 rng: random.Random) -> None:
    item = await _row(session, case_id)
    item.last_error = error[:300]
    item.maybe_posted = item.maybe_posted and reached
    if permanent:
        item.state = SyncState.FAILED
        return
    if item.state != SyncState.TOKEN:
        item.state = SyncState.RETRY
    item.next_at = now + backoff(item.attempts, rng)


async def due_for_status(session: AsyncSession, now: datetime, limit: int = 50) -> list[UpstreamSync]:
    """Posted cases whose upstream status is worth asking again: not closed there, not asked lately."""
    return list((await session.scalars(
        select(UpstreamSync).where(UpstreamSync.state == "posted", UpstreamSync.next_at <= now,
                                   (UpstreamSync.upstream_status.is_(None)) | (UpstreamSync.upstream_status != "closed"))
        .order_by(UpstreamSync.next_at).limit(limit)
    )).all())


def _shortened(text: str, limit: int) -> str:
    """The platform's words as they are, or, over `limit` characters, their start and an ellipsis, so
    a reader sees that more was said (the platform keeps the whole)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def status_seen(session: AsyncSession, case_id: int, status: str | None, notes: str | None,
                      now: datetime) -> bool:
    """What the platform says of a case; a change becomes an event that reaches its followers.
    Returns whether anything changed."""
    item = await _row(session, case_id)
    item.checked_at = now
    item.next_at = now + PULL_EVERY
    if status is None or status == item.upstream_status:
        return False
    first = item.upstream_status is None and status == "open"
    item.upstream_status = status
    if first:
        return False  # "open" right after our own POST tells nobody anything new
    case = await cases.case_for_update(session, item.case_id)
    note = f"{status}: {notes}" if notes else status
    await cases.record_step(session, case, EventKind.UPSTREAM, None, now, _shortened(note, MAX_UPSTREAM_NOTE))
    if status == "closed" and case.state == "resolved":
        await cases.change_state(session, case.id, CaseState.CLOSED, None, now, from_platform=True)
    return True


async def who_hears_of_lag(session: AsyncSession) -> list[int]:
    """The people told when cases wait too long to reach the platform: every admin, once each."""
    return list((await session.scalars(select(Role.person_id).where(Role.role == "admin").distinct())).all())


@dataclass
class Status:
    pending: int = 0
    failed: int = 0
    posted: int = 0
    lag: timedelta | None = None  # how long the oldest case not yet upstream has waited
    errors: list[tuple[str, str]] = field(default_factory=list)  # (case number, last error)


async def status(session: AsyncSession, now: datetime) -> Status:
    counts = dict((await session.execute(
        select(UpstreamSync.state, func.count()).group_by(UpstreamSync.state))).tuples().all())
    oldest = await session.scalar(select(func.min(UpstreamSync.created_at)).where(
        UpstreamSync.state.in_(("new", "retry", "token"))))
    errors = (await session.execute(
        select(Case.number, UpstreamSync.last_error).join(Case, Case.id == UpstreamSync.case_id)
        .where(UpstreamSync.last_error.is_not(None)).order_by(UpstreamSync.next_at.desc()).limit(10)
    )).all()
    return Status(
        pending=sum(counts.get(s, 0) for s in SYNC_PENDING),
        failed=counts.get(SyncState.FAILED, 0),
        posted=counts.get(SyncState.POSTED, 0),
        lag=(now - oldest) if oldest else None,
        errors=[(number, error) for number, error in errors],
    )
