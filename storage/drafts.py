"""Reports in the making: photos, location, category and description, one step at a time.

The draft lives in the store, so a citizen's half-finished report survives a restart and any
bot process can take their next message. Its `step` is always the first thing it still lacks
(`next_step`), so the parts may come in any order; `handlers/citizen_report.py` draws the
conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from storage import cases
from storage.category_questions import Answer
from storage.models import Case, DraftPhoto, ReportDraft
from storage.points import is_valid_point, require_valid_point
from storage.vocab import CaseState, DraftStatus, LocationSource

MAX_PHOTOS = 5
MAX_DESCRIPTION = 2000  # characters, as a comment on a case (cases.MAX_COMMENT)


class DraftStep(StrEnum):
    """What a report waits for: one of its parts, or the citizen's check of the summary."""

    PHOTOS = "photos"
    LOCATION = "location"
    CATEGORY = "category"
    QUESTIONS = "questions"  # the category's questions, one at a time
    DESCRIPTION = "description"
    CONFIRM = "confirm"


FIELDS = (DraftStep.PHOTOS, DraftStep.LOCATION, DraftStep.CATEGORY, DraftStep.DESCRIPTION)




class NotOffered(Exception):
    """The case is not one this report's summary offers to join (a forged or foreign button)."""


@dataclass(frozen=True)
class PhotoAdded:
    added: bool
    count: int
    # Later photos of an album the bot already answered for are taken in silence.
    answered_album: bool


# A draft is read with its photos in one statement (the relationship's own loading takes a second);
# both statements are built once (their cache keys worked out once, not at every update).
_OPEN_DRAFT = (
    select(ReportDraft)
    .where(ReportDraft.person_id == bindparam("person_id"), ReportDraft.status == DraftStatus.OPEN)
    .order_by(ReportDraft.id.desc())
    .limit(1)
    .options(joinedload(ReportDraft.photos))
)
_DRAFT = select(ReportDraft).where(ReportDraft.id == bindparam("draft_id")).options(joinedload(ReportDraft.photos))


async def open_draft(session: AsyncSession, person_id: int) -> ReportDraft | None:
    return (await session.scalars(_OPEN_DRAFT, {"person_id": person_id})).unique().first()


async def draft_of(session: AsyncSession, draft_id: int, person_id: int) -> ReportDraft | None:
    """The person's own draft with this id; None for a draft that is not theirs or does not exist."""
    draft = (await session.scalars(_DRAFT, {"draft_id": draft_id})).unique().first()
    return draft if draft is not None and draft.person_id == person_id else None


async def start_draft(session: AsyncSession, person_id: int, now: datetime) -> ReportDraft:
    """The person's open draft, or a new one: a report in progress is never thrown away silently."""
    draft = await open_draft(session, person_id)
    if draft is not None:
        return draft
    # Made with its (empty) photos, which need no reading back.
    draft = ReportDraft(person_id=person_id, status=DraftStatus.OPEN, step=DraftStep.PHOTOS, created_at=now, updated_at=now,
                        photos=[])
    session.add(draft)
    await session.flush()
    return draft


def next_step(draft: ReportDraft) -> DraftStep:
    """The first thing the report still lacks; the summary once it has everything."""
    if not draft.photos:
        return DraftStep.PHOTOS
    if draft.lat is None and draft.address is None:
        return DraftStep.LOCATION
    if draft.category_code is None:
        return DraftStep.CATEGORY
    if pending_question(draft) is not None:
        return DraftStep.QUESTIONS
    if not draft.description_done:
        return DraftStep.DESCRIPTION
    return DraftStep.CONFIRM


def step_of(draft: ReportDraft) -> DraftStep:
    """What the draft waits for now (as its last change left it)."""
    return DraftStep(draft.step)


def advance(draft: ReportDraft, now: datetime) -> DraftStep:
    """Move the draft on to the first thing it still lacks."""
    step = next_step(draft)
    draft.step = step
    draft.updated_at = now
    return step


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


def set_location(draft: ReportDraft, lat: float, lon: float, source: LocationSource, place: str | None,
                 now: datetime) -> None:
    """A point on the map (with the venue's name and address, if one was picked); the step is not moved."""
    require_valid_point(lat, lon)
    draft.lat, draft.lon = lat, lon
    draft.location_source = source
    draft.address = place
    draft.updated_at = now


def set_typed_address(draft: ReportDraft, address: str, now: datetime) -> None:
    """A typed address is kept as said, without a point: a dispatcher must place it."""
    draft.lat = draft.lon = None
    draft.address = address
    draft.location_source = LocationSource.TYPED
    draft.updated_at = now


def set_category(draft: ReportDraft, code: str, now: datetime, questions: tuple[str, ...]) -> None:
    """The category, and the codes of the questions it asks (answers to an earlier one are dropped)."""
    draft.category_code = code
    draft.questions = list(questions) or None
    draft.answers = None
    draft.updated_at = now


