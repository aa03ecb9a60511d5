"""The command-centre board from the chat (issue 17), and the citizens' map picker.

- `/board` (leaders, dispatchers, admins): a one-time link to the board (opened within 10 minutes,
  the session lasts 12 hours), and, when the bot has a public https address, a "🗺 Board" button
  that opens it as a Telegram Mini App and the same as the chat's menu button.
- "🗺 Pick on a map" at the report's location step (only with a public https address): the Mini
  App sends the chosen point back as `web_app_data`, taken here as any shared pin would be.
"""

from __future__ import annotations

import json
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, MenuButtonWebApp, Message, Update, WebAppInfo
from telegram.error import TelegramError

from handlers import answers, citizen_report
from handlers.citizen import NOT_A_PLACE
from handlers.fit import escape
from handlers.i18n import translator
from handlers.questions import Place
from handlers.turn import GridContext, Outgoing, Replies, Turn, reply
from storage import board, people
from storage.points import is_valid_point
from storage.vocab import N_, LocationSource

log = logging.getLogger(__name__)

BOARD_BUTTON = N_("🗺 Board")


def board_app_url(base: str | None) -> str | None:
    return f"{base}/board/" if base else None


async def board_link(turn: Turn) -> Replies:
    """/board: the link (and the Mini App button) for staff; one line for anyone else."""
    _ = turn._
    index = await turn.index()
    if await board.board_scope(turn.session, index, turn.person.id) is None:
        return [Outgoing(_("The board is for grid leaders, dispatchers and administrators. /whoami shows your roles."))]
    token = await board.issue_link(turn.session, turn.person.id, turn.now)
    settings = turn.rt.settings
    link = f"{settings.public_base_url}/board/login/{token}?lang={turn.person.language}"  # the sign-in page in their words
    text = _("🗺 <b>Your command-centre board</b>\n{link}\nThe link works once, within 10 minutes; the board then "
             "stays open for 12 hours on that screen.").format(link=escape(link))
    app_url = board_app_url(settings.web_app_base_url)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(_(BOARD_BUTTON), web_app=WebAppInfo(app_url))]]) if app_url else None
    return [Outgoing(text, markup)]


async def on_board_command(update: Update, context: GridContext) -> None:
    """/board, then (staff, https) the chat's menu button opens the board too."""
    await reply(update, context, board_link)
    await set_board_menu_button(update, context)


async def set_board_menu_button(update: Update, context: GridContext) -> None:
    """Staff's chat menu button opens the board (at a public https address); set at /start and /board."""
    app_url = board_app_url(context.rt.settings.web_app_base_url)
    chat = update.effective_chat
    if app_url is None or chat is None:
        return
    async with context.rt.store.transaction() as session:
        user = update.effective_user
        person = await people.person_by_tg_id(session, user.id) if user else None
        index = await context.rt.map.index(session)
        staff = person is not None and await board.board_scope(session, index, person.id) is not None
        language = person.language if person else context.rt.settings.default_language
    if not staff:
        return
    try:
        await context.bot.set_chat_menu_button(chat.id, MenuButtonWebApp(translator(language)(BOARD_BUTTON), WebAppInfo(app_url)))
    except TelegramError as error:
        log.warning("could not set the board's menu button in chat %s: %s", chat.id, error)


async def on_web_app_data(turn: Turn, message: Message) -> Replies:
    """The map picker's point: checked like a shared location (a bad one is refused, kept waiting)."""
    data = message.web_app_data.data if message.web_app_data else ""
    try:
        point = json.loads(data)
        lat, lon = float(point["lat"]), float(point["lon"])
    except (ValueError, TypeError, KeyError):
        lat = lon = float("nan")
    if not is_valid_point(lat, lon):
        log.warning("update %s: a picked point was refused: %r", turn.update_id, data[:200])
        return await citizen_report.refused(turn, turn._(NOT_A_PLACE))
    return await answers.answer_place(turn, Place(lat, lon, LocationSource.SHARED, None, None, message.message_id))
