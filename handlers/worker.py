"""Grid workers and leaders in the chat: task buttons, reasons, after-photos, on site, /tasks."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers import keyboards
from handlers.callbacks import Pressed, button_data
from handlers.common import (
    ButtonOutcome,
    Context,
    Outgoing,
    esc,
    person_session,
    runtime,
    send_all,
    show_outcome,
    too_long,
    tr,
)
from handlers.fit import shorten
from handlers.full_text import fitted_card
from handlers.i18n import relative
from handlers.questions import Accepts, PhotoIn, Place
from handlers.runtime import Runtime
from handlers.task_card import card_buttons, card_text
from handlers.texts import category_label, state_name
from handlers.turn import Replies, Turn
from storage import cases, people, tasks
from storage.map_index import AreaIndex
from storage.models import Case, Person, Photo
from storage.tasks import TaskError
from storage.vocab import Question

log = logging.getLogger(__name__)

RESOLVING = Question.RESOLVING
NOT_MINE = Question.NOT_MINE
HAND_BACK = Question.HAND_BACK
ESCALATE = Question.ESCALATE
ON_SITE = Question.ON_SITE
REASON_QUESTIONS = (NOT_MINE, HAND_BACK, ESCALATE)


def _problem(_, error: TaskError) -> str:  # type: ignore[no-untyped-def]
    case = error.case
    texts = {
        "not_yours": _("This task is not for you: only the grid's workers and leader can act on it."),
        "not_holder": _("Only the person who holds this task can do that."),
        "taken": _("{name} has already taken this task on."),
        "state": _("Task {number} is already {state}; nothing was changed."),
        "nobody_above": _("There is nobody above to pass it to. Please call your dispatcher."),
        "not_assignable": _("That person is not a worker of this grid any more. Please choose again."),
        "unreachable": _("That person has blocked the bot and cannot get the task. Please choose someone else."),
        "never_opened": _("That person has never opened the bot, so the bot cannot send them the task. "
                          "Please choose someone else, or ask them to open the bot and press Start."),
        "no_photo": _("Please send at least one photo of the fixed problem first, then a short note."),
        "no_draft": _("Tap ✅ Resolve on the task first."),
    }
    return texts[error.reason].format(number=case.number if case else "", name=esc(error.other or ""),
                                      state=state_name(_, case.state) if case else "")


Action = Callable[[AsyncSession, Runtime, AreaIndex, Person, Case, Pressed], Awaitable[ButtonOutcome]]


async def on_task_button(update: Update, context: Context, pressed: Pressed) -> None:
    rt = runtime(context)
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        index = await rt.map.index(session)
        case = await cases.case_by_id(session, pressed.int_arg(0))
        if case is None or not await tasks.may_see_task(session, index, person.id, case):
            log.info("update %s: %s refused for person %s", update.update_id, pressed.action, person.id)
            outcome = ButtonOutcome(notice=_("This task is not for you: only the grid's workers and leader can act on it."),
                                    alert=True)
        else:
            try:
                outcome = await ACTIONS[pressed.action](session, rt, index, person, case, pressed)
            except TaskError as error:
                outcome = ButtonOutcome(notice=_problem(_, error), alert=True)
                if error.case is not None and error.reason != "not_yours":
                    outcome.edit_text, outcome.markup = await _card(session, rt, index, person, error.case.id)
    await show_outcome(update, context, outcome)


async def _card(session: AsyncSession, rt: Runtime, index: AreaIndex, person: Person,
                case_id: int) -> tuple[str, InlineKeyboardMarkup | None]:
    case = await cases.case_by_id(session, case_id)
    who = await tasks.standing(session, index, person.id, case)
    _ = tr(person)
    return fitted_card(_, await card_text(session, rt, index, person, case), card_buttons(_, case, who), case.id)


async def _redrawn(session: AsyncSession, rt: Runtime, index: AreaIndex, person: Person, case_id: int,
                   notice: str | None, messages: list[Outgoing] | None = None) -> ButtonOutcome:
    text, markup = await _card(session, rt, index, person, case_id)
    return ButtonOutcome(notice=notice, edit_text=text, markup=markup, messages=messages or [])


async def _accept(session, rt, index, person, case, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    await tasks.accept(session, index, case.id, person.id, rt.clock.now())
    return await _redrawn(session, rt, index, person, case.id, _("Accepted. The citizen has been told."))


async def _on_site(session, rt, index, person, case, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    await tasks.on_site(session, index, case.id, person.id, rt.clock.now())
    people.await_answer(person, ON_SITE, case.id)
    prompt = Outgoing(_("📍 Marked on site. To add your position, share your location now (optional)."),
                      keyboards.location_request(_))
    return await _redrawn(session, rt, index, person, case.id, _("On site"), [prompt])


async def _resolve(session, rt, index, person, case, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    await tasks.start_resolving(session, index, case.id, person.id, rt.clock.now())
    people.await_answer(person, RESOLVING, case.id)
    prompt = _("📷 Send one or more photos of the fixed problem (after), then type a short note for the citizen. "
               "/cancel to stop.")
    return ButtonOutcome(notice=_("Resolve: photos, then a note"), messages=[Outgoing(prompt)])


async def _ask_reason(session, rt, index, person, case, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    who = await tasks.standing(session, index, person.id, case)
    if not (who.holder or (pressed.action == "t:esc" and who.leader)):
        raise TaskError("not_holder", case)
    if case.state not in tasks.WORK_STATES and not (pressed.action == "t:esc" and case.state == "escalated"):
        raise TaskError("state", case)
    question, text = {
        "t:no": (NOT_MINE, _("Why is task <b>{number}</b> not yours? Type a few words; it goes back to whoever sent it. /cancel to stop.")),
        "t:back": (HAND_BACK, _("Why are you handing task <b>{number}</b> back? Type a few words. /cancel to stop.")),
        "t:esc": (ESCALATE, _("Why should task <b>{number}</b> go up a level? Type a few words. /cancel to stop.")),
    }[pressed.action]
    people.await_answer(person, question, case.id)
    return ButtonOutcome(messages=[Outgoing(text.format(number=case.number))])


async def _choose_worker(session, rt, index, person, case, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    who = await tasks.standing(session, index, person.id, case)
    if not who.leader:
        raise TaskError("not_holder", case)
    rows = []
    for worker, count in await tasks.grid_workers(session, index, case):
        label = _("{icon} {name} · {count} open").format(icon="👷", name=worker.name, count=count)
        rows.append([InlineKeyboardButton(shorten(label, 60), callback_data=button_data("t:to", case.id, worker.id))])
    if not rows:
        return ButtonOutcome(notice=_("Nobody on duty here"), alert=True)
    rows.append([InlineKeyboardButton(_("« Back"), callback_data=button_data("t:card", case.id))])
    return ButtonOutcome(markup=InlineKeyboardMarkup(rows))


async def _give(session, rt, index, person, case, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    _case, worker = await tasks.give_to_worker(session, index, case.id, person.id, pressed.int_arg(1), rt.clock.now())
    return await _redrawn(session, rt, index, person, case.id, _("Given to {name}.").format(name=worker.name))


async def _back_to_card(session, rt, index, person, case, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    return await _redrawn(session, rt, index, person, case.id, None)


async def _send_card(session, rt, index, person, case, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    await tasks.queue_card(session, person.id, case, rt.clock.now())
    return ButtonOutcome()


ACTIONS: dict[str, Action] = {
    "t:acc": _accept,
    "t:no": _ask_reason,
    "t:site": _on_site,
    "t:res": _resolve,
    "t:esc": _ask_reason,
    "t:back": _ask_reason,
    "t:give": _choose_worker,
    "t:to": _give,
    "t:card": _back_to_card,
    "t:open": _send_card,
}


# --- what a worker types or sends while a task question is open -----------------------------------


async def take_typed_answer(session: AsyncSession, rt: Runtime, person: Person, text: str) -> list[Outgoing]:
    """A reason (not mine, hand back, escalate), or the note that finishes a resolution."""
    _ = tr(person)
    question, case_id = person.awaiting, person.awaiting_ref
    answer = " ".join(text.split())
    if not answer or case_id is None:
        return [Outgoing(_("Please type a few words, or /cancel."))]
    refusal = too_long(_, answer, tasks.MAX_NOTE if question == RESOLVING else tasks.MAX_REASON)
    if refusal is not None:
        return [refusal]  # still waiting: the same question, shorter
    index = await rt.map.index(session)
    now = rt.clock.now()
    try:
        if question == RESOLVING:
            case = await tasks.finish_resolving(session, index, person.id, answer, now)
            done = _("✅ Task <b>{number}</b> is resolved. The citizen has been told and asked to rate it.").format(number=case.number)
        elif question == ESCALATE:
            case, target = await tasks.escalate(session, index, case_id, person.id, answer, now)
            done = _("⏫ Task <b>{number}</b> went up to {name}.").format(number=case.number, name=esc(target.name))
        else:
            case, target = await tasks.give_back(session, index, case_id, person.id, answer, now)
            done = _("↩️ Task <b>{number}</b> went back to {name}.").format(
                number=case.number, name=esc(target.name) if target else "-")
    except TaskError as error:
        if error.reason == "no_photo":
            return [Outgoing(_problem(_, error))]  # still resolving: photos first
        people.stop_awaiting(person)
        await tasks.drop_resolving(session, person.id)
        return [Outgoing(_problem(_, error), keyboards.main_menu(_))]
    people.stop_awaiting(person)
    return [Outgoing(done, keyboards.main_menu(_))]


async def take_after_photo(session: AsyncSession, person: Person, photo: Photo, caption: str | None,
                           media_group: str | None, rt: Runtime) -> list[Outgoing]:
    """An after-photo for the task being resolved; a caption finishes the resolution with it."""
    _ = tr(person)
    count = await tasks.add_after_photo(session, person.id, photo.id)
    if count is None:
        return [Outgoing(_("That is enough photos; now type a short note to finish."))]
    if caption and caption.strip():
        return await take_typed_answer(session, rt, person, caption)
    hints = person.hints or {}
    if media_group and hints.get("after_album") == media_group:
        return []  # one answer per album
    person.hints = {**hints, "after_album": media_group}
    return [Outgoing(_("📷 After-photo received ({count}). Send more, or type a short note to finish.").format(count=count))]


async def take_on_site_location(session: AsyncSession, rt: Runtime, person: Person, lat: float, lon: float) -> list[Outgoing]:
    _ = tr(person)
    case_id = person.awaiting_ref
    people.stop_awaiting(person)
    if case_id is not None:
        index = await rt.map.index(session)
        try:
            await tasks.add_position_to_on_site(session, index, case_id, person.id, lat, lon, rt.clock.now())
        except TaskError as error:
            return [Outgoing(_problem(_, error), keyboards.main_menu(_))]
    return [Outgoing(_("📍 Position added. Thank you."), keyboards.main_menu(_))]


# --- /tasks ---------------------------------------------------------------------------------------


async def show_tasks(update: Update, context: Context) -> None:
    rt = runtime(context)
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        index = await rt.map.index(session)
        if not await tasks.works_in_a_grid(session, person.id):
            message = Outgoing(_("Only grid workers and leaders have tasks. /whoami shows your roles."))
        else:
            shown, total = await tasks.open_tasks(session, index, person.id)
            message = _tasks_message(rt, person, shown, total)
    await send_all(context.bot, update.effective_chat.id, [message])


def _tasks_message(rt: Runtime, person: Person, shown: list[Case], total: int) -> Outgoing:
    _ = tr(person)
    if not shown:
        return Outgoing(_("No open tasks. 👍"))
    now = rt.clock.now()
    lines = [_("📋 <b>Open tasks: {count}</b>").format(count=total)]
    buttons = []
    for i, case in enumerate(shown, 1):
        overdue = case.deadline_at <= now
        mark = "⚠️ " if overdue else ""
        when = relative(case.deadline_at - now, person.language)
        line = _("{n}. {mark}<b>{number}</b> · {category} · {state} · due {when}").format(
            n=i, mark=mark, number=case.number, category=esc(category_label(rt, case.category_code, person.language)),
            state=state_name(_, case.state), when=when)
        if case.assignee_id not in (None, person.id):
            line += " · " + _("not yours")
        lines.append(line)
        buttons.append(InlineKeyboardButton(f"{mark}📂 {case.number}", callback_data=button_data("t:open", case.id)))
    if total > len(shown):
        lines.append(_("… and {count} more.").format(count=total - len(shown)))
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return Outgoing("\n".join(lines), InlineKeyboardMarkup(rows))


async def _typed(turn: Turn, text: str) -> Replies:
    return await take_typed_answer(turn.session, turn.rt, turn.person, text)


async def _after_photo(turn: Turn, sent: PhotoIn) -> Replies:
    return await take_after_photo(turn.session, turn.person, sent.photo, sent.caption, sent.media_group, turn.rt)


async def _on_site_place(turn: Turn, place: Place) -> Replies:
    return await take_on_site_location(turn.session, turn.rt, turn.person, place.lat, place.lon)


ANSWERS = {
    Question.RESOLVING: Accepts(text=_typed, photo=_after_photo),
    Question.NOT_MINE: Accepts(text=_typed),
    Question.HAND_BACK: Accepts(text=_typed),
    Question.ESCALATE: Accepts(text=_typed),
    Question.ON_SITE: Accepts(place=_on_site_place, place_optional=True),
}