def pending_question(draft: ReportDraft) -> str | None:
    """The code of the first question of the category not answered (nor skipped) yet."""
    answered = draft.answers or {}
    return next((code for code in draft.questions or () if code not in answered), None)


def answer_question(draft: ReportDraft, code: str, value: Answer, now: datetime) -> None:
    """Keep an answer (None: skipped); only the question the draft waits for may be answered."""
    if pending_question(draft) != code:
        raise ValueError(f"draft {draft.id} does not wait for question {code}")
    # A new dict, so the ORM sees the JSON column change.
    draft.answers = {**(draft.answers or {}), code: value}
    draft.updated_at = now


def keep_only_questions(draft: ReportDraft, known: tuple[str, ...], now: datetime) -> None:
    """Forget the questions the catalog no longer has (it was replaced while the report was open)."""
    draft.questions = [code for code in draft.questions or () if code in known] or None
    draft.updated_at = now


def stop(draft: ReportDraft, now: datetime) -> None:
    """A stop answer ends the report: the person must call for help instead, and nothing is sent,
    so nobody waits on a report that will never come. The draft is kept (closed) as a record."""
    finish(draft, DraftStatus.STOPPED, None, now)


def set_description(draft: ReportDraft, text: str | None, now: datetime) -> None:
    draft.description = text
    draft.description_done = True
    draft.updated_at = now


def describe_from_caption(draft: ReportDraft, caption: str | None, now: datetime) -> None:
    """People often write the problem under the photo; that is the description, unless the report
    has one already. (Telegram's captions are shorter than MAX_DESCRIPTION: the cut is a backstop.)"""
    if caption and not draft.description_done:
        set_description(draft, caption.strip()[:MAX_DESCRIPTION] or None, now)


def reopen_field(draft: ReportDraft, field: DraftStep, now: datetime) -> None:
    """Clear one part of the report so the citizen gives it again ("Change" on the summary)."""
    if field == DraftStep.PHOTOS:
        draft.photos.clear()
        draft.last_media_group = None
    elif field == DraftStep.LOCATION:
        draft.lat = draft.lon = draft.address = draft.location_source = None
        draft.exif_lat = draft.exif_lon = None
    elif field == DraftStep.CATEGORY:
        draft.category_code = None
        draft.questions = draft.answers = None
    elif field == DraftStep.QUESTIONS:
        draft.answers = None
    elif field == DraftStep.DESCRIPTION:
        draft.description = None
        draft.description_done = False
    else:
        raise ValueError(field)
    draft.step = field
    draft.updated_at = now


def photo_ids(draft: ReportDraft) -> tuple[int, ...]:
    return tuple(p.photo_id for p in draft.photos)


def finish(draft: ReportDraft, status: DraftStatus, case_id: int | None, now: datetime) -> None:
    """Close the draft: submitted, merged into an existing case, or cancelled."""
    draft.status = status
    draft.case_id = case_id
    draft.updated_at = now


async def merge_candidates(session: AsyncSession, draft: ReportDraft) -> list[tuple[Case, float]]:
    """The open cases this report could join instead of becoming a new case, nearest first: the
    same category within cases.DUPLICATE_RADIUS_M of its point. The summary offers the first; a
    merge is only ever into one of these, recomputed when the button is pressed."""
    if draft.lat is None or draft.lon is None or draft.category_code is None:
        return []
    return await cases.nearby_open_cases(session, draft.category_code, draft.lat, draft.lon)


async def merge_into_offered_case(session: AsyncSession, draft: ReportDraft, case_id: int, now: datetime) -> Case:
    """Add the draft's photos to a case its summary offers; the reporter then follows that case and
    the draft is closed as merged.

    A case id in a button is only a request: any case that is not a merge candidate of this draft
    raises NotOffered, and nothing changes. CaseStateError when the offered case has since been
    closed (it is still here and of the same kind, so saying so tells the person nothing new)."""
    if case_id not in {case.id for case, _distance in await merge_candidates(session, draft)}:
        case = await cases.case_by_id(session, case_id)
        if case is not None and case.state not in cases.MERGEABLE_STATES and _same_kind_here(draft, case):
            raise cases.CaseStateError(case, CaseState.RESOLVED)  # photos join an open or resolved case only
        raise NotOffered(case_id)
    case = await cases.add_photos_to_case(session, case_id, draft.person_id, photo_ids(draft), now)
    finish(draft, DraftStatus.MERGED, case.id, now)
    return case


def _same_kind_here(draft: ReportDraft, case: Case) -> bool:
    if draft.lat is None or draft.lon is None or case.lat is None or case.lon is None:
        return False
    return (case.category_code == draft.category_code
            and cases.distance_m(draft.lat, draft.lon, case.lat, case.lon) <= cases.DUPLICATE_RADIUS_M)
