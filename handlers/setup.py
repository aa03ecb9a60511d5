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
    away,
    board,
    callout_answers,
    callout_command,
    callout_compose,
    callout_plans,
    cap_drafts,
    case_callout,
    citizen,
    citizen_cases,
    citizen_report,
    dispatcher,
    forget,
    full_text,
    invites,
    joint,
    onboarding,
    patrol,
    picture_intake,
    report_buttons,
    stats_view,
    verify,
    worker,
)
from handlers.buttons import Button, parse_button
from handlers.common import on_error
from handlers.turn import App, GridContext, PressHandler, Turn, answer_button, message_step, run_turn
from storage import log_context

log = logging.getLogger(__name__)

# Button class -> the step that handles it; each conversation module declares its own `PRESSES`.
PRESS_ROUTES: dict[type[Button], PressHandler] = {}
for _table in (report_buttons.PRESSES, citizen.PRESSES, citizen_cases.PRESSES, invites.PRESSES, full_text.PRESSES,
               dispatcher.PRESSES, worker.PRESSES, callout_compose.PRESSES, callout_command.PRESSES,
               callout_answers.PRESSES, cap_drafts.PRESSES, callout_plans.PRESSES, case_callout.PRESSES,
               away.PRESSES, verify.PRESSES, joint.PRESSES, forget.PRESSES):
    for _family, _handler in _table.items():
        if _family in PRESS_ROUTES:
            raise ValueError(f"two conversations handle {_family.__name__}")
        PRESS_ROUTES[_family] = _handler


async def _button_not_valid(turn: Turn) -> str:
    return turn._("This button is not valid.")


async def on_button(update: Update, context: GridContext) -> None:
    """Every inline button: parsed in one place (handlers/buttons.py), handled by its class's step;
    what it still means is up to the store."""
    query = update.callback_query
    assert query is not None
    pressed = parse_button(query.data)
    route = PRESS_ROUTES.get(type(pressed)) if pressed is not None else None
    if pressed is None or route is None:
        log.warning("update %s: unparseable callback data %r", update.update_id, query.data)
        await answer_button(query, await run_turn(update, context, _button_not_valid))
        return
    await route(update, context, pressed)


UNSUPPORTED = (
    filters.Sticker.ALL | filters.VOICE | filters.VIDEO | filters.AUDIO | filters.VIDEO_NOTE
    | filters.ANIMATION | filters.CONTACT | filters.POLL | filters.Dice.ALL | filters.GAME | filters.STORY
)


async def count_update(update: object, context: GridContext) -> None:
    """Every update, before anything else handles it: counted for /metrics, named in the log lines."""
    kind = "other"
    log_context.about_update(update.update_id if isinstance(update, Update) else None)  # its log lines say which
    if isinstance(update, Update):
        kind = "callback_query" if update.callback_query else "message" if update.message else \
            "edited_message" if update.edited_message else "my_chat_member" if update.my_chat_member else "other"
    context.rt.counters.update_seen(kind)


def register_handlers(application: App) -> None:
    application.add_handler(TypeHandler(object, count_update), group=-1)
    private = filters.ChatType.PRIVATE
    new = filters.UpdateType.MESSAGE & private
    application.add_handler(CommandHandler("start", message_step(citizen.start), filters=private))
    # After the greeting (a later group): staff's menu button opens the board.
    application.add_handler(CommandHandler("start", board.set_board_menu_button, filters=private), group=1)
    application.add_handler(CommandHandler("help", message_step(citizen.show_help), filters=private))
    application.add_handler(CommandHandler("language", message_step(citizen.choose_language), filters=private))
    application.add_handler(CommandHandler("report", message_step(citizen_report.start_report), filters=private))
    application.add_handler(CommandHandler("cancel", message_step(citizen_report.cancel), filters=private))
    application.add_handler(CommandHandler("mycases", message_step(citizen_cases.my_cases), filters=private))
    application.add_handler(CommandHandler("whoami", message_step(onboarding.whoami), filters=private))
    application.add_handler(CommandHandler("queue", message_step(dispatcher.show_queue), filters=private))
    application.add_handler(CommandHandler("invite", message_step(invites.start_invite), filters=private))
    application.add_handler(CommandHandler("tasks", message_step(worker.show_tasks), filters=private))
    application.add_handler(CommandHandler("checkin", message_step(patrol.start_checkin), filters=private))
    application.add_handler(CommandHandler("team", message_step(patrol.show_team), filters=private))
    application.add_handler(CommandHandler("stats", message_step(stats_view.show_stats), filters=private))
    application.add_handler(CommandHandler("mobilize", message_step(callout_plans.mobilize), filters=private))
    application.add_handler(CommandHandler("plans", message_step(callout_plans.list_plans), filters=private))
    application.add_handler(CommandHandler("mobilizations", message_step(callout_command.show_recent), filters=private))
    application.add_handler(CommandHandler("away", message_step(away.away_command), filters=private))
    application.add_handler(CommandHandler("board", board.on_board_command, filters=private))
    application.add_handler(MessageHandler(new & filters.StatusUpdate.WEB_APP_DATA, message_step(board.on_web_app_data)))
    application.add_handler(CommandHandler("cohold", message_step(joint.cohold), filters=private))
    application.add_handler(CommandHandler("forget", message_step(forget.forget_command), filters=private))
    application.add_handler(MessageHandler(new & filters.COMMAND, message_step(citizen.unknown_command)))
    application.add_handler(MessageHandler(new & filters.PHOTO, picture_intake.on_photo))
    application.add_handler(MessageHandler(new & filters.Document.ALL, picture_intake.on_document))
    application.add_handler(MessageHandler(new & (filters.LOCATION | filters.VENUE), message_step(citizen.on_place)))
    application.add_handler(MessageHandler(new & filters.TEXT, message_step(citizen.on_text)))
    application.add_handler(MessageHandler(new & UNSUPPORTED, message_step(citizen.on_unsupported)))
    application.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE & private & filters.LOCATION,
                                           message_step(patrol.move_live_location)))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(ChatMemberHandler(citizen.on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_error_handler(on_error)
