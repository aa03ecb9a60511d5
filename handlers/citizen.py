"""A citizen's first contact and the main menu: /start, /help, /language, typed text and odd messages."""

from __future__ import annotations

import logging

from telegram import Update

from handlers import (
    answers,
    citizen_cases,
    citizen_report,
    keyboards,
    onboarding,
)
from handlers.callbacks import Pressed
from handlers.common import (
    ButtonOutcome,
    Context,
    Outgoing,
    greeting,
    help_text,
    person_session,
    runtime,
    send_all,
    show_outcome,
    tr,
)
from handlers.turn import Replies, Turn, run_turn
from storage import drafts, people, routing

log = logging.getLogger(__name__)


async def start(update: Update, context: Context) -> None:
    """/start greets; /start <token> is an invite link being opened."""
    if context.args:
        await onboarding.redeem(update, context, context.args[0])
        return
    rt = runtime(context)
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        messages = [Outgoing(greeting(_, person.name), keyboards.main_menu(_))]
        messages += await onboarding.work_waiting(session, rt, person)
    await send_all(context.bot, update.effective_chat.id, messages)


async def show_help(update: Update, context: Context) -> None:
    async with person_session(update, context) as (_session, person):
        _ = tr(person)
    await send_all(context.bot, update.effective_chat.id, [Outgoing(help_text(_), keyboards.main_menu(_))])


async def choose_language(update: Update, context: Context) -> None:
    async with person_session(update, context) as (_session, person):
        _ = tr(person)
    await send_all(context.bot, update.effective_chat.id, [Outgoing(_("Choose your language:"), keyboards.languages())])


async def on_language_button(update: Update, context: Context, pressed: Pressed) -> None:
    language = pressed.args[0]
    async with person_session(update, context) as (session, person):
        if language not in keyboards.LANGUAGE_NAMES:
            _ = tr(person)
            outcome = ButtonOutcome(notice=_("This button is not valid."))
        else:
            await people.choose_language(session, person.id, language)
            person.language = language
            _ = tr(person)
            outcome = ButtonOutcome(
                edit_text=_("Language: English"),
                markup=None,
                messages=[Outgoing(_("The menu below is now in English."), keyboards.main_menu(_))],
            )
    await show_outcome(update, context, outcome)


MENU = {
    "report": citizen_report.start_report,
    "mycases": citizen_cases.my_cases,
    "language": choose_language,
    "help": show_help,
}


async def on_text(update: Update, context: Context) -> None:
    """Typed text: a menu button, the answer to a question, the current report step, or a hint."""
    text = update.effective_message.text or ""
    action = keyboards.menu_action(text)
    if action is not None:
        await MENU[action](update, context)
        return
    await send_all(context.bot, update.effective_chat.id, await run_turn(update, context, lambda turn: _typed(turn, text)))


async def _typed(turn: Turn, text: str) -> Replies:
    _ = turn._
    answered = await answers.answer_text(turn, text)
    if answered is not None:
        return answered
    if (draft := await drafts.open_draft(turn.session, turn.person.id)) is not None:
        return await citizen_report.report_text(turn.session, turn.rt, draft, turn.person, text)
    if people.claim_hint(turn.person, "idle_text", turn.now):
        return [Outgoing(_("To report a problem, send a photo of it or tap 📷 Report a problem."), keyboards.main_menu(_))]
    return []


async def on_unsupported(update: Update, context: Context) -> None:
    """Stickers, voice, video and the like: one polite line (not one per message), and the report goes on."""
    rt = runtime(context)
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        show = people.claim_hint(person, "unsupported", rt.clock.now())
        reminder = await citizen_report.reminder_of_step(session, person, _) if show else ""
    if show:
        text = _("Sorry, I can only take photos, a location and text.") + reminder
        await send_all(context.bot, update.effective_chat.id, [Outgoing(text)])


async def on_membership(update: Update, context: Context) -> None:
    """Telegram tells us when a person blocks the bot (kicked) or starts it again (member)."""
    change = update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    rt = runtime(context)
    status = change.new_chat_member.status
    async with rt.store.transaction() as session:
        if status in ("kicked", "left"):
            person = await people.person_by_tg_id(session, change.from_user.id)
            if person is not None:
                await routing.holder_blocked_bot(session, await rt.map.index(session), person.id, rt.clock.now())
        elif status == "member":
            await people.mark_unblocked_by_tg_id(session, change.from_user.id)


async def unknown_command(update: Update, context: Context) -> None:
    async with person_session(update, context) as (_session, person):
        _ = tr(person)
    await send_all(context.bot, update.effective_chat.id, [Outgoing(_("I do not know that command.") + "\n\n" + help_text(_))])
