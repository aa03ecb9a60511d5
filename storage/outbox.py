"""The durable outbound queue: messages are written with the change they report, then sent."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboundMessage

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8
EMERGENCY, NORMAL, LATER = 0, 5, 9


async def enqueue(
    session: AsyncSession, person_id: int, kind: str, payload: dict[str, Any], now: datetime, priority: int = NORMAL
) -> OutboundMessage:
    message = OutboundMessage(
        person_id=person_id,
        kind=kind,
        payload=payload,
        priority=priority,
        status="pending",
        attempts=0,
        created_at=now,
        not_before=now,
    )
    session.add(message)
    session.info["outbox_queued"] = True
    return message


async def claim_due(session: AsyncSession, now: datetime, limit: int, owner: str = "") -> list[OutboundMessage]:
    """Take up to `limit` due messages, oldest first, under a lease so no other sender takes them."""
    due = (
        select(OutboundMessage.id)
        .where(
            OutboundMessage.status == "pending",
            OutboundMessage.not_before <= now,
            (OutboundMessage.claimed_until.is_(None)) | (OutboundMessage.claimed_until < now),
        )
        .order_by(OutboundMessage.priority, OutboundMessage.id)
        .limit(limit)
    )
    if session.bind.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list((await session.scalars(due)).all())
    if not ids:
        return []
    await session.execute(
        update(OutboundMessage).where(OutboundMessage.id.in_(ids)).values(claimed_until=now + LEASE, claimed_by=owner)
    )
    rows = await session.scalars(
        select(OutboundMessage).where(OutboundMessage.id.in_(ids)).order_by(OutboundMessage.priority, OutboundMessage.id)
    )
    return list(rows.all())


async def release_claims(session: AsyncSession, owner: str = "") -> int:
    """Free the messages this sender (by its instance name) had claimed when it stopped: a crash
    leaves them leased, and a restarted process sends them at once instead of after the lease.
    Other processes' claims are theirs to keep."""
    result = await session.execute(
        update(OutboundMessage).where(OutboundMessage.status == "pending", OutboundMessage.claimed_until.is_not(None),
                                      OutboundMessage.claimed_by == owner)
        .values(claimed_until=None)
    )
    return result.rowcount or 0


async def mark_sent(session: AsyncSession, message_ids: list[int], now: datetime) -> None:
    await session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id.in_(message_ids))
        .values(status="sent", sent_at=now, claimed_until=None, attempts=OutboundMessage.attempts + 1)
    )


async def mark_retry(session: AsyncSession, message_id: int, error: str, not_before: datetime) -> bool:
    """Put the message back for a later try; False when it has used up its tries and is dead."""
    message = await session.get(OutboundMessage, message_id)
    if message is None:
        return False
    message.attempts += 1
    message.last_error = error[:300]
    message.claimed_until = None
    if message.attempts >= MAX_ATTEMPTS:
        message.status = "dead"
        return False
    message.not_before = not_before
    return True


async def mark_dead(session: AsyncSession, message_id: int, error: str) -> None:
    """Give up on a message for good (the person blocked the bot, or it can never be sent)."""
    await session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id == message_id)
        .values(status="dead", last_error=error[:300], claimed_until=None)
    )


async def defer_person(session: AsyncSession, person_id: int, not_before: datetime) -> None:
    """Hold back everything queued for one person, as Telegram's flood control asks."""
    await session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.person_id == person_id,
            OutboundMessage.status == "pending",
            OutboundMessage.not_before < not_before,
        )
        .values(not_before=not_before)
    )

