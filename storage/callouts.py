"""Emergency call-outs (一键激活) once sent: each person in scope alerted once, their answers, the
roll call a commander watches, and the commander's live controls (re-alert, widen, follow-up, stand
down). Knows nothing of Telegram; messages go through the outbox.

Who may call out where and who is in scope: `storage/callout_scope.py`. A call-out being put
together is a draft, whose rules are in `storage/callout_drafts.py`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Select, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage.callout_scope import command_of, micro_grids_in, people_in_scope, wider_micro_grids
from storage.cap import record_change
from storage.map_index import AreaIndex
from storage.models import Mobilization, Person, Responder
from storage.points import require_valid_point
from storage.vocab import CallOutAnswer, CallOutState

# The roll call's rows besides the answers: called but silent, and called but out of reach.
NOT_ANSWERED = "none"
UNREACHABLE = "unreachable"
AWAY = "away"  # in scope but away (/away): not alerted, counted apart
# What a commander types as a follow-up, in characters: a longer text is refused (asked again), never cut.
MAX_UPDATE = 1000


class Refusal(StrEnum):
    """Why a call-out step cannot be taken."""

    NOT_YOURS = "not_yours"  # not this person's call-out or draft (or not sent to this responder)
    ALREADY_SENT = "already_sent"  # the draft is no longer a draft
    NOBODY = "nobody"  # nobody is in the scope with these tags
    OUTSIDE = "outside"  # an area outside what the commander commands
    OVER = "over"  # the call-out was stood down
    INVALID = "invalid"  # a value no button of ours carries
    NO_COMMAND = "no_command"  # the person may not call anyone out


class CallOutError(Exception):
    """A call-out step that cannot be taken: `reason` says which."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason)
        self.reason = reason


async def absent(session: AsyncSession, people: Collection[int], now: datetime) -> set[int]:
    """Those of these people who are away (/away) at `now`. Everyone away now is read (few people
    at any time) rather than sending a whole city's responders as query parameters."""
    if not people:
        return set()
    away = set((await session.scalars(select(Person.id).where(
        Person.away_until.is_not(None), Person.away_until > now))).all())
    return away.intersection(people)


async def alert(session: AsyncSession, mobilization: Mobilization, people: list[int], now: datetime,
                wave: int = 1) -> int:
    """Call these people out (each is a new row of the roll call, of this wave), ahead of every
    other message; those away are only written down as away. Returns how many were alerted."""
    away = await absent(session, people, now)
    for person_id in people:
        session.add(Responder(mobilization_id=mobilization.id, person_id=person_id, unreachable=False,
                              alerts=0 if person_id in away else 1, wave=wave, away=person_id in away))
        if person_id not in away:
            await outbox.enqueue(session, person_id, outbox.CalloutPayload(mobilization.id), now, outbox.EMERGENCY)
    await session.flush()
    return len(people) - len(away)


# --- a responder's side -------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertFor:
    """What one responder's alert shows: the call-out, their answer so far, who called."""

    mobilization: Mobilization
    answer: str | None
    commander: str


async def alert_for(session: AsyncSession, mobilization_id: int, person_id: int, again: bool) -> AlertFor | None:
    """The alert to send this responder now; None once it is over, or for a re-alert they have
    answered since it was queued."""
    mobilization = await session.get(Mobilization, mobilization_id)
    responder = await session.get(Responder, (mobilization_id, person_id))
    if mobilization is None or responder is None or mobilization.state != CallOutState.ACTIVE:
        return None
    if again and (responder.answer is not None or responder.away):
        return None
    commander = await session.get(Person, mobilization.commander_id)
    return AlertFor(mobilization, responder.answer, commander.name if commander else "")


