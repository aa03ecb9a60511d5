"""The commander's live roll call: the board (the message that had the Send button), what it says,
its controls, and the job that keeps it current: every few seconds the boards whose roll call
changed are edited in place (at most every 3 seconds each, and only when the text would change),
those who have not answered are alerted again when due, a call-out still short of the people it
needs sends its next wave when due (`storage/waves.py`) or, without waves, offers to widen."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden
from telegram.ext import ExtBot

from handlers import keyboards
from handlers.fit import TEXT_LIMIT, fit, user
from handlers.i18n import Translate, duration, translator
from handlers.runtime import Runtime
from storage import callouts, waves
from storage.callouts import AWAY, NOT_ANSWERED, UNREACHABLE
from storage.models import Mobilization
from storage.vocab import CallOutAnswer, CallOutState

log = logging.getLogger(__name__)

BOARD_SECONDS = 3
BOARD_EVERY = timedelta(seconds=BOARD_SECONDS)
WATCHED_FOR = timedelta(days=1)
WIDEN_AFTER = timedelta(minutes=10)
NAMES_SHOWN = 15


async def board_text(session: AsyncSession, language: str, mobilization: Mobilization, now: datetime) -> str:
    """The roll call as the commander watches it: how long since, how many got it, and who answered what."""
    _ = translator(language)
    call = await callouts.roll_call(session, mobilization.id)
    since = duration(now - (mobilization.sent_at or now), language)
    head = [_("🧪 DRILL") if mobilization.drill else "",
            f"🚨 <b>{user(mobilization.headline)}</b>",
            _("Sent {since} ago · delivered {delivered}/{total}").format(since=since, delivered=call.delivered, total=call.total)]
    if mobilization.state == CallOutState.OVER:
        head.append(_("🛑 Stood down"))
    lines = [line for line in head if line]
    labels = {CallOutAnswer.COMING: _("✅ Coming"), CallOutAnswer.ARRIVED: _("📍 Arrived"),
              CallOutAnswer.CANNOT: _("❌ Can't come"), NOT_ANSWERED: _("⏳ Not answered"),
              UNREACHABLE: _("🚫 Unreachable")}
    for row, label in labels.items():
        names = call.names[row]
        shown = ", ".join(user(n) for n in names[:NAMES_SHOWN]) + (" …" if len(names) > NAMES_SHOWN else "")
        lines.append(f"{label}: <b>{len(names)}</b>" + (f" – {shown}" if names and row != NOT_ANSWERED else ""))
    if call.count(AWAY):
        lines.append(_("🏖 Away: {count}").format(count=call.count(AWAY)))
    if mobilization.need:
        lines.append(_("👥 Needed: {need}").format(need=mobilization.need))
    lines += await _wave_lines(session, _, mobilization)
    return fit("\n".join(lines), TEXT_LIMIT).text


async def _wave_lines(session: AsyncSession, _: Translate, mobilization: Mobilization) -> list[str]:
    """Each wave (how many it alerted, how many of them are coming), and whether more may follow."""
    if not waves.waving(mobilization):
        return []
    lines = [_("🌊 Wave {number}: {alerted} alerted, {coming} coming").format(
        number=wave.number, alerted=wave.alerted, coming=wave.coming) for wave in await waves.waves_of(session, mobilization.id)]
    if mobilization.waves_stopped:
        lines.append(_("⏹ Waves stopped"))
    elif mobilization.wave_at is None:
        lines.append(_("🌊 No more waves"))
    else:
        lines.append(_("🌊 Next wave after {minutes} min while fewer than {need} are coming").format(
            minutes=mobilization.wave_minutes, need=mobilization.need))
    return lines


def board_markup(_: Translate, mobilization: Mobilization) -> InlineKeyboardMarkup | None:
    """The controls, while the call-out lasts ("Stop waves" while waves still go out)."""
    if mobilization.state != CallOutState.ACTIVE:
        return None
    running = waves.waving(mobilization) and not mobilization.waves_stopped and mobilization.wave_at is not None
    return keyboards.callout_board_with_waves(_, mobilization.id, running)


async def tick(runtime: Runtime, bot: ExtBot[None]) -> int:
    """Re-alert where due, offer to widen where short, then edit every board whose roll call
    changed; returns the edits made."""
    now = runtime.clock.now()
    every = timedelta(minutes=runtime.settings.realert_minutes)
    edits = []
    async with runtime.store.transaction() as session:
        await callouts.realert_due(session, now, every, runtime.settings.realert_times)
        await waves.waves_due(session, await runtime.map.index(session), now, runtime.settings.callout_max_waves)
        await callouts.offer_widening(session, now, WIDEN_AFTER)
        for mobilization, commander in await callouts.boards_to_refresh(session, now, WATCHED_FOR, BOARD_EVERY):
            text = await board_text(session, commander.language, mobilization, now)
            if text == mobilization.board_text:
                continue
            callouts.keep_board(mobilization, text, edited_at=now)
            edits.append((commander.tg_id, mobilization.board_message_id, text,
                          board_markup(translator(commander.language), mobilization)))
    for chat_id, message_id, text, markup in edits:
        try:
            await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, reply_markup=markup)
        except (BadRequest, Forbidden) as error:
            log.info("board %s in chat %s not edited: %s", message_id, chat_id, error)
    return len(edits)
