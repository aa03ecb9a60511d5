"""How a conversation declares what it accepts while a person owes it an answer.

A step that asks something records the question in the store (`people.await_answer(person,
Question.X, ref)`), so the answer is recognised after a restart and by any process. Each
conversation module then declares, in one table `ANSWERS: dict[Question, Accepts]`, which of its
steps takes typed text, a shared place or a photo at each of its questions; `handlers/answers.py`
merges those tables and is the only router. Adding a question is one enum member and one line in
its conversation's table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from handlers.turn import Replies, Turn
from storage.models import Photo
from storage.vocab import LocationSource, Question


@dataclass(frozen=True)
class Place:
    """A shared location, a pin or a venue, as a step receives it."""

    lat: float
    lon: float
    source: LocationSource  # shared, live or venue
    name: str | None = None  # a venue's title and address
    live_period: int | None = None
    message_id: int = 0


@dataclass(frozen=True)
class PhotoIn:
    """A picture already checked and stored (`storage.photos`), with what came with it."""

    photo: Photo
    caption: str | None
    media_group: str | None
    # Where the picture says it was taken (only a picture sent as a file keeps it).
    exif_position: tuple[float, float] | None = None


TextStep = Callable[[Turn, str], Awaitable[Replies]]
PlaceStep = Callable[[Turn, Place], Awaitable[Replies]]
PhotoStep = Callable[[Turn, PhotoIn], Awaitable[Replies]]


@dataclass(frozen=True)
class Accepts:
    """What a conversation takes at one question; what it does not take falls through to the
    citizen's report (a photo, a place or text about a new problem)."""

    text: TextStep | None = None
    place: PlaceStep | None = None
    photo: PhotoStep | None = None
    # The place was optional: any other message ends the question before it is handled.
    place_optional: bool = False


def merged(*tables: Mapping[Question, Accepts]) -> dict[Question, Accepts]:
    """One table from every conversation's; a question declared twice is a mistake, caught at import."""
    result: dict[Question, Accepts] = {}
    for table in tables:
        for question, accepts in table.items():
            if question in result:
                raise ValueError(f"two conversations declare {question!r}")
            result[question] = accepts
    missing = set(Question) - set(result)
    if missing:
        raise ValueError(f"no conversation accepts an answer to {sorted(missing)}")
    return result
