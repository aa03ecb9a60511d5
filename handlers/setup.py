"""Which update goes to which handler."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers import (
    callout,
    citizen,
    citizen_cases,
    citizen_report,
    dispatcher,
    full_text,
    invites,
    mobilize_flow,
    onboarding,
    patrol,
    picture_intake,
    report_buttons,
    stats_view,
    worker,
)
from handlers.buttons import Button, parse_button
from handlers.callbacks import parse_button as parse_legacy
from handlers.common import Context, answer_button, on_error, person_session, tr
from handlers.turn import PressHandler, message_step

log = logging.getLogger(__name__)

async def on_mobilization_button(update: Update, context: Context, pressed) -> None:  # type: ignore[no-untyped-def]
    """A responder's answer, or a commander's step in a call-out."""
    if pressed.action == "m:ans":
        await callout.on_answer_button(update, context, pressed)
    else:
        await mobilize_flow.on_mobilize_button(update, context, pressed)


# Family prefix -> the module's old-style handler taking `Pressed` (being replaced by PRESSES).
BUTTON_ROUTES = {
    "d": dispatcher.on_dispatch_button,
    "t": worker.on_task_button,
    "m": on_mobilization_button,
}

# Button class -> the step that handles it (`press_step`); each conversation module declares its
# own `PRESSES` table, merged here.
PRESS_ROUTES: dict[type[Button], PressHandler] = {}
for _table in (report_buttons.PRESSES, citizen_cases.PRESSES, citizen.PRESSES, invites.PRESSES, full_text.PRESSES):
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


async def count_update(update: object, context: Context) -> None:
    """Every update, before anything else handles it: counted for /metrics."""
    kind = "other"
    if isinstance(update, Update):
        kind = "callback_query" if update.callback_query else "message" if update.message else \
            "edited_message" if update.edited_message else "my_chat_member" if update.my_chat_member else "other"
    context.application.bot_data["runtime"].counters.update_seen(kind)


def register_handlers(application: Application) -> None:
    application.add_handler(TypeHandler(object, count_update), group=-1)
    private = filters.ChatType.PRIVATE
    new = filters.UpdateType.MESSAGE & private
    application.add_handler(CommandHandler("start", message_step(citizen.start), filters=private))
    application.add_handler(CommandHandler("help", message_step(citizen.show_help), filters=private))
    application.add_handler(CommandHandler("language", message_step(citizen.choose_language), filters=private))
    application.add_handler(CommandHandler("report", message_step(citizen_report.start_report), filters=private))
    application.add_handler(CommandHandler("cancel", message_step(citizen_report.cancel), filters=private))
    application.add_handler(CommandHandler("mycases", message_step(citizen_cases.my_cases), filters=private))
    application.add_handler(CommandHandler("whoami", message_step(onboarding.whoami), filters=private))
    application.add_handler(CommandHandler("queue", dispatcher.show_queue, filters=private))
    application.add_handler(CommandHandler("invite", message_step(invites.start_invite), filters=private))
    application.add_handler(CommandHandler("tasks", worker.show_tasks, filters=private))
    application.add_handler(CommandHandler("checkin", patrol.start_checkin, filters=private))
    application.add_handler(CommandHandler("team", patrol.show_team, filters=private))
    application.add_handler(CommandHandler("stats", stats_view.show_stats, filters=private))
    application.add_handler(CommandHandler("mobilize", mobilize_flow.start, filters=private))
    application.add_handler(CommandHandler("mobilizations", mobilize_flow.show_recent, filters=private))
    application.add_handler(MessageHandler(new & filters.COMMAND, message_step(citizen.unknown_command)))
    application.add_handler(MessageHandler(new & filters.PHOTO, picture_intake.on_photo))
    application.add_handler(MessageHandler(new & filters.Document.ALL, picture_intake.on_document))
    application.add_handler(MessageHandler(new & (filters.LOCATION | filters.VENUE), message_step(citizen.on_place)))
    application.add_handler(MessageHandler(new & filters.TEXT, message_step(citizen.on_text)))
    application.add_handler(MessageHandler(new & UNSUPPORTED, message_step(citizen.on_unsupported)))
    application.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE & private & filters.LOCATION,
                                           patrol.on_live_location_moved))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(ChatMemberHandler(citizen.on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_error_handler(on_error)
