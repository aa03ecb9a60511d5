"""A case becomes a call-out (平转急): a dispatcher or grid leader of the case's area calls out the
responders around the case's point. The draft comes preset (the micro-grids within CASE_RADIUS_M of
the point that the commander commands, the message from the case, the meeting point at the case)
and goes on through the composer's rules (`storage/callout_drafts.py`); once sent, the case's
history records it (`callout_drafts.send`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import callout_drafts, callouts
from storage.callout_scope import command_of, micro_grids_around
from storage.callouts import CallOutError, Refusal, RollCall
from storage.map_index import AreaIndex
from storage.models import Case, Mobilization
from storage.vocab import FINAL_STATES, CallOutState, CallOutTemplate

CASE_RADIUS_M = 300


def callable_around(case: Case) -> bool:
    """Whether a case can be called out around: it is on the map and still open."""
    return case.lat is not None and case.lon is not None and case.area_code is not None \
        and case.state not in FINAL_STATES


async def may_call_out_around(session: AsyncSession, index: AreaIndex, person_id: int, case: Case) -> bool:
    """Whether this person commands the case's area (a grid leader, dispatcher or admin of it)."""
    if not callable_around(case) or case.area_code is None:
        return False
    return (await command_of(session, person_id)).covers(index, case.area_code)


async def draft_around_case(session: AsyncSession, index: AreaIndex, commander_id: int, case: Case,
                            headline: str, instruction: str, now: datetime) -> Mobilization:
    """A new draft around the case (NOT_YOURS unless the person commands its area): the micro-grids
    within CASE_RADIUS_M of its point (those the commander commands), the message given, the case's
    point as the meeting point."""
    if not await may_call_out_around(session, index, commander_id, case) or case.lat is None or case.lon is None:
        raise CallOutError(Refusal.NOT_YOURS)
    command = await command_of(session, commander_id)
    draft = await callout_drafts.start_draft(session, commander_id, now)
    draft.case_id = case.id
    callout_drafts.set_centre(draft, case.lat, case.lon)
    try:
        callout_drafts.choose_radius(draft, index, command, CASE_RADIUS_M)
    except CallOutError:  # the circle reaches past the commander's areas: theirs only
        draft.center_lat = draft.center_lon = None
        draft.area_codes = [code for code in micro_grids_around(index, case.lat, case.lon, CASE_RADIUS_M)
                            if command.covers(index, code)]
        if not draft.area_codes:
            draft.area_codes = [case.area_code] if case.area_code else []
    draft.template = CallOutTemplate.FREE
    callout_drafts.set_headline(draft, headline[:callout_drafts.MAX_HEADLINE])
    callout_drafts.set_instruction(draft, instruction[:callout_drafts.MAX_INSTRUCTION])
    callout_drafts.set_meeting_point(draft, case.lat, case.lon)
    return draft


@dataclass(frozen=True)
class CaseCallOut:
    """A call-out sent around a case, and its roll call."""

    mobilization: Mobilization
    call: RollCall


async def callouts_of_case(session: AsyncSession, case_id: int) -> list[CaseCallOut]:
    """The call-outs sent around this case, oldest first."""
    found = (await session.scalars(select(Mobilization).where(
        Mobilization.case_id == case_id, Mobilization.state.in_((CallOutState.ACTIVE, CallOutState.OVER))
    ).order_by(Mobilization.id))).all()
    return [CaseCallOut(m, await callouts.roll_call(session, m.id)) for m in found]
