"""Call-outs in the making: where (areas ticked, or around a point), who (kinds of responder), what
(a template or a typed headline, the instruction, a meeting point, how many are needed), then sent.

Like a citizen's report draft (`storage/drafts.py`), the draft lives in the store, so a commander's
half-made call-out survives a restart and any bot process can take their next step. Each function
here takes plain values, checks them against the draft and the commander's areas (a button carries
a request, never a permission), changes the draft, and says which step comes next.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import waves
from storage.callout_scope import TAG_OPTIONS, Command, command_of, micro_grids_around, scope_of
from storage.callouts import CallOutError, Refusal, absent, alert
from storage.map_index import AreaIndex
from storage.models import CapAlertRecord, CaseEvent, Mobilization
from storage.points import require_valid_point
from storage.vocab import CallOutState, CallOutTemplate, EventKind, Level

TEMPLATES = tuple(CallOutTemplate)
FREE = CallOutTemplate.FREE  # the template whose headline the commander types
RADII = (100, 300, 500, 1000)  # "around a point", in metres
NEEDS = (5, 10, 20, 50)  # how many people are needed (or any)
# What a commander types, in characters: a longer text is refused (the caller asks again), never cut.
MAX_HEADLINE = 200
MAX_INSTRUCTION = 1000


class DraftStep(StrEnum):
    """What the commander is asked next."""

    POINT = "point"  # the centre of "around a point", as a location
    RADIUS = "radius"  # how far around it
    WHO = "who"  # which kinds of responder
    WHAT = "what"  # a template
    HEADLINE = "headline"  # typed: what is happening
    INSTRUCTION = "instruction"  # typed: what people should do
    MEETING = "meeting"  # a meeting point, as a location, or none
    NEED = "need"  # how many people are needed
    PREVIEW = "preview"  # the call-out as recipients will see it, to send


async def start_draft(session: AsyncSession, commander_id: int, now: datetime) -> Mobilization:
    """A new call-out being put together (an older unsent draft of the same commander is dropped)."""
    # A call-out drafted from an official warning (storage/cap_in.py) is not theirs alone: it stays.
    await session.execute(update(Mobilization).where(
        Mobilization.commander_id == commander_id, Mobilization.state == CallOutState.DRAFT,
        Mobilization.id.not_in(select(CapAlertRecord.mobilization_id).where(CapAlertRecord.mobilization_id.is_not(None))),
    ).values(state=CallOutState.DROPPED))
    draft = Mobilization(commander_id=commander_id, state=CallOutState.DRAFT, area_codes=[], tags=[], drill=False,
                         created_at=now, realerts=0, widen_offered=False)
    session.add(draft)
    await session.flush()
    return draft


async def draft_of(session: AsyncSession, draft_id: int, commander_id: int) -> Mobilization:
    """The commander's own draft with this id (NOT_YOURS for another's, ALREADY_SENT once sent)."""
    found = await session.get(Mobilization, draft_id)
    if found is None or found.commander_id != commander_id:
        raise CallOutError(Refusal.NOT_YOURS)
    if found.state != CallOutState.DRAFT:
        raise CallOutError(Refusal.ALREADY_SENT)
    return found


# --- where ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaChoices:
    """What a commander is shown at one area of the map while choosing where."""

    whole: str | None  # the area itself, to tick as a whole (when they command it)
    inside: list[str]  # the areas inside it: micro-grids to tick, larger areas to open
    up: str | None  # the area above, to go back up to (when they command it)


def area_choices(index: AreaIndex, command: Command, at: str | None) -> AreaChoices:
    """The choices at `at` (None: the commander's own areas, or the top of the map for an admin of
    everywhere). Above the commander's own areas only the way down to them is shown, never their
    neighbours."""
    if at is None:
        inside = index.children_of(None) if command.everywhere else sorted(command.areas)
        return AreaChoices(None, inside, None)
    inside = [child for child in index.children_of(at) if command.leads_to(index, child)]
    parent = index.parent_of.get(at)
    return AreaChoices(at if command.covers(index, at) else None, inside,
                       parent if parent is not None and command.covers(index, parent) else None)


def open_area(index: AreaIndex, command: Command, code: str) -> str:
    """The area to show the choices of (OUTSIDE unless it is on the commander's way)."""
    if code not in index.position or not command.leads_to(index, code):
        raise CallOutError(Refusal.OUTSIDE)
    return code


def toggle_area(draft: Mobilization, index: AreaIndex, command: Command, code: str) -> str | None:
    """Tick or untick an area the commander commands (a point chosen before is forgotten); returns
    the area whose choices to show again."""
    if code not in index.position or not command.covers(index, code):
        raise CallOutError(Refusal.OUTSIDE)
    chosen = list(draft.area_codes)
    draft.area_codes = [c for c in chosen if c != code] if code in chosen else [*chosen, code]
    draft.center_lat = draft.center_lon = None
    draft.radius_m = None
    return code if index.level_of(code) != Level.MICROGRID else index.parent_of.get(code)


def set_centre(draft: Mobilization, lat: float, lon: float) -> DraftStep:
    """The centre of "around a point"; the radius comes next."""
    require_valid_point(lat, lon)
    draft.center_lat, draft.center_lon = lat, lon
    return DraftStep.RADIUS


def choose_radius(draft: Mobilization, index: AreaIndex, command: Command, metres: int) -> DraftStep:
    """Every micro-grid the circle touches, all of which the commander must command."""
    if metres not in RADII or draft.center_lat is None or draft.center_lon is None:
        raise CallOutError(Refusal.INVALID)
    found = micro_grids_around(index, draft.center_lat, draft.center_lon, metres)
    if not found or not all(command.covers(index, c) for c in found):
        raise CallOutError(Refusal.OUTSIDE if found else Refusal.NOBODY)
    draft.radius_m = metres
    draft.area_codes = found
    return who_next(draft)


def who_next(draft: Mobilization) -> DraftStep:
    """On to who, once somewhere is chosen."""
    if not draft.area_codes:
        raise CallOutError(Refusal.INVALID)
    return DraftStep.WHO


# --- who -----------------------------------------------------------------------------------------


def toggle_tag(draft: Mobilization, number: int) -> DraftStep:
    """0: every responder (no tag); otherwise tick or untick TAG_OPTIONS[number - 1]."""
    if number == 0:
        draft.tags = []
    elif number <= len(TAG_OPTIONS):
        tag = TAG_OPTIONS[number - 1]
        draft.tags = [t for t in draft.tags if t != tag] if tag in draft.tags else [*draft.tags, tag]
    else:
        raise CallOutError(Refusal.INVALID)
    return DraftStep.WHO


# --- what ----------------------------------------------------------------------------------------


def choose_template(draft: Mobilization, number: int, headline_of: Callable[[str], str]) -> DraftStep:
    """TEMPLATES[number]: its headline is `headline_of(template)` (its words in the commander's
    language) and the instruction comes next; for FREE the commander types the headline first."""
    if number >= len(TEMPLATES):
        raise CallOutError(Refusal.INVALID)
    draft.template = TEMPLATES[number]
    if draft.template == FREE:
        return DraftStep.HEADLINE
    draft.headline = headline_of(draft.template)
    return DraftStep.INSTRUCTION


def set_headline(draft: Mobilization, text: str) -> DraftStep:
    if len(text) > MAX_HEADLINE:
        raise ValueError(f"a headline of {len(text)} characters, over {MAX_HEADLINE}")
    draft.headline = text
    return DraftStep.INSTRUCTION


def set_instruction(draft: Mobilization, text: str) -> DraftStep:
    if len(text) > MAX_INSTRUCTION:
        raise ValueError(f"an instruction of {len(text)} characters, over {MAX_INSTRUCTION}")
    draft.instruction = text
    return DraftStep.MEETING


def set_meeting_point(draft: Mobilization, lat: float, lon: float) -> DraftStep:
    require_valid_point(lat, lon)
    draft.meet_lat, draft.meet_lon = lat, lon
    return DraftStep.NEED


def skip_meeting_point(draft: Mobilization) -> DraftStep:
    draft.meet_lat = draft.meet_lon = None
    return DraftStep.NEED


def set_need(draft: Mobilization, number: int, wave_minutes: int | None = None) -> DraftStep:
    """How many people are needed: one of NEEDS, or 0 for any number. With a need, a draft without
    a wave timing of its own (a plan's) waves every `wave_minutes` (None or 0: no waves)."""
    if number != 0 and number not in NEEDS:
        raise CallOutError(Refusal.INVALID)
    draft.need = number or None
    if draft.need and wave_minutes and draft.wave_minutes is None:
        draft.wave_minutes = wave_minutes
    return DraftStep.PREVIEW


# --- sent, or dropped ----------------------------------------------------------------------------


async def send(session: AsyncSession, index: AreaIndex, draft_id: int, commander_id: int, now: datetime,
               drill: bool = False) -> tuple[Mobilization, int]:
    """Send the call-out to everyone in scope, once each, ahead of every other message (or its first
    wave, `storage/waves.py`; those away are skipped); returns it (now active) and how many it
    reaches. A call-out around a case is written into the case's history (not told to its citizens)."""
    mobilization = await draft_of(session, draft_id, commander_id)
    command = await command_of(session, commander_id)
    micro, people = await scope_of(session, index, mobilization)
    if not all(command.covers(index, code) for code in micro):
        raise CallOutError(Refusal.OUTSIDE)
    if not set(people) - await absent(session, people, now):
        raise CallOutError(Refusal.NOBODY)
    mobilization.state = CallOutState.ACTIVE
    mobilization.drill = drill
    mobilization.sent_at = now
    mobilization.area_codes = micro if mobilization.radius_m else list(mobilization.area_codes)
    if waves.waves_wanted(mobilization):
        count = await waves.first_wave(session, index, mobilization, now)
    else:
        count = await alert(session, mobilization, people, now)
    if mobilization.case_id is not None:  # the case's followers are not told, nor its time of change
        session.add(CaseEvent(case_id=mobilization.case_id, at=now, actor_id=commander_id, kind=EventKind.CALLOUT,
                              note=f"#{mobilization.id} {mobilization.headline or ''}".strip()))
    return mobilization, count


def drop(draft: Mobilization) -> None:
    """The commander cancelled: nothing is sent."""
    draft.state = CallOutState.DROPPED
