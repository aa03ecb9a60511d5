"""The one router for what a person sends outside a button: typed text, a place, a photo.

It goes to the open question's step, from every conversation's `ANSWERS` table; what no question
takes goes on to the citizen's report (`citizen_report.report_text`, `report_place`,
`report_photo`), which takes every kind.
"""

from __future__ import annotations

from handlers import (
    callout_answers,
    callout_command,
    callout_compose,
    callout_plans,
    citizen_cases,
    citizen_report,
    dispatcher,
    joint,
    patrol,
    verify,
    worker,
)
from handlers.questions import Accepts, PhotoIn, Place, merged
from handlers.turn import Replies, Turn
from storage import people

TABLE = merged(
    citizen_cases.ANSWERS,
    dispatcher.ANSWERS,
    worker.ANSWERS,
    patrol.ANSWERS,
    callout_compose.ANSWERS,
    callout_command.ANSWERS,
    callout_answers.ANSWERS,
    callout_plans.ANSWERS,
    verify.ANSWERS,
    joint.ANSWERS,
)


def _accepts(turn: Turn) -> Accepts | None:
    question = people.awaited(turn.person)
    return TABLE[question] if question is not None else None


async def answer_text(turn: Turn, text: str) -> Replies:
    """The replies to typed text (not a command, not a menu button)."""
    accepts = _accepts(turn)
    if accepts is not None and accepts.text is not None:
        return await accepts.text(turn, text)
    if accepts is not None and accepts.place_optional:
        people.stop_awaiting(turn.person)  # the place was optional; this text is something else
    return await citizen_report.report_text(turn, text)


async def answer_place(turn: Turn, place: Place) -> Replies:
    """The replies to a place (already checked to be one on Earth)."""
    accepts = _accepts(turn)
    if accepts is not None and accepts.place is not None:
        return await accepts.place(turn, place)
    return await citizen_report.report_place(turn, place)


async def answer_photo(turn: Turn, sent: PhotoIn) -> Replies:
    """The replies to a picture (already checked and stored)."""
    accepts = _accepts(turn)
    if accepts is not None and accepts.photo is not None:
        return await accepts.photo(turn, sent)
    return await citizen_report.report_photo(turn, sent)
