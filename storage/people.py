"""People the bot talks to: who they are, their language, and whether they still hear us."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import insert_for
from storage.models import Person
from storage.vocab import Language, Question

HINT_INTERVAL = timedelta(seconds=20)


# A person's name, in characters (the column's size). Telegram's first and last name together are at
# most 129, so a name from Telegram always fits; a roster or the command line is refused a longer one.
MAX_NAME = 200


async def touch_person(
    session: AsyncSession, tg_id: int, name: str, telegram_language: str, now: datetime
) -> Person:
    """The person behind an incoming update, created on first contact and refreshed after: read and
    written in one statement (UPDATE ... RETURNING), as every update does it."""
    values = {
        "telegram_id": tg_id,
        "telegram_name": name[:MAX_NAME],  # never cuts a name from Telegram (see MAX_NAME)
        "seen_at": now,
        "telegram_language": Language(telegram_language),
    }
    person = (await session.scalars(_TOUCH, values)).first()
    if person is None:
        person = await _new_person(session, tg_id, name, telegram_language, now)
    if person is None:  # another process met them in the same instant; its row is there now
        person = (await session.scalars(_TOUCH, values)).one()
    return person


# Built once (its cache key worked out once, not at every update).
_TOUCH = (
    update(Person)
    .where(Person.tg_id == bindparam("telegram_id"))
    .values(
        name=bindparam("telegram_name", type_=Person.name.type),
        last_seen_at=bindparam("seen_at", type_=Person.last_seen_at.type),
        # Telegram's language until the person chooses one.
        language=case((Person.language_chosen, Person.language),
                      else_=bindparam("telegram_language", type_=Person.language.type)),
        # A person who writes to us has unblocked (or, at last, opened) the bot. `never_opened`
        # stays until /start has given them back their work.
        blocked=False,
        blocked_at=None,
    )
    .returning(Person)
    .execution_options(synchronize_session=False)  # the row comes back as the statement left it
)


async def _new_person(session: AsyncSession, tg_id: int, name: str, language: str, now: datetime) -> Person | None:
    """The person, written now; None when another transaction wrote them first.

    A person's first two updates can reach two web processes at once, and a roster can name someone
    who is writing to the bot. The second INSERT then waits for the first to commit and does nothing,
    without an error to roll back, and the caller reads the row the first one wrote."""
    insert = insert_for(session)
    written = await session.scalars(
        insert(Person)
        .values(tg_id=tg_id, name=name[:MAX_NAME], language=Language(language), language_chosen=False, blocked=False,
                never_opened=False, hints={}, created_at=now, last_seen_at=now)
        .on_conflict_do_nothing(index_elements=["tg_id"])
        .returning(Person)
    )
    return written.first()


async def person_by_tg_id(session: AsyncSession, tg_id: int) -> Person | None:
    found = await session.scalars(select(Person).where(Person.tg_id == tg_id))
    return found.first()


async def ensure_person(session: AsyncSession, tg_id: int, name: str, language: str, now: datetime) -> Person:
    """The person with this Telegram id, created if the bot has not met them yet (rosters, the CLI).
    The caller has refused a name over MAX_NAME characters."""
    person = await person_by_tg_id(session, tg_id) or await _new_person(session, tg_id, name, language, now)
    if person is None:  # another transaction wrote them in the same instant; its row is there now
        person = (await session.scalars(select(Person).where(Person.tg_id == tg_id))).one()
    return person


async def person_by_id(session: AsyncSession, person_id: int) -> Person | None:
    return await session.get(Person, person_id)


def choose_language(person: Person, language: Language) -> None:
    """The person's own choice: from now on Telegram's language_code no longer overrides it."""
    person.language = language
    person.language_chosen = True


def opened_at_last(person: Person) -> bool:
    """True once for staff known from a roster who never opened the bot and now have: the mark is
    cleared, and the caller gives them back the work that could not reach them."""
    if not person.never_opened:
        return False
    person.never_opened = False
    return True


async def mark_blocked(session: AsyncSession, person_id: int, now: datetime) -> None:
    """Record that the person blocked the bot: nothing more is sent until they write again."""
    await session.execute(
        update(Person).where(Person.id == person_id).values(blocked=True, blocked_at=now, never_opened=False)
    )


async def mark_never_opened(session: AsyncSession, person_id: int, now: datetime) -> bool:
    """Record that Telegram cannot reach the person because they never opened the bot (they are known
    from a roster or the command line only). True the first time: whoever must hear of it is told once."""
    result = cast(CursorResult[Any], await session.execute(
        update(Person).where(Person.id == person_id, Person.blocked.is_(False))
        .values(blocked=True, blocked_at=now, never_opened=True)
    ))  # an UPDATE's result is a CursorResult; the stub says Result
    return bool(result.rowcount == 1)


async def mark_unblocked_by_tg_id(session: AsyncSession, tg_id: int) -> None:
    await session.execute(update(Person).where(Person.tg_id == tg_id).values(blocked=False, blocked_at=None))


def await_answer(person: Person, question: Question, ref: int | None) -> None:
    """Remember that the next text from this person answers `question` about object `ref`."""
    person.awaiting = question
    person.awaiting_ref = ref


def awaited(person: Person) -> Question | None:
    """The question this person's next message answers, if any (None for one this release does not know)."""
    try:
        return Question(person.awaiting) if person.awaiting else None
    except ValueError:
        return None


def stop_awaiting(person: Person) -> None:
    person.awaiting = None
    person.awaiting_ref = None


def claim_hint(person: Person, kind: str, now: datetime) -> bool:
    """Whether to show hint `kind` now; the same hint is shown at most once per interval."""
    shown = (person.hints or {}).get(kind)
    if shown is not None and now - datetime.fromisoformat(shown) < HINT_INTERVAL:
        return False
    person.hints = {**(person.hints or {}), kind: now.isoformat()}
    return True