async def answer(session: AsyncSession, mobilization_id: int, person_id: int, given: str, now: datetime,
                 where: tuple[float, float] | None = None) -> Mobilization:
    """A responder's answer (it may be changed while the call-out lasts)."""
    if given not in tuple(CallOutAnswer):
        raise CallOutError(Refusal.INVALID)
    if where is not None:
        require_valid_point(*where)
    mobilization = await session.get(Mobilization, mobilization_id)
    responder = await session.get(Responder, (mobilization_id, person_id))
    if mobilization is None or responder is None:
        raise CallOutError(Refusal.NOT_YOURS)
    if mobilization.state != CallOutState.ACTIVE:
        raise CallOutError(Refusal.OVER)
    responder.answer = CallOutAnswer(given)
    responder.answered_at = now
    responder.away = False
    if where is not None:
        responder.arrived_lat, responder.arrived_lon = where
    return mobilization


async def mark_delivered(session: AsyncSession, mobilization_id: int, person_ids: Collection[int], now: datetime) -> None:
    """The alert reached these responders (one statement for all of them)."""
    await session.execute(update(Responder).where(
        Responder.mobilization_id == mobilization_id, Responder.person_id.in_(person_ids), Responder.delivered_at.is_(None)
    ).values(delivered_at=now))


async def mark_unreachable(session: AsyncSession, mobilization_id: int, person_id: int) -> None:
    await session.execute(update(Responder).where(
        Responder.mobilization_id == mobilization_id, Responder.person_id == person_id).values(unreachable=True))


# --- the roll call ------------------------------------------------------------------------------


def _rows() -> dict[str, list[str]]:
    return {row: [] for row in (*CallOutAnswer, NOT_ANSWERED, UNREACHABLE, AWAY)}


@dataclass
class RollCall:
    """Who was called, and by name under each answer (or none, or unreachable); those in scope but
    away are named apart and not counted among those called."""

    total: int = 0
    delivered: int = 0
    names: dict[str, list[str]] = field(default_factory=_rows)

    def count(self, row: str) -> int:
        return len(self.names[row])

    @property
    def coming(self) -> int:
        """Those coming or already there."""
        return self.count(CallOutAnswer.COMING) + self.count(CallOutAnswer.ARRIVED)


async def roll_call(session: AsyncSession, mobilization_id: int) -> RollCall:
    rows = (await session.execute(
        select(Responder, Person.name, Person.blocked).join(Person, Person.id == Responder.person_id)
        .where(Responder.mobilization_id == mobilization_id).order_by(Person.name, Person.id)
    )).all()
    call = RollCall(total=sum(not responder.away for responder, _name, _blocked in rows))
    for responder, name, blocked in rows:
        call.delivered += responder.delivered_at is not None
        if responder.away and not responder.answer:
            call.names[AWAY].append(name)
        elif responder.answer:
            call.names[responder.answer].append(name)
        elif responder.unreachable or blocked:
            call.names[UNREACHABLE].append(name)
        else:
            call.names[NOT_ANSWERED].append(name)
    return call


async def recent(session: AsyncSession, commander_id: int, limit: int = 10) -> list[Mobilization]:
    """The commander's latest call-outs that were sent, newest first."""
    return list((await session.scalars(select(Mobilization).where(
        Mobilization.commander_id == commander_id, Mobilization.state.in_((CallOutState.ACTIVE, CallOutState.OVER))
    ).order_by(Mobilization.id.desc()).limit(limit))).all())


# --- the commander's live controls --------------------------------------------------------------


async def commanded(session: AsyncSession, mobilization_id: int, commander_id: int) -> Mobilization:
    """The call-out, if this person sent it (raises NOT_YOURS otherwise)."""
    mobilization = await session.get(Mobilization, mobilization_id)
    if mobilization is None or mobilization.commander_id != commander_id:
        raise CallOutError(Refusal.NOT_YOURS)
    return mobilization


async def live_commanded(session: AsyncSession, mobilization_id: int, commander_id: int) -> Mobilization:
    """The call-out, if this person sent it and it is not over yet."""
    mobilization = await commanded(session, mobilization_id, commander_id)
    if mobilization.state != CallOutState.ACTIVE:
        raise CallOutError(Refusal.OVER)
    return mobilization


