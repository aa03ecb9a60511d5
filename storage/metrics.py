"""What /metrics reads from the store: cases by state, and the outbound queue's depth."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Case, OutboundMessage


@dataclass(frozen=True)
class Gauges:
    cases_by_state: dict[str, int]  # every state some case is in
    queued: int  # outbound messages waiting to be sent (pending)
    given_up: int  # outbound messages given up on (dead)


async def gauges(session: AsyncSession) -> Gauges:
    states = (await session.execute(select(Case.state, func.count()).group_by(Case.state))).tuples().all()
    queue = (await session.execute(
        select(OutboundMessage.status, func.count()).where(OutboundMessage.status.in_(("pending", "dead")))
        .group_by(OutboundMessage.status))).tuples().all()
    depth: dict[str, int] = dict(queue)
    return Gauges(dict(states), depth.get("pending", 0), depth.get("dead", 0))
