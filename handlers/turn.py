"""One update, one unit of work: the typed context, the `Turn` a step works in, and the wrappers.

Every handler is a *step*: an async function that takes a `Turn` (the open transaction, the person
who sent the update in their language, the run-time) and what was sent (text, a point, a typed
button), changes the store through `storage/`, and returns what to say. The wrappers here do the
rest, the same way for every update:

    Telegram update ─▶ wrapper: open the transaction, load (or create) the person
                     ─▶ step(turn, ...) decides; queued messages are written in the same transaction
                     ─▶ wrapper: commit, then send the step's replies (or answer the button)

so a reply is never sent for a change that was rolled back, and a step can be called from a test
with no Telegram at all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import CallbackQuery, InlineKeyboardMarkup, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackContext, ExtBot

from handlers import keyboards
from handlers.buttons import Button
from handlers.fit import BUTTON_ANSWER_LIMIT, TEXT_LIMIT, fit, shorten
from handlers.i18n import Translate, language_from_telegram, translator
from handlers.runtime import Runtime
from storage import log_context, people
from storage.callout_scope import command_of
from storage.map_index import AreaIndex
from storage.models import Person

log = logging.getLogger(__name__)


class GridContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """PTB's context with the process's `Runtime` as a typed property (PTB's `ContextTypes`)."""

    @property
    def rt(self) -> Runtime:
        runtime: Runtime = self.application.bot_data["runtime"]
        return runtime


App = Application[ExtBot[None], GridContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any]


# A reply's keyboard: buttons under the message, or the keyboard that replaces the person's own.
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


@dataclass
class Outgoing:
    """A message to send once the transaction that decided it has committed."""

    text: str
    markup: Markup | None = None


KEEP: Any = object()


@dataclass
class ButtonOutcome:
    """What pressing a button leads to, decided inside a transaction and shown after it."""

    notice: str | None = None
    alert: bool = False
    edit_text: str | None = None
    markup: Markup | None = KEEP  # KEEP: the pressed message keeps its buttons
    messages: list[Outgoing] = field(default_factory=list)


@dataclass
class Turn:
    """The unit of work of one update: what every step needs, opened once by the wrapper."""

    session: AsyncSession
    person: Person
    rt: Runtime
    update_id: int
    now: datetime
    bot_username: str = ""  # for t.me links to the bot
    _index: AreaIndex | None = None

    @property
    def _(self) -> Translate:
        """The person's language (`_ = turn._` at the top of a step reads as usual)."""
        return translator(self.person.language)

    async def menu(self) -> ReplyKeyboardMarkup:
        """The person's main menu: a commander's (leader, dispatcher, admin) has 🚨 for their plans."""
        return keyboards.main_menu(self._, bool(await command_of(self.session, self.person.id)))

    async def index(self) -> AreaIndex:
        """The map, loaded once per turn (a cached copy; reloaded when the map changed)."""
        if self._index is None:
            self._index = await self.rt.map.index(self.session)
        return self._index


Replies = Sequence[Outgoing]
S = TypeVar("S", bound=Button)


def _language(update: Update, rt: Runtime) -> str:
    user = update.effective_user
    return language_from_telegram(user.language_code if user else None, rt.settings.default_language)


async def run_turn(update: Update, context: GridContext, step: Callable[[Turn], Awaitable[Any]]) -> Any:
    """Open the transaction, load the person who sent `update`, run `step`, commit; return its result."""
    rt = context.rt
    user = update.effective_user
    assert user is not None
    async with rt.store.transaction() as session:
        now = rt.clock.now()
        person = await people.touch_person(session, user.id, user.full_name, _language(update, rt), now)
        log_context.about_person(person.id)
        return await step(Turn(session, person, rt, update.update_id, now, bot_username=context.bot.username))


async def send_all(bot: ExtBot[None], chat_id: int, messages: Replies) -> None:
    """Send the messages in order, each made to fit Telegram's length limit."""
    for message in messages:
        await bot.send_message(chat_id, fit(message.text, TEXT_LIMIT).text, reply_markup=message.markup)


async def reply(update: Update, context: GridContext, step: Callable[[Turn], Awaitable[Replies]]) -> None:
    """Run `step` in a turn (`run_turn`), then send its replies to the chat the update came from.
    For a handler that must do slow work before the transaction opens (a picture's download)."""
    assert update.effective_chat is not None
    replies = await run_turn(update, context, step)
    await send_all(context.bot, update.effective_chat.id, replies)


MessageHandlerCallback = Callable[[Update, GridContext], Coroutine[Any, Any, None]]


def message_step(step: Callable[[Turn, Message], Awaitable[Replies]]) -> MessageHandlerCallback:
    """A command or message handler from a step that takes the message and returns the replies
    (a coroutine function, as PTB's handlers want)."""

    @wraps(step)
    async def handler(update: Update, context: GridContext) -> None:
        message = update.effective_message
        assert message is not None
        await reply(update, context, lambda turn: step(turn, message))

    return handler


PressStep = Callable[[Turn, S], Awaitable[ButtonOutcome]]
PressHandler = Callable[[Update, GridContext, Button], Awaitable[None]]


def press_step(step: PressStep[S]) -> PressHandler:
    """A button handler from a step that takes the typed button and returns what the press leads to."""

    @wraps(step)
    async def handler(update: Update, context: GridContext, pressed: Button) -> None:
        outcome = await run_turn(update, context, lambda turn: step(turn, pressed))  # type: ignore[arg-type]  # the router matched the class
        await show_outcome(update, context, outcome)

    return handler


async def answer_button(query: CallbackQuery, text: str | None = None, alert: bool = False) -> None:
    """Stop the button's spinner, saying `text` if given; a query too old to answer is no matter.
    Telegram refuses a pop-up over 200 characters (MESSAGE_TOO_LONG), so a longer one (a long area
    or person name inside it) is shortened here, ending in an ellipsis, rather than not shown."""
    shown = shorten(text, BUTTON_ANSWER_LIMIT) if text else text
    if shown != text:
        log.info("callback %s: an answer of %s characters was shortened to Telegram's %s",
                 query.id, len(text or ""), BUTTON_ANSWER_LIMIT)
    try:
        await query.answer(shown, show_alert=alert)
    except BadRequest as error:
        log.info("callback %s not answered: %s", query.id, error)


async def edit_or_send(query: CallbackQuery, text: str, reply_markup: InlineKeyboardMarkup | None = None) -> None:
    """Replace the pressed message's text; where Telegram refuses, send it anew instead."""
    message = query.message
    text = fit(text, TEXT_LIMIT).text
    try:
        await query.edit_message_text(text, reply_markup=reply_markup)
    except BadRequest as error:
        if "not modified" in str(error):
            return
        if isinstance(message, Message):
            await message.reply_text(text, reply_markup=reply_markup)


async def show_outcome(update: Update, context: GridContext, outcome: ButtonOutcome) -> None:
    query = update.callback_query
    assert query is not None
    # The button's answer and the change to its message are independent requests: made at once,
    # a press waits for one round trip to Telegram instead of two. New messages come after both.
    answered = asyncio.ensure_future(answer_button(query, outcome.notice, outcome.alert))
    try:
        # A message's own buttons can only be inline ones (a reply keyboard is sent, never edited in).
        buttons = outcome.markup if isinstance(outcome.markup, InlineKeyboardMarkup) else None
        if outcome.edit_text is not None:
            await edit_or_send(query, outcome.edit_text, buttons)
        elif outcome.markup is not KEEP:
            try:
                await query.edit_message_reply_markup(buttons)
            except BadRequest as error:
                log.debug("buttons not changed: %s", error)
    finally:
        await answered
    if outcome.messages and update.effective_chat:
        await send_all(context.bot, update.effective_chat.id, outcome.messages)
