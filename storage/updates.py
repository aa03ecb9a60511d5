"""Telegram update ids taken by any web process, so an update sent again is handled once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import changed_rows, insert_for
from storage.models import SeenUpdate

# Telegram gives up resending an update long before this (it keeps unconfirmed updates 24 hours at most).
KEEP_SEEN = timedelta(hours=24)


async def claim_update(session: AsyncSession, update_id: int, now: datetime) -> bool:
    """True for the first process to offer this update id; False when any process took it already.

    The primary key decides: of two processes inserting the same id at once, one row is written and
    the other insert does nothing, without an error to roll back."""
    insert = insert_for(session)
    return await changed_rows(session, insert(SeenUpdate).values(update_id=update_id, seen_at=now)
                              .on_conflict_do_nothing(index_elements=["update_id"])) == 1


async def forget_old_updates(session: AsyncSession, now: datetime) -> int:
    """Drops the ids seen more than a day ago, which Telegram will not send again; how many."""
    return await changed_rows(session, delete(SeenUpdate).where(SeenUpdate.seen_at < now - KEEP_SEEN))
