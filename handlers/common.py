"""What every conversation shares: the greeting and help texts, and the last-resort error handler.

The step plumbing (the typed context, `Turn`, the wrappers, `Outgoing`, `ButtonOutcome`) lives in
`handlers/turn.py`; the names below it are re-exported, with `runtime`, `person_session`, `tr` and
`too_long`, only for the modules not yet written as steps.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.error import Forbidden

from handlers.fit import escape
from handlers.i18n import Translate, language_from_telegram, translator
from handlers.runtime import Runtime
from handlers.turn import (
    KEEP,
    ButtonOutcome,
    Context,
    GridContext,
    Outgoing,
    answer_button,
    edit_or_send,
    send_all,
    show_outcome,
)
from handlers.typed_text import too_long
from storage import people, routing
from storage.models import Person

__all__ = [
    "KEEP", "ButtonOutcome", "Context", "Outgoing", "answer_button", "edit_or_send", "esc", "greeting", "help_text",
    "on_error", "person_session", "runtime", "send_all", "show_outcome", "too_long", "tr",
]

log = logging.getLogger(__name__)


def runtime(context: GridContext) -> Runtime:
    return context.rt


def esc(text: str | None) -> str:
    """Whatever a person typed, made safe to put in an HTML message (`user()` where it may be shortened)."""
    return escape(text)


@asynccontextmanager
async def person_session(update: Update, context: GridContext) -> AsyncIterator[tuple[AsyncSession, Person]]:
    """One transaction for one update, with the (refreshed) person who sent it."""
    rt = context.rt
    user = update.effective_user
    assert user is not None
    language = language_from_telegram(user.language_code, rt.settings.default_language)
    async with rt.store.transaction() as session:
        person = await people.touch_person(session, user.id, user.full_name, language, rt.clock.now())
        yield session, person


def tr(person: Person) -> Translate:
    return translator(person.language)


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
    rt.counters.handler_errors += 1
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
