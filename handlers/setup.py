"""Which update goes to which handler."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers import (
    callout_answers,
    callout_command,
    callout_compose,
    citizen,
    citizen_cases,
    citizen_report,
    dispatcher,
    full_text,
    invites,
    onboarding,
    patrol,
    stats_view,
    worker,
)
from handlers.buttons import Button, parse_button
from handlers.callbacks import parse_button as parse_legacy
from handlers.common import Context, answer_button, on_error, person_session, tr
from handlers.turn import App, GridContext, PressHandler, message_step

log = logging.getLogger(__name__)

# Family prefix -> the module's old-style handler taking `Pressed` (being replaced by PRESSES).
BUTTON_ROUTES = {
    "r": citizen_report.on_report_button,
    "c": citizen_cases.on_case_button,
    "lang": citizen.on_language_button,
    "i": invites.on_invite_button,
    "x": full_text.on_full_text_button,
}

# Button class -> the step that handles it (`press_step`); each conversation module declares its
# own `PRESSES` table, merged here.
PRESS_ROUTES: dict[type[Button], PressHandler] = {}
for _table in (dispatcher.PRESSES, worker.PRESSES, callout_compose.PRESSES, callout_command.PRESSES,
               callout_answers.PRESSES):
    PRESS_ROUTES.update(_table)


async def on_button(update: Update, context: Context) -> None:
    """Every inline button: parsed in one place; what it still means is up to the store."""
    query = update.callback_query
    assert query is not None
    pressed = parse_button(query.data)
    if pressed is not None and type(pressed) in PRESS_ROUTES:
        await PRESS_ROUTES[type(pressed)](update, context, pressed)
        return
    legacy = parse_legacy(query.data) if pressed is not None else None
    route = BUTTON_ROUTES.get(legacy.action.split(":")[0]) if legacy else None
    if legacy is None or route is None:
        log.warning("update %s: unparseable callback data %r", update.update_id, query.data)
        async with person_session(update, context) as (_session, person):
            _ = tr(person)
        await answer_button(query, _("This button is not valid."))
        return
    await route(update, context, legacy)


UNSUPPORTED = (
    filters.Sticker.ALL | filters.VOICE | filters.VIDEO | filters.AUDIO | filters.VIDEO_NOTE
    | filters.ANIMATION | filters.CONTACT | filters.POLL | filters.Dice.ALL | filters.GAME | filters.STORY
)


async def count_update(update: object, context: GridContext) -> None:
    """Every update, before anything else handles it: counted for /metrics."""
    kind = "other"
    if isinstance(update, Update):
        kind = "callback_query" if update.callback_query else "message" if update.message else \
            "edited_message" if update.edited_message else "my_chat_member" if update.my_chat_member else "other"
    context.rt.counters.update_seen(kind)


def register_handlers(application: App) -> None:
    application.add_handler(TypeHandler(object, count_update), group=-1)
    private = filters.ChatType.PRIVATE
    new = filters.UpdateType.MESSAGE & private
    application.add_handler(CommandHandler("start", citizen.start, filters=private))
    application.add_handler(CommandHandler("help", citizen.show_help, filters=private))
    application.add_handler(CommandHandler("language", citizen.choose_language, filters=private))
    application.add_handler(CommandHandler("report", citizen_report.start_report, filters=private))
    application.add_handler(CommandHandler("cancel", citizen_report.cancel, filters=private))
    application.add_handler(CommandHandler("mycases", citizen_cases.my_cases, filters=private))
    application.add_handler(CommandHandler("whoami", onboarding.whoami, filters=private))
    application.add_handler(CommandHandler("queue", message_step(dispatcher.show_queue), filters=private))
    application.add_handler(CommandHandler("invite", invites.start_invite, filters=private))
    application.add_handler(CommandHandler("tasks", message_step(worker.show_tasks), filters=private))
    application.add_handler(CommandHandler("checkin", message_step(patrol.start_checkin), filters=private))
    application.add_handler(CommandHandler("team", message_step(patrol.show_team), filters=private))
    application.add_handler(CommandHandler("stats", message_step(stats_view.show_stats), filters=private))
    application.add_handler(CommandHandler("mobilize", message_step(callout_compose.start), filters=private))
    application.add_handler(CommandHandler("mobilizations", message_step(callout_command.show_recent), filters=private))
    application.add_handler(MessageHandler(new & filters.COMMAND, citizen.unknown_command))
    application.add_handler(MessageHandler(new & filters.PHOTO, citizen_report.on_photo))
    application.add_handler(MessageHandler(new & filters.Document.ALL, citizen_report.on_document))
    application.add_handler(MessageHandler(new & (filters.LOCATION | filters.VENUE), citizen_report.on_location))
    application.add_handler(MessageHandler(new & filters.TEXT, citizen.on_text))
    application.add_handler(MessageHandler(new & UNSUPPORTED, citizen.on_unsupported))
    application.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE & private & filters.LOCATION,
                                           message_step(patrol.move_live_location)))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(ChatMemberHandler(citizen.on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_error_handler(on_error)
