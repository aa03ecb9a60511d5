"""The one router for answers: what a person's text, place or photo answers, from every
conversation's `ANSWERS` table. What no question takes goes on to the citizen's report."""

from __future__ import annotations

from handlers import callout_answers, callout_command, callout_compose, citizen_cases, dispatcher, patrol, worker
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
)


def _accepts(turn: Turn) -> Accepts | None:
    question = people.awaited(turn.person)
    return TABLE[question] if question is not None else None


async def answer_text(turn: Turn, text: str) -> Replies | None:
    """The replies when `text` answers the person's open question; None when it answers none."""
    accepts = _accepts(turn)
    if accepts is not None and accepts.text is not None:
        return await accepts.text(turn, text)
    if accepts is not None and accepts.place_optional:
        people.stop_awaiting(turn.person)  # the place was optional; this text is something else
    return None


async def answer_place(turn: Turn, place: Place) -> Replies | None:
    accepts = _accepts(turn)
    if accepts is not None and accepts.place is not None:
        return await accepts.place(turn, place)
    return None


async def answer_photo(turn: Turn, sent: PhotoIn) -> Replies | None:
    accepts = _accepts(turn)
    if accepts is not None and accepts.photo is not None:
        return await accepts.photo(turn, sent)
    return None


def takes_photo(turn: Turn) -> bool:
    """Whether a photo now answers a question (and is not a report's photo)."""
    accepts = _accepts(turn)
    return accepts is not None and accepts.photo is not None
