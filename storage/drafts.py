"""Reports in the making: photos, location, category and description, one step at a time.

The draft lives in the store, so a citizen's half-finished report survives a restart and any
bot process can take their next message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DraftPhoto, ReportDraft
from storage.points import is_valid_point, require_valid_point

MAX_PHOTOS = 5
MAX_DESCRIPTION = 2000

PHOTOS, LOCATION, CATEGORY, DESCRIPTION, CONFIRM = "photos", "location", "category", "description", "confirm"
FIELDS = (PHOTOS, LOCATION, CATEGORY, DESCRIPTION)


@dataclass(frozen=True)
class PhotoAdded:
    added: bool
    count: int
    # Later photos of an album the bot already answered for are taken in silence.
    answered_album: bool


async def open_draft(session: AsyncSession, person_id: int) -> ReportDraft | None:
    return await session.scalar(
        select(ReportDraft)
        .where(ReportDraft.person_id == person_id, ReportDraft.status == "open")
        .order_by(ReportDraft.id.desc())
        .limit(1)
    )


async def draft_by_id(session: AsyncSession, draft_id: int) -> ReportDraft | None:
    return await session.get(ReportDraft, draft_id)


async def start_draft(session: AsyncSession, person_id: int, now: datetime) -> ReportDraft:
    """The person's open draft, or a new one: a report in progress is never thrown away silently."""
    draft = await open_draft(session, person_id)
    if draft is not None:
        return draft
    draft = ReportDraft(person_id=person_id, status="open", step=PHOTOS, created_at=now, updated_at=now)
    session.add(draft)
    await session.flush()
    await session.refresh(draft, ["photos"])
    return draft


def next_step(draft: ReportDraft) -> str:
    """The first thing the report still lacks; the summary once it has everything."""
    if not draft.photos:
        return PHOTOS
    if draft.lat is None and draft.address is None:
        return LOCATION
    if draft.category_code is None:
        return CATEGORY
    if not draft.description_done:
        return DESCRIPTION
    return CONFIRM


def advance(draft: ReportDraft, now: datetime) -> str:
    draft.step = next_step(draft)
    draft.updated_at = now
    return draft.step


async def add_photo(
    session: AsyncSession, draft: ReportDraft, photo_id: int, media_group: str | None, now: datetime
) -> PhotoAdded:
    answered_album = media_group is not None and draft.last_media_group == media_group
    if media_group is not None:
        draft.last_media_group = media_group
    if any(p.photo_id == photo_id for p in draft.photos):
        return PhotoAdded(False, len(draft.photos), answered_album)
    if len(draft.photos) >= MAX_PHOTOS:
        return PhotoAdded(False, len(draft.photos), answered_album)
    draft.photos.append(DraftPhoto(photo_id=photo_id, position=len(draft.photos)))
    draft.updated_at = now
    await session.flush()
    return PhotoAdded(True, len(draft.photos), answered_album)


def offer_photo_position(draft: ReportDraft, lat: float, lon: float) -> bool:
    """Keep a photo's EXIF position to offer as the location; True when it is worth offering."""
    if draft.lat is not None or draft.exif_lat is not None or not is_valid_point(lat, lon):
        return False
    draft.exif_lat, draft.exif_lon = lat, lon
    return True


def set_location(draft: ReportDraft, lat: float, lon: float, source: str, place: str | None, now: datetime) -> None:
    require_valid_point(lat, lon)
    draft.lat, draft.lon = lat, lon
    draft.location_source = source
    draft.address = place
    draft.updated_at = now


def set_typed_address(draft: ReportDraft, address: str, now: datetime) -> None:
    """A typed address is kept as said, without a point: a dispatcher must place it."""
    draft.lat = draft.lon = None
    draft.address = address
    draft.location_source = "typed"
    draft.updated_at = now


def set_category(draft: ReportDraft, code: str, now: datetime) -> None:
    draft.category_code = code
    draft.updated_at = now


def set_description(draft: ReportDraft, text: str | None, now: datetime) -> None:
    draft.description = text
    draft.description_done = True
    draft.updated_at = now


def reopen_field(draft: ReportDraft, field: str, now: datetime) -> None:
    """Clear one part of the report so the citizen gives it again ("Change" on the summary)."""
    if field == PHOTOS:
        draft.photos.clear()
        draft.last_media_group = None
    elif field == LOCATION:
        draft.lat = draft.lon = draft.address = draft.location_source = None
        draft.exif_lat = draft.exif_lon = None
    elif field == CATEGORY:
        draft.category_code = None
    elif field == DESCRIPTION:
        draft.description = None
        draft.description_done = False
    else:
        raise ValueError(field)
    draft.step = field
    draft.updated_at = now


def photo_ids(draft: ReportDraft) -> tuple[int, ...]:
    return tuple(p.photo_id for p in draft.photos)


def finish(draft: ReportDraft, status: str, case_id: int | None, now: datetime) -> None:
    """Close the draft: submitted, merged into an existing case, or cancelled."""
    draft.status = status
    draft.case_id = case_id
    draft.updated_at = now