async def _still_commanded_by(session: AsyncSession, mobilization_id: int, person_id: int) -> Mobilization:
    """The call-out, if this person sent it and still holds a role that may call people out
    (whoever lost it may still stand down, but not alert anyone again)."""
    mobilization = await commanded(session, mobilization_id, person_id)
    if not await command_of(session, person_id):
        raise CallOutError(Refusal.NOT_YOURS)
    return mobilization


async def realert(session: AsyncSession, mobilization_id: int, commander_id: int | None, now: datetime) -> int:
    """Alert again everyone who has not answered and can be reached; how many."""
    if commander_id is None:  # the timer's own re-alert
        found = await session.get(Mobilization, mobilization_id)
        if found is None:
            raise CallOutError(Refusal.NOT_YOURS)
        mobilization = found
    else:
        mobilization = await _still_commanded_by(session, mobilization_id, commander_id)
    if mobilization.state != CallOutState.ACTIVE:
        raise CallOutError(Refusal.OVER)
    silent = (await session.scalars(select(Responder).join(Person, Person.id == Responder.person_id).where(
        Responder.mobilization_id == mobilization_id, Responder.answer.is_(None), Responder.unreachable.is_(False),
        Responder.away.is_(False), Person.blocked.is_(False)))).all()
    for responder in silent:
        responder.alerts += 1
        await outbox.enqueue(session, responder.person_id, outbox.CalloutPayload(mobilization_id, again=True), now,
                             outbox.EMERGENCY)
    mobilization.realerts += 1
    return len(silent)


def _skip_locked(session: AsyncSession, statement: Select[tuple[Mobilization]]) -> Select[tuple[Mobilization]]:
    """Where several processes run the timers, each takes the call-outs no other holds."""
    if session.bind.dialect.name == "postgresql":
        return statement.with_for_update(skip_locked=True)
    return statement


async def realert_due(session: AsyncSession, now: datetime, every: timedelta, times: int) -> int:
    """Alert again, every `every` up to `times` times, those who have not answered an active call-out."""
    active = (await session.scalars(_skip_locked(session, select(Mobilization).where(
        Mobilization.state == CallOutState.ACTIVE, Mobilization.realerts < times, Mobilization.sent_at.is_not(None))
    ))).all()
    count = 0
    for mobilization in active:
        if mobilization.sent_at is not None and now >= mobilization.sent_at + every * (mobilization.realerts + 1):
            count += await realert(session, mobilization.id, None, now)
    return count


async def offer_widening(session: AsyncSession, now: datetime, after: timedelta) -> int:
    """Once per call-out: when "need N" is set and fewer than N are coming `after` the call, the
    commander is offered to widen it. Returns how many offers were queued."""
    candidates = (await session.scalars(_skip_locked(session, select(Mobilization).where(
        Mobilization.state == CallOutState.ACTIVE, Mobilization.need.is_not(None),
        or_(Mobilization.wave == 0, Mobilization.waves_stopped.is_(True)),  # waves widen by themselves
        Mobilization.widen_offered.is_(False), Mobilization.sent_at <= now - after)
    ))).all()
    offered = 0
    for mobilization in candidates:
        call = await roll_call(session, mobilization.id)
        mobilization.widen_offered = True
        if call.coming < (mobilization.need or 0):
            await outbox.enqueue(session, mobilization.commander_id, outbox.CalloutWidenPayload(mobilization.id), now,
                                 outbox.EMERGENCY)
            offered += 1
    return offered


async def widening_wanted(session: AsyncSession, mobilization_id: int) -> tuple[Mobilization, int] | None:
    """The call-out and how many are coming, while it is active and still short of its need."""
    mobilization = await session.get(Mobilization, mobilization_id)
    if mobilization is None or mobilization.state != CallOutState.ACTIVE:
        return None
    coming = (await roll_call(session, mobilization.id)).coming
    if coming >= (mobilization.need or 0):
        return None
    return mobilization, coming


