"""Waves until enough people come, and responders away (issue 16).

A call-out that needs N people and has a wave timing (`Mobilization.wave_minutes`, from a plan or
from the composer's setting) does not alert everyone at once. Wave 1 calls the responders of its
first tag (its tags are in order of preference); whenever fewer than N are coming `wave_minutes`
after the last wave, the timer sends the next wave by itself: the next tag, then, the tags used
up, the neighbouring micro-grids the commander commands (as `callouts.widen` does), up to a limit
of waves in all. The commander can stop the waves. Without a need (or a timing) everyone is
alerted at once, as before.

A responder who is away (`Person.away_until`) is skipped by every call-out, plan and wave: they
get a roll-call row marked away, and no alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.callout_scope import Command, command_of, micro_grids_in, people_in_scope, wider_micro_grids
from storage.callouts import CallOutError, Refusal, _skip_locked, alert, live_commanded, roll_call
from storage.cap import record_change
from storage.map_index import AreaIndex
from storage.models import Mobilization, Person, Responder
from storage.models import Role as HeldRole
from storage.vocab import CallOutAnswer, CallOutState, Role

# How many rings of neighbouring micro-grids one wave may reach past where nobody answers to.
RINGS_PER_WAVE = 3
# The longest absence /away takes, in days.
MAX_AWAY_DAYS = 366


def waving(mobilization: Mobilization) -> bool:
    """Whether the call-out goes out in waves."""
    return mobilization.wave > 0


def waves_wanted(mobilization: Mobilization) -> bool:
    """Whether a call-out about to be sent should go out in waves: it needs a number of people and
    has a wave timing."""
    return bool(mobilization.need) and bool(mobilization.wave_minutes)


def _tag_steps(tags: list[str]) -> list[list[str]]:
    """The tags each wave calls in turn: one at a time in their order, or all at once for one or none."""
    return [[tag] for tag in tags] if len(tags) > 1 else [list(tags)]


async def _called(session: AsyncSession, mobilization_id: int) -> set[int]:
    return set((await session.scalars(select(Responder.person_id).where(
        Responder.mobilization_id == mobilization_id))).all())


async def next_wave(session: AsyncSession, index: AreaIndex, mobilization: Mobilization, command: Command,
                    now: datetime) -> int:
    """Send the call-out's next wave: the next tag with anyone present not called yet, else the
    nearest ring of neighbouring micro-grids with anyone. Returns how many it alerted; 0 when
    nobody is left (no further wave is then due)."""
    called = await _called(session, mobilization.id)
    steps = _tag_steps(list(mobilization.tags))
    micro = micro_grids_in(index, list(mobilization.area_codes))
    while mobilization.wave_tags < len(steps):
        tags = steps[mobilization.wave_tags]
        mobilization.wave_tags += 1
        found = [p for p in await people_in_scope(session, index, micro, tags) if p not in called]
        if found:
            count = await _send_wave(session, mobilization, found, now)
            if count:
                return count
            called |= set(found)
    for _ring in range(RINGS_PER_WAVE):
        extra = [code for code in wider_micro_grids(index, micro, False) if command.covers(index, code)]
        if not extra:
            break
        mobilization.area_codes = [*mobilization.area_codes, *extra]
        micro = sorted({*micro, *extra})
        found = [p for p in await people_in_scope(session, index, extra, list(mobilization.tags)) if p not in called]
        if found:
            count = await _send_wave(session, mobilization, found, now)
            if count:
                await record_change(session, mobilization.id, "widened", now)  # its CAP alert: an Update
                return count
            called |= set(found)
    mobilization.wave_at = None
    return 0


async def _send_wave(session: AsyncSession, mobilization: Mobilization, people: list[int], now: datetime) -> int:
    """Alert these people as the next wave (those away are only written down, in the wave that
    reached them); how many were alerted."""
    mobilization.wave += 1
    mobilization.wave_at = now
    count = await alert(session, mobilization, people, now, mobilization.wave)
    if not count:
        mobilization.wave -= 1  # nobody alerted: the wave is still to come
    return count


async def first_wave(session: AsyncSession, index: AreaIndex, mobilization: Mobilization, now: datetime) -> int:
    """The call-out's first wave, as it is sent."""
    command = await command_of(session, mobilization.commander_id)
    return await next_wave(session, index, mobilization, command, now)


