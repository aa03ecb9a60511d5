"""What every conversation shares: the greeting and help texts, and the last-resort error handler.
The step plumbing (the typed context, `Turn`, the wrappers, `Outgoing`, `ButtonOutcome`) is in
`handlers/turn.py`."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden

from handlers.fit import escape
from handlers.i18n import Translate, language_from_telegram, translator
from handlers.turn import GridContext
from storage import people, routing

log = logging.getLogger(__name__)


def greeting(_: Translate, name: str) -> str:
    return _(
        "Hello, {name}! I am the city's grid service.\n"
        "Send a photo of a problem you see in your neighbourhood, and we will get it fixed and tell you every step."
    ).format(name=escape(name))


def help_text(_: Translate) -> str:
    return _(
        "<b>How to report a problem</b>\n"
        "1. Send one to five photos.\n"
        "2. Share the location (or type the address).\n"
        "3. Choose what kind of problem it is.\n"
        "4. Add a few words if you like, then tap Submit.\n\n"
        "You get a case number at once and a message at every step.\n"
        "/mycases – your reports · /language – 中文/English · /cancel – stop a report"
    )


async def on_error(update: object, context: GridContext) -> None:
    """Log the failure with the update it came from; tell the person in one short sentence."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    rt = context.rt
    rt.counters.handler_failed()
    if isinstance(error, Forbidden) and isinstance(update, Update) and update.effective_user:
        async with rt.store.transaction() as session:
            person = await people.person_by_tg_id(session, update.effective_user.id)
            if person is not None:
                await routing.holder_blocked_bot(session, await rt.map.index(session), person.id, rt.clock.now())
        log.info("update %s: the person has blocked the bot", update_id)
        return
    log.error("update %s failed", update_id, exc_info=error)
    if isinstance(update, Update) and update.effective_message and update.effective_user:
        language = language_from_telegram(update.effective_user.language_code, rt.settings.default_language)
        _ = translator(language)
        try:
            await update.effective_message.reply_text(_("Sorry, something went wrong. Please try again."), do_quote=False)
        except Exception:  # noqa: BLE001 - the apology is best effort; the failure is logged above
            log.warning("update %s: could not send the apology", update_id)