async def widen(session: AsyncSession, index: AreaIndex, mobilization_id: int, commander_id: int, whole_grids: bool,
                now: datetime) -> int:
    """Call the people of the wider area too (those not called yet); how many were added."""
    mobilization = await live_commanded(session, mobilization_id, commander_id)
    command = await command_of(session, commander_id)
    extra = [c for c in wider_micro_grids(index, micro_grids_in(index, list(mobilization.area_codes)), whole_grids)
             if command.covers(index, c)]
    called = set((await session.scalars(select(Responder.person_id).where(
        Responder.mobilization_id == mobilization_id))).all())
    added = [p for p in await people_in_scope(session, index, extra, list(mobilization.tags)) if p not in called]
    if not added:
        raise CallOutError(Refusal.NOBODY)
    mobilization.area_codes = [*mobilization.area_codes, *extra]
    alerted = await alert(session, mobilization, added, now, max(mobilization.wave, 1))
    await record_change(session, mobilization.id, "widened", now)
    return alerted


async def _reached(session: AsyncSession, mobilization_id: int) -> list[int]:
    """Everyone the call-out reached (not those known to be unreachable, nor those away)."""
    return list((await session.scalars(select(Responder.person_id).where(
        Responder.mobilization_id == mobilization_id, Responder.unreachable.is_(False),
        Responder.away.is_(False)))).all())


async def follow_up(session: AsyncSession, mobilization_id: int, commander_id: int, text: str, now: datetime) -> int:
    """A follow-up from the commander (at most MAX_UPDATE characters) to everyone the call-out reached."""
    if len(text) > MAX_UPDATE:
        raise ValueError(f"an update of {len(text)} characters, over {MAX_UPDATE}")
    mobilization = await _still_commanded_by(session, mobilization_id, commander_id)
    if mobilization.state != CallOutState.ACTIVE:
        raise CallOutError(Refusal.OVER)
    reached = await _reached(session, mobilization_id)
    for person_id in reached:
        await outbox.enqueue(session, person_id, outbox.CalloutUpdatePayload(mobilization_id, text), now, outbox.EMERGENCY)
    return len(reached)


async def stand_down(session: AsyncSession, mobilization_id: int, commander_id: int, now: datetime) -> int:
    """It is over: everyone the call-out reached is told; a second stand down changes nothing."""
    mobilization = await live_commanded(session, mobilization_id, commander_id)
    mobilization.state = CallOutState.OVER
    mobilization.ended_at = now
    reached = await _reached(session, mobilization_id)
    for person_id in reached:
        await outbox.enqueue(session, person_id, outbox.CalloutEndPayload(mobilization_id), now, outbox.EMERGENCY)
    return len(reached)


# --- the commander's live board -----------------------------------------------------------------


async def boards_to_refresh(session: AsyncSession, now: datetime, watched_for: timedelta,
                            every: timedelta) -> list[tuple[Mobilization, Person]]:
    """The boards (call-outs sent within `watched_for`) not edited in the last `every`, with their
    commanders, where the commander can still be reached."""
    boards = (await session.scalars(select(Mobilization).where(
        Mobilization.board_message_id.is_not(None), Mobilization.sent_at >= now - watched_for,
        Mobilization.state.in_((CallOutState.ACTIVE, CallOutState.OVER))))).all()
    found = []
    for mobilization in boards:
        if mobilization.board_edited_at is not None and now - mobilization.board_edited_at < every:
            continue
        commander = await session.get(Person, mobilization.commander_id)
        if commander is not None and not commander.blocked:
            found.append((mobilization, commander))
    return found


def keep_board(mobilization: Mobilization, text: str, edited_at: datetime | None = None,
               message_id: int | None = None) -> None:
    """Remember what the board says (to edit it only when that changes), when it was last edited,
    and which message it is."""
    mobilization.board_text = text
    if edited_at is not None:
        mobilization.board_edited_at = edited_at
    if message_id is not None:
        mobilization.board_message_id = message_id
