"""What /metrics reads from the store at scrape time: cases by state, the outbound queue (by
priority, and how long its oldest due message has waited), call-outs under way and their answers,
and the cases whose timers are due. Each is one grouped query on an indexed column."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Case, Mobilization, OutboundMessage, Responder
from storage.vocab import CallOutState, OutboxStatus


@dataclass(frozen=True)
class Gauges:
    cases_by_state: dict[str, int]  # every state some case is in
    given_up: int  # outbound messages given up on (dead)
    queued_by_priority: dict[int, int]  # outbound messages waiting to be sent (pending), by priority
    oldest_due_seconds: float  # how long the oldest pending message that is due has waited (0: none)
    callouts_active: int
    callout_answers: dict[str, int]  # answer ("none": not yet) -> people
    callout_delivered: int
    reminders_due: int  # cases whose alarm has come

    @property
    def queued(self) -> int:
        return sum(self.queued_by_priority.values())


async def gauges(session: AsyncSession, now: datetime) -> Gauges:
    states = (await session.execute(select(Case.state, func.count()).group_by(Case.state))).tuples().all()
    given_up = await session.scalar(
        select(func.count()).select_from(OutboundMessage).where(OutboundMessage.status == OutboxStatus.DEAD)) or 0
    pending = OutboundMessage.status == OutboxStatus.PENDING
    by_priority = (await session.execute(
        select(OutboundMessage.priority, func.count()).where(pending).group_by(OutboundMessage.priority))).tuples().all()
    oldest = await session.scalar(select(func.min(OutboundMessage.not_before)).where(pending, OutboundMessage.not_before <= now))
    active = Mobilization.state == CallOutState.ACTIVE
    callouts = await session.scalar(select(func.count()).select_from(Mobilization).where(active)) or 0
    answers = (await session.execute(
        select(Responder.answer, func.count(), func.count(Responder.delivered_at))
        .join(Mobilization, Mobilization.id == Responder.mobilization_id).where(active)
        .group_by(Responder.answer))).tuples().all()
    due = await session.scalar(select(func.count()).select_from(Case).where(Case.alarm_at <= now)) or 0
    return Gauges(
        dict(states), given_up,
        queued_by_priority=dict(by_priority),
        oldest_due_seconds=max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0,
        callouts_active=callouts,
        callout_answers={str(answer) if answer is not None else "none": count for answer, count, _ in answers},
        callout_delivered=sum(delivered for _, _, delivered in answers),
        reminders_due=due,
    )