async def waves_due(session: AsyncSession, index: AreaIndex, now: datetime, max_waves: int) -> int:
    """Send the waves that fell due: call-outs still short of their need `wave_minutes` after their
    last wave. Each is taken by one process (skip-locked on PostgreSQL) and goes once. Returns how
    many waves went."""
    waiting = (await session.scalars(_skip_locked(session, select(Mobilization).where(
        Mobilization.state == CallOutState.ACTIVE, Mobilization.wave > 0, Mobilization.wave_at.is_not(None),
        Mobilization.waves_stopped.is_(False), Mobilization.wave_minutes.is_not(None))
    ))).all()
    sent = 0
    for mobilization in waiting:
        if mobilization.wave_at is None or now < mobilization.wave_at + timedelta(minutes=mobilization.wave_minutes or 0):
            continue
        if mobilization.wave >= max_waves:
            mobilization.wave_at = None
            continue
        if (await roll_call(session, mobilization.id)).coming >= (mobilization.need or 0):
            continue  # enough are coming; looked at again while the call-out lasts
        command = await command_of(session, mobilization.commander_id)
        sent += await next_wave(session, index, mobilization, command, now) > 0
    return sent


async def stop_waves(session: AsyncSession, mobilization_id: int, commander_id: int) -> Mobilization:
    """The commander stops the waves: nobody more is called by themselves."""
    mobilization = await live_commanded(session, mobilization_id, commander_id)
    if not waving(mobilization) or mobilization.waves_stopped:
        raise CallOutError(Refusal.INVALID)
    mobilization.waves_stopped = True
    mobilization.wave_at = None
    return mobilization


@dataclass(frozen=True)
class Wave:
    """One wave on the roll call: its number, how many it alerted, how many of them are coming."""

    number: int
    alerted: int
    coming: int


async def waves_of(session: AsyncSession, mobilization_id: int) -> list[Wave]:
    rows = (await session.execute(
        select(Responder.wave, func.count(), func.count().filter(
            Responder.answer.in_((CallOutAnswer.COMING, CallOutAnswer.ARRIVED))))
        .where(Responder.mobilization_id == mobilization_id, Responder.away.is_(False))
        .group_by(Responder.wave).order_by(Responder.wave))).all()
    return [Wave(number, alerted, coming) for number, alerted, coming in rows]


# --- away ----------------------------------------------------------------------------------------

ALERTED_ROLES = (Role.RESPONDER, Role.WORKER)  # who call-outs reach


async def may_be_away(session: AsyncSession, person_id: int) -> bool:
    """Whether call-outs can reach this person (a responder or a grid worker)."""
    return (await session.scalar(select(func.count()).select_from(HeldRole).where(
        HeldRole.person_id == person_id, HeldRole.role.in_(ALERTED_ROLES)))) != 0


def away_until(person: Person, now: datetime) -> datetime | None:
    """When this person's absence ends, if they are away now."""
    return person.away_until if person.away_until is not None and person.away_until > now else None


def set_away(person: Person, until: datetime | None, now: datetime) -> None:
    """Away until `until` (an instant after `now`, at most MAX_AWAY_DAYS away), or back (None)."""
    if until is not None and not now < until <= now + timedelta(days=MAX_AWAY_DAYS + 1):
        raise ValueError(f"away until {until}, not after {now} or too far")
    person.away_until = until


async def alerted(session: AsyncSession, mobilization_id: int, person_id: int) -> None:
    """NOT_YOURS unless the call-out was sent to this person."""
    if await session.get(Responder, (mobilization_id, person_id)) is None:
        raise CallOutError(Refusal.NOT_YOURS)


async def away_from(session: AsyncSession, mobilization_id: int, person: Person, until: datetime,
                    now: datetime) -> Mobilization:
    """"I'm away" under an alert: away until `until`, and on this call-out's roll call as away."""
    mobilization = await session.get(Mobilization, mobilization_id)
    responder = await session.get(Responder, (mobilization_id, person.id))
    if mobilization is None or responder is None:
        raise CallOutError(Refusal.NOT_YOURS)
    set_away(person, until, now)
    if mobilization.state == CallOutState.ACTIVE:
        responder.away = True
        responder.answer = None
        responder.answered_at = now
    return mobilization
