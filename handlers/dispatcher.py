"""Dispatchers in the chat: the buttons on a case card, typed reasons and numbers, and /queue."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

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
from handlers.dispatch_card import REJECT_REASONS, card_buttons, card_text, why_it_came
from handlers.fit import shorten
from handlers.full_text import fitted_card
from handlers.i18n import Translate, duration, translator
from handlers.questions import Accepts
from handlers.runtime import Runtime
from handlers.texts import category_label, state_name
from handlers.turn import Replies, Turn
from storage import areas, cases, dispatch, outbox, people
from storage.dispatch import DispatchError, Scope
from storage.map_index import AreaIndex
from storage.models import Case, Person
from storage.vocab import Question

log = logging.getLogger(__name__)

REJECT_REASON = Question.REJECT_REASON
DUPLICATE_NUMBER = Question.DUPLICATE_NUMBER
MAX_AREA_BUTTONS = 40


def _problem(_: Translate, error: DispatchError) -> str:
    case = error.case
    number = case.number if case else ""
    texts = {
        "not_yours": _("Only a dispatcher of this case's area can do that."),
        "state": _("Case {number} is already {state}; nothing was changed."),
        "not_assignable": _("That person no longer works in your area. Please choose again."),
        "unreachable": _("That person has blocked the bot and cannot get the task. Please choose someone else."),
        "never_opened": _("That person has never opened the bot, so the bot cannot send them the task. "
                          "Please choose someone else, or ask them to open the bot and press Start."),
        "no_such_case": _("There is no case with that number. Check it and type it again, or /cancel."),
        "same_case": _("That is this case's own number. Type the number of the earlier case, or /cancel."),
        "original_closed": _("Case {number} is already finished, so it cannot be the original. Reject this case instead."),
    }
    return texts[error.reason].format(number=number, state=state_name(_, case.state) if case else "")


Action = Callable[[AsyncSession, Runtime, AreaIndex, Person, Case, Pressed], Awaitable[ButtonOutcome]]


async def on_dispatch_button(update: Update, context: Context, pressed: Pressed) -> None:
    """Every dispatcher button: the presser's role and the case's state are checked again first."""
    rt = runtime(context)
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        index = await rt.map.index(session)
        case = await cases.case_by_id(session, pressed.int_arg(0))
        if case is None or not await dispatch.may_dispatch(session, index, person.id, case):
            log.info("update %s: %s refused for person %s", update.update_id, pressed.action, person.id)
            outcome = ButtonOutcome(notice=_("Only a dispatcher of this case's area can do that."), alert=True)
        else:
            try:
                outcome = await ACTIONS[pressed.action](session, rt, index, person, case, pressed)
            except DispatchError as error:
                outcome = await _refused(session, rt, index, person, error)
    await show_outcome(update, context, outcome)


async def _refused(session: AsyncSession, rt: Runtime, index: AreaIndex, person: Person, error: DispatchError) -> ButtonOutcome:
    """Say why nothing happened, and redraw the card as the case now stands."""
    _ = tr(person)
    outcome = ButtonOutcome(notice=_problem(_, error), alert=True)
    if error.case is not None and error.reason in ("state", "not_assignable", "unreachable", "never_opened"):
        case = await cases.case_by_id(session, error.case.id)
        outcome.edit_text, outcome.markup = fitted_card(_, await card_text(session, rt, index, person, case),
                                                        card_buttons(_, case), case.id)
    return outcome


async def _redrawn(session: AsyncSession, rt: Runtime, index: AreaIndex, person: Person, case: Case,
                   notice: str | None) -> ButtonOutcome:
    _ = tr(person)
    text, markup = fitted_card(_, await card_text(session, rt, index, person, case), card_buttons(_, case), case.id)
    return ButtonOutcome(notice=notice, edit_text=text, markup=markup)


async def _accept(session, rt, index, person, case, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    case = await dispatch.accept_as_is(session, index, case.id, person.id, rt.clock.now())
    return await _redrawn(session, rt, index, person, case, _("Accepted. Now assign it, or decide later from /queue."))


# --- assigning ---------------------------------------------------------------------------------


def _start_area(index: AreaIndex, scope: Scope, case: Case) -> str | None:
    """Where choosing a person begins: the case's grid when the dispatcher covers it, else the
    deepest area of the case they cover, else their own area; None when they have no area at all
    (an admin before any map is imported)."""
    if case.area_code is not None:
        for code in index.chain(case.area_code):
            if index.level_of(code) in ("grid", "community", "street", "district") and scope.covers(index, code):
                return code
    return min(scope.areas, default=None)


async def _area_picker(session: AsyncSession, index: AreaIndex, scope: Scope, _: Translate, case: Case,
                       code: str) -> InlineKeyboardMarkup:
    """People of a grid with their open cases, or the areas inside a larger area, and the way back up."""
    rows: list[list[InlineKeyboardButton]] = []
    if index.level_of(code) == "grid":
        for person, role, count in await dispatch.assignable_people(session, code):
            icon = "👷" if role == "worker" else "🧑‍💼"
            label = _("{icon} {name} · {count} open").format(icon=icon, name=person.name, count=count)
            rows.append([InlineKeyboardButton(shorten(label, 60), callback_data=button_data("d:to", case.id, person.id))])
        if not rows:
            rows.append([InlineKeyboardButton(_("Nobody on duty here"), callback_data=button_data("d:in", case.id, code))])
    else:
        inside = [c for c in index.children_of(code) if index.level_of(c) != "microgrid"][:MAX_AREA_BUTTONS]
        names = await areas.area_names(session, inside)
        buttons = [InlineKeyboardButton(shorten(names.get(c, c), 30), callback_data=button_data("d:in", case.id, c)) for c in inside]
        rows += [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    parent = index.parent_of.get(code)
    last = [InlineKeyboardButton(_("« Back"), callback_data=button_data("d:back", case.id))]
    if parent is not None and scope.covers(index, parent):
        last.insert(0, InlineKeyboardButton(_("⬆️ Up"), callback_data=button_data("d:in", case.id, parent)))
    rows.append(last)
    return InlineKeyboardMarkup(rows)


async def _choose_assignee(session, rt, index, person, case, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    if "assigned" not in cases.TRANSITIONS[case.state]:
        raise DispatchError("state", case)
    scope = await dispatch.scope_of(session, index, person.id)
    code = pressed.args[1] if pressed.action == "d:in" else _start_area(index, scope, case)
    if code is None:
        return ButtonOutcome(notice=_("No map yet, so there is nobody to give it to. Import one on the server: "
                                      "gridline grids import FILE"), alert=True)
    if code not in index.position or not scope.covers(index, code):
        return ButtonOutcome(notice=_("This button is not valid."))
    names = await areas.area_names(session, [code])
    return ButtonOutcome(notice=_("Choose who gets it in {area}").format(area=names.get(code, code)),
                         markup=await _area_picker(session, index, scope, _, case, code))


async def _assign(session, rt, index, person, case, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    case, assignee = await dispatch.assign_to(session, index, case.id, person.id, pressed.int_arg(1), rt.clock.now())
    return await _redrawn(session, rt, index, person, case, _("Given to {name}.").format(name=assignee.name))


# --- rejecting and duplicates -------------------------------------------------------------------


async def _choose_reason(session, rt, index, person, case, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    if "rejected" not in cases.TRANSITIONS[case.state]:
        raise DispatchError("state", case)
    rows = [[InlineKeyboardButton(shorten(_(reason), 60), callback_data=button_data("d:rjr", case.id, i))]
            for i, reason in enumerate(REJECT_REASONS)]
    rows.append([InlineKeyboardButton(_("✏️ Type a reason"), callback_data=button_data("d:rjt", case.id))])
    rows.append([InlineKeyboardButton(_("« Back"), callback_data=button_data("d:back", case.id))])
    return ButtonOutcome(notice=_("Why is it not accepted? The citizen will read this."), markup=InlineKeyboardMarkup(rows))


async def _reject_for_usual_reason(session, rt, index, person, case, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    which = pressed.int_arg(1)
    if which >= len(REJECT_REASONS):
        return ButtonOutcome(notice=_("This button is not valid."))
    reporter = await people.person_by_id(session, case.reporter_id)
    # The reason is kept as the reporter will read it.
    reason = translator(reporter.language if reporter else person.language)(REJECT_REASONS[which])
    case = await dispatch.reject(session, index, case.id, person.id, reason, rt.clock.now())
    return await _redrawn(session, rt, index, person, case, _("Not accepted; the citizen has been told why."))


async def _ask_typed(session, rt, index, person, case, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    target = "rejected"
    if target not in cases.TRANSITIONS[case.state]:
        raise DispatchError("state", case)
    if pressed.action == "d:rjt":
        people.await_answer(person, REJECT_REASON, case.id)
        text = _("Type why case <b>{number}</b> is not accepted. The citizen will read it. /cancel to stop.")
    else:
        people.await_answer(person, DUPLICATE_NUMBER, case.id)
        text = _("Type the number of the earlier case that <b>{number}</b> repeats, e.g. 261123-0042. /cancel to stop.")
    return ButtonOutcome(messages=[Outgoing(text.format(number=case.number))])


async def _choose_original(session, rt, index, person, case, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    if "rejected" not in cases.TRANSITIONS[case.state]:
        raise DispatchError("state", case)
    rows = []
    for original, metres in await dispatch.nearby_originals(session, case):
        label = _("{number} · {category} · {metres} m").format(
            number=original.number, category=category_label(rt, original.category_code, person.language), metres=round(metres))
        rows.append([InlineKeyboardButton(shorten(label, 60), callback_data=button_data("d:dpo", case.id, original.id))])
    rows.append([InlineKeyboardButton(_("✏️ Type the number"), callback_data=button_data("d:dpt", case.id))])
    rows.append([InlineKeyboardButton(_("« Back"), callback_data=button_data("d:back", case.id))])
    notice = _("Open cases nearby are listed; or type the number.") if len(rows) > 2 else _("No open case nearby; type the number.")
    return ButtonOutcome(notice=notice, markup=InlineKeyboardMarkup(rows))


async def _duplicate_of_pressed(session, rt, index, person, case, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    original = await cases.case_by_id(session, pressed.int_arg(1))
    if original is None or not await dispatch.may_name_original(session, index, person.id, case, original):
        log.warning("duplicate of case %s refused for person %s: not offered", pressed.args[1], person.id)
        return ButtonOutcome(notice=_("This button is not valid."))
    case, original = await dispatch.mark_duplicate(session, index, case.id, person.id, original.number, rt.clock.now())
    notice = _("Marked as the same as {number}; its reporters now follow that case.").format(number=original.number)
    return await _redrawn(session, rt, index, person, case, notice)


async def _back_to_card(session, rt, index, person, case, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    return await _redrawn(session, rt, index, person, case, None)


async def _send_card(session, rt, index, person, case, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    await outbox.enqueue(session, person.id, outbox.DispatchCardPayload(case.id), rt.clock.now())
    return ButtonOutcome()


ACTIONS: dict[str, Action] = {
    "d:acc": _accept,
    "d:asg": _choose_assignee,
    "d:in": _choose_assignee,
    "d:to": _assign,
    "d:rej": _choose_reason,
    "d:rjr": _reject_for_usual_reason,
    "d:rjt": _ask_typed,
    "d:dup": _choose_original,
    "d:dpo": _duplicate_of_pressed,
    "d:dpt": _ask_typed,
    "d:back": _back_to_card,
    "d:card": _send_card,
}


# --- typed answers -------------------------------------------------------------------------------


async def take_typed_answer(session: AsyncSession, rt: Runtime, person: Person, text: str) -> list[Outgoing]:
    """A reason for not accepting a case, or the number of the case it repeats."""
    _ = tr(person)
    question, case_id = person.awaiting, person.awaiting_ref
    answer = text.strip()
    if case_id is None or not answer:
        people.stop_awaiting(person)
        return []
    if question == REJECT_REASON and (refusal := too_long(_, answer, dispatch.MAX_REASON)) is not None:
        return [refusal]  # still waiting for a reason that fits
    index = await rt.map.index(session)
    try:
        if question == REJECT_REASON:
            case = await dispatch.reject(session, index, case_id, person.id, answer, rt.clock.now())
            done = _("⛔ Case <b>{number}</b> is not accepted; the citizen has been told why.").format(number=case.number)
        else:
            case, original = await dispatch.mark_duplicate(session, index, case_id, person.id, answer, rt.clock.now())
            done = _("🔗 Case <b>{number}</b> is marked as the same as <b>{original}</b>; its reporters now follow "
                     "that case.").format(number=case.number, original=original.number)
    except DispatchError as error:
        if error.reason in ("no_such_case", "same_case"):
            return [Outgoing(_problem(_, error))]  # still waiting for a good number
        people.stop_awaiting(person)
        return [Outgoing(_problem(_, error))]
    people.stop_awaiting(person)
    return [Outgoing(done)]


# --- /queue ------------------------------------------------------------------------------------


async def show_queue(update: Update, context: Context) -> None:
    rt = runtime(context)
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        index = await rt.map.index(session)
        if not await dispatch.scope_of(session, index, person.id):
            message = Outgoing(_("Only dispatchers have a queue. /whoami shows your roles."))
        else:
            waiting = await dispatch.waiting_for(session, index, person.id)
            message = _queue_message(rt, person, waiting)
    await send_all(context.bot, update.effective_chat.id, [message])


def _queue_message(rt: Runtime, person: Person, waiting: list[Case]) -> Outgoing:
    _ = tr(person)
    if not waiting:
        return Outgoing(_("Nothing is waiting for you. 👍"))
    now = rt.clock.now()
    lines = [_("🗂 <b>Waiting for you: {count}</b>").format(count=len(waiting))]
    buttons = []
    for i, case in enumerate(waiting, 1):
        age = duration(now - case.created_at, person.language)
        lines.append(_("{n}. <b>{number}</b> · {category} · {why} · {age} ago").format(
            n=i, number=case.number, category=esc(category_label(rt, case.category_code, person.language)),
            why=why_it_came(_, case) if case.state in ("reported", "escalated") else state_name(_, case.state), age=age))
        buttons.append(InlineKeyboardButton(f"📂 {case.number}", callback_data=button_data("d:card", case.id)))
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    return Outgoing("\n".join(lines), InlineKeyboardMarkup(rows))


async def _typed(turn: Turn, text: str) -> Replies:
    return await take_typed_answer(turn.session, turn.rt, turn.person, text)


ANSWERS = {
    Question.REJECT_REASON: Accepts(text=_typed),
    Question.DUPLICATE_NUMBER: Accepts(text=_typed),
}
