"""Personal data kept only as long as it is needed (PIPL, GDPR).

A case in a final state (closed or rejected) for `retention_days` loses what identifies its
reporter: the reporter link and any contact another channel gave, the words they typed (the
description and address), the exact point (moved to the grid's centre, or rounded to about 1 km),
the citizens' photos (files too) and who followed it. The case, its number, category, grid, times
and state history stay, so the statistics do not change; the history's notes a citizen wrote go.

`/forget` (and `gridline people forget`) does it at once for the person's closed cases; their
open cases keep the person as a pseudonym (name `#<id>`, no chat id) so the work goes on, and lose
even that once they close (the daily job finds them). The person's drafts, queued messages and
follows go at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Area,
    Case,
    CaseEvent,
    CaseFollower,
    CasePhoto,
    DraftPhoto,
    OutboundMessage,
    Person,
    Photo,
    ReportDraft,
)
from storage.models import Role as RoleRow
from storage.vocab import FINAL_STATES, OPEN_STATES, OutboxStatus, PhotoRole

PointMode = Literal["grid", "1km"]
BATCH = 200
KM_DECIMALS = 2  # 0.01° of latitude is 1.1 km


@dataclass
class CaseRemoval:
    """What was (or would be) removed from one case."""

    number: str
    identity: bool  # a reporter or a contact was on it
    point: bool
    words: bool  # a description, address or answers to the category's questions
    photos: int


@dataclass
class RetentionReport:
    cases: list[CaseRemoval] = field(default_factory=list)
    photo_files: list[str] = field(default_factory=list)  # paths (under the data dir) no row uses any more

    @property
    def photos(self) -> int:
        return sum(case.photos for case in self.cases)


@dataclass
class Forgotten:
    """What `/forget` removed for one person."""

    closed: list[str] = field(default_factory=list)  # case numbers that lost the person at once
    open: list[str] = field(default_factory=list)  # case numbers that keep a pseudonym until they close
    photos: int = 0
    drafts: int = 0
    messages: int = 0  # queued messages to them, not sent
    follows: int = 0
    photo_files: list[str] = field(default_factory=list)
    already: bool = False


class HasRoles(Exception):
    """Staff are removed by an administrator (`gridline people remove`), not forgotten."""


def _removal_cutoff(now: datetime, days: int) -> datetime | None:
    return now - timedelta(days=days) if days > 0 else None


async def due_cases(session: AsyncSession, now: datetime, days: int, limit: int = BATCH) -> list[Case]:
    """Cases in a final state that still identify someone and are `days` old, or whose reporter asked to be forgotten."""
    forgotten = select(Person.id).where(Person.forgotten_at.is_not(None))
    due: list[ColumnElement[bool]] = [Case.reporter_id.in_(forgotten)]
    cutoff = _removal_cutoff(now, days)
    if cutoff is not None:
        due.append(func.coalesce(Case.closed_at, Case.updated_at) <= cutoff)
    found = await session.scalars(
        select(Case).where(Case.state.in_(FINAL_STATES), Case.identity_removed_at.is_(None), or_(*due))
        .order_by(Case.id).limit(limit))
    return list(found)


async def _grid_centre(session: AsyncSession, area_code: str | None) -> tuple[float, float] | None:
    if area_code is None:
        return None
    area = await session.get(Area, area_code)
    if area is None:
        return None
    return (area.min_lat + area.max_lat) / 2, (area.min_lon + area.max_lon) / 2


async def _coarse_point(session: AsyncSession, case: Case, mode: PointMode) -> tuple[float | None, float | None]:
    if case.lat is None or case.lon is None:
        return None, None
    if mode == "grid":
        centre = await _grid_centre(session, case.area_code)
        if centre is not None:
            return round(centre[0], 5), round(centre[1], 5)
    return round(case.lat, KM_DECIMALS), round(case.lon, KM_DECIMALS)


async def _photos_unused(session: AsyncSession, photo_ids: set[int]) -> list[Photo]:
    """Of these photos, the ones no case and no draft uses any more."""
    if not photo_ids:
        return []
    used = set(await session.scalars(select(CasePhoto.photo_id).where(CasePhoto.photo_id.in_(photo_ids))))
    used |= set(await session.scalars(select(DraftPhoto.photo_id).where(DraftPhoto.photo_id.in_(photo_ids))))
    return list(await session.scalars(select(Photo).where(Photo.id.in_(photo_ids - used))))


async def remove_identity(session: AsyncSession, case: Case, now: datetime, mode: PointMode,
                          dry_run: bool = False) -> tuple[CaseRemoval, list[str]]:
    """Remove what identifies the reporter from one case; the photo files to delete after the commit."""
    report_photos = list(await session.scalars(
        select(CasePhoto).where(CasePhoto.case_id == case.id, CasePhoto.role == PhotoRole.REPORT)))
    lat, lon = await _coarse_point(session, case, mode)
    removal = CaseRemoval(case.number, identity=case.reporter_id is not None or bool(case.reporter_contact),
                          point=(lat, lon) != (case.lat, case.lon), words=bool(case.description or case.address or case.answers),
                          photos=len(report_photos))
    if dry_run:
        return removal, []
    reporter = case.reporter_id
    if reporter is not None:
        # The reporter's own words in the history (a comment, why they were not satisfied) go; the steps stay.
        await session.execute(update(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.actor_id == reporter)
                              .values(actor_id=None, note=None))
    await session.execute(delete(CaseFollower).where(CaseFollower.case_id == case.id))
    photo_ids = {link.photo_id for link in report_photos}
    for link in report_photos:
        await session.delete(link)
    # The finished report drafts that became this case still hold the photos (and the typed words).
    for draft in await session.scalars(select(ReportDraft).where(ReportDraft.case_id == case.id)):
        photo_ids |= {photo.photo_id for photo in draft.photos}
        await session.delete(draft)
    await session.flush()
    files = []
    for photo in await _photos_unused(session, photo_ids):
        files.append(photo.path)
        await session.delete(photo)
    case.reporter_id = None
    case.reporter_contact = None
    case.description = None
    case.address = None
    case.answers = None  # the report's answers: a short-text one is the reporter's own words
    case.lat, case.lon = lat, lon
    case.identity_removed_at = now
    await session.flush()
    return removal, files


async def run_retention(session: AsyncSession, now: datetime, days: int, mode: PointMode,
                        dry_run: bool = False, limit: int = BATCH) -> RetentionReport:
    """One batch of due cases (`limit`); call again while it returns `limit` cases."""
    report = RetentionReport()
    for case in await due_cases(session, now, days, limit):
        removal, files = await remove_identity(session, case, now, mode, dry_run)
        report.cases.append(removal)
        report.photo_files += files
    return report


async def forget_person(session: AsyncSession, person: Person, now: datetime, mode: PointMode) -> Forgotten:
    """A citizen's request to be forgotten, done at once: see the module's docstring."""
    if person.forgotten_at is not None:
        return Forgotten(already=True)
    if await has_roles(session, person.id):
        raise HasRoles
    done = Forgotten()
    reported = list(await session.scalars(select(Case).where(Case.reporter_id == person.id).order_by(Case.id)))
    for case in reported:
        if case.state in OPEN_STATES:
            done.open.append(case.number)
            continue
        removal, files = await remove_identity(session, case, now, mode)
        done.closed.append(case.number)
        done.photos += removal.photos
        done.photo_files += files
    # The photos they added to other people's cases.
    added = list(await session.scalars(select(CasePhoto).where(CasePhoto.added_by == person.id,
                                                                CasePhoto.role == PhotoRole.REPORT)))
    for link in added:
        await session.delete(link)
    done.photos += len(added)
    drafts = list(await session.scalars(select(ReportDraft).where(ReportDraft.person_id == person.id)))
    draft_photos = {photo.photo_id for draft in drafts for photo in draft.photos}
    for draft in drafts:
        await session.delete(draft)
    done.drafts = len(drafts)
    await session.flush()
    for photo in await _photos_unused(session, draft_photos | {link.photo_id for link in added}):
        done.photo_files.append(photo.path)
        await session.delete(photo)
    follows = await session.execute(delete(CaseFollower).where(CaseFollower.person_id == person.id))
    done.follows = follows.rowcount or 0  # type: ignore[attr-defined]  # a DML result carries its rowcount
    queued = await session.execute(
        update(OutboundMessage).where(OutboundMessage.person_id == person.id, OutboundMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.DEAD, last_error="forgotten"))
    done.messages = queued.rowcount or 0  # type: ignore[attr-defined]  # a DML result carries its rowcount
    person.name = f"#{person.id}"
    person.tg_id = -person.id  # no private chat has a negative id: unreachable, and no longer them
    person.forgotten_at = now
    person.awaiting = None
    person.awaiting_ref = None
    person.hints = {}
    person.away_until = None
    await session.flush()
    return done


async def forget_preview(session: AsyncSession, person_id: int) -> tuple[int, int]:
    """How many of the person's cases are closed (cleared at once) and open (kept as a pseudonym)."""
    states = list(await session.scalars(select(Case.state).where(Case.reporter_id == person_id)))
    return sum(state not in OPEN_STATES for state in states), sum(state in OPEN_STATES for state in states)


async def has_roles(session: AsyncSession, person_id: int) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(RoleRow).where(RoleRow.person_id == person_id)))
