"""A citizen's first contact and the main menu (/start, /help, /language), and what a person sends
outside a button: typed text, a place, or something the bot cannot take.

Text and places go to `handlers/answers.py` (the open question, else the report), pictures come
through `handlers/picture_intake.py` to the same router.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import Message, Update
from telegram.constants import ChatMemberStatus, ChatType

from handlers import answers, callout_plans, citizen_cases, citizen_report, keyboards, onboarding
from handlers.buttons import Button, ChooseLanguage
from handlers.common import greeting, help_text
from handlers.questions import Place
from handlers.turn import ButtonOutcome, GridContext, Outgoing, PressHandler, Replies, Turn, press_step
from storage import people, routing
from storage.points import is_valid_point
from storage.vocab import N_, Language, LocationSource

log = logging.getLogger(__name__)

NOT_A_PLACE = N_("📍 That location is not a real place on the map, so it was not taken. Please share your location again.")


async def start(turn: Turn, message: Message) -> Replies:
    """/start greets; /start <token> is an invite link being opened."""
    words = (message.text or "").split()[1:]
    if words:
        return await onboarding.redeem(turn, words[0])
    _ = turn._
    return [Outgoing(greeting(_, turn.person.name), await turn.menu()), *await onboarding.work_waiting(turn)]


async def show_help(turn: Turn, _message: Message) -> Replies:
    _ = turn._
    return [Outgoing(help_text(_), await turn.menu())]


async def choose_language(turn: Turn, _message: Message) -> Replies:
    return [Outgoing(turn._("Choose your language:"), keyboards.languages())]


async def language_chosen(turn: Turn, pressed: ChooseLanguage) -> ButtonOutcome:
    if pressed.code not in keyboards.LANGUAGE_NAMES:
        return ButtonOutcome(notice=turn._("This button is not valid."))
    people.choose_language(turn.person, Language(pressed.code))
    _ = turn._  # in the language just chosen
    return ButtonOutcome(
        edit_text=_("Language: English"),
        markup=None,
        messages=[Outgoing(_("The menu below is now in English."), await turn.menu())],
    )


PRESSES: dict[type[Button], PressHandler] = {ChooseLanguage: press_step(language_chosen)}

MENU: dict[str, Callable[[Turn, Message], Awaitable[Replies]]] = {
    "report": citizen_report.start_report,
    "mycases": citizen_cases.my_cases,
    "language": choose_language,
    "help": show_help,
    "plans": callout_plans.open_plans,
}


async def on_text(turn: Turn, message: Message) -> Replies:
    """Typed text: a menu button, else the answer to a question, the current report step, or a hint."""
    text = message.text or ""
    action = keyboards.menu_action(text)
    if action is not None:
        return await MENU[action](turn, message)
    return await answers.answer_text(turn, text)


async def on_place(turn: Turn, message: Message) -> Replies:
    """A shared location, a pin chosen on the map, or a venue: the answer to a question, or the report's place."""
    venue = message.venue
    location = venue.location if venue else message.location
    assert location is not None
    if not is_valid_point(location.latitude, location.longitude):
        # Only a forged or broken client sends these; whatever waits for a location keeps waiting.
        log.warning("update %s: location refused: %r, %r", turn.update_id, location.latitude, location.longitude)
        return await citizen_report.refused(turn, turn._(NOT_A_PLACE))
    source = LocationSource.VENUE if venue else (LocationSource.LIVE if location.live_period else LocationSource.SHARED)
    name = ", ".join(part for part in (venue.title, venue.address) if part) if venue else None
    live_for = location.live_period
    if isinstance(live_for, timedelta):  # PTB gives seconds, or a timedelta once asked to
        live_for = int(live_for.total_seconds())
    place = Place(location.latitude, location.longitude, source, name, live_for, message.message_id)
    return await answers.answer_place(turn, place)


async def on_unsupported(turn: Turn, _message: Message) -> Replies:
    """Stickers, voice, video and the like: one polite line (not one per message), and the report goes on."""
    if not people.claim_hint(turn.person, "unsupported", turn.now):
        return []
    return await citizen_report.refused(turn, turn._("Sorry, I can only take photos, a location and text."))


async def unknown_command(turn: Turn, _message: Message) -> Replies:
    _ = turn._
    return [Outgoing(_("I do not know that command.") + "\n\n" + help_text(_))]


async def on_membership(update: Update, context: GridContext) -> None:
    """Telegram tells us when a person blocks the bot (kicked) or starts it again (member).
    No turn: the person is not touched, which would count as hearing from them."""
    change = update.my_chat_member
    if change is None or change.chat.type != ChatType.PRIVATE:
        return
    rt = context.rt
    status = change.new_chat_member.status
    async with rt.store.transaction() as session:
        if status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT):
            person = await people.person_by_tg_id(session, change.from_user.id)
            if person is not None:
                await routing.holder_blocked_bot(session, await rt.map.index(session), person.id, rt.clock.now())
        elif status == ChatMemberStatus.MEMBER:
            await people.mark_unblocked_by_tg_id(session, change.from_user.id)
