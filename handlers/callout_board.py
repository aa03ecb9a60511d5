"""Call-outs over time: the commander's live board edited in place (at most every 3 seconds, and
only when it would change), and the automatic re-alerts of those who have not answered."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from telegram.error import BadRequest, Forbidden
from telegram.ext import ExtBot

from handlers import mobilize_flow
from handlers.common import tr
from handlers.runtime import Runtime
from storage import mobilize
from storage.models import Mobilization, Person

log = logging.getLogger(__name__)

BOARD_SECONDS = 3
BOARD_EVERY = timedelta(seconds=BOARD_SECONDS)
WATCHED_FOR = timedelta(days=1)
WIDEN_AFTER = timedelta(minutes=10)


async def tick(runtime: Runtime, bot: ExtBot) -> int:
    """Re-alert where due, then edit every board whose roll call changed; returns the edits made."""
    now = runtime.clock.now()
    every = timedelta(minutes=runtime.settings.realert_minutes)
    edits = []
    async with runtime.store.transaction() as session:
        await mobilize.realert_due(session, now, every, runtime.settings.realert_times)
        await mobilize.offer_widening(session, now, WIDEN_AFTER)
        boards = (await session.scalars(select(Mobilization).where(
            Mobilization.board_message_id.is_not(None), Mobilization.sent_at >= now - WATCHED_FOR,
            Mobilization.state.in_(("active", "over"))))).all()
        for mobilization in boards:
            if mobilization.board_edited_at is not None and now - mobilization.board_edited_at < BOARD_EVERY:
                continue
            commander = await session.get(Person, mobilization.commander_id)
            if commander is None or commander.blocked:
                continue
            text = await mobilize_flow.board_text(session, runtime, commander, mobilization)
            if text == mobilization.board_text:
                continue
            mobilization.board_text = text
            mobilization.board_edited_at = now
            edits.append((commander.tg_id, mobilization.board_message_id, text,
                           mobilize_flow.board_buttons(tr(commander), mobilization)))
    for chat_id, message_id, text, markup in edits:
        try:
            await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, reply_markup=markup)
        except (BadRequest, Forbidden) as error:
            log.info("board %s in chat %s not edited: %s", message_id, chat_id, error)
    return len(edits)
