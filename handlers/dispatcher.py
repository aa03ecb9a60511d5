"""Dispatchers in the chat: the decisions on a case card, the reasons and numbers they type, and /queue.

A case comes to a dispatcher when no rule could place it (a typed address, a point off the map, a
grid with nobody on duty), or when it is passed up. The card's buttons are
`storage.policy.dispatch_actions`, and the store checks every press and every typed answer again by
the same rules.

```mermaid
stateDiagram-v2
    [*] --> Card: a dispatch card (reported, accepted, escalated, reopened)
    Card --> Card: ✅ Accept as is (decide later from /queue)
    Card --> Picking: 👷 Assign
    Picking --> Picking: an area, ⬆️ Up
    Picking --> Assigned: a worker or leader of a grid
    Card --> Reasons: ⛔ Reject
    Reasons --> Rejected: a usual reason
    Reasons --> REJECT_REASON: ✏️ Type a reason
    REJECT_REASON --> Rejected: a reason the citizen will read
    Card --> Originals: 🔗 Duplicate of…
    Originals --> Duplicate: an open case nearby
    Originals --> DUPLICATE_NUMBER: ✏️ Type the number
    DUPLICATE_NUMBER --> DUPLICATE_NUMBER: no such case, or this one
    DUPLICATE_NUMBER --> Duplicate: the earlier case's number
    Picking --> Card: « Back
    Reasons --> Card: « Back
    Originals --> Card: « Back
    Assigned --> [*]
    Rejected --> [*]
    Duplicate --> [*]
```

The states in capitals are questions (`storage.vocab.Question`); /cancel leaves either of them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import InlineKeyboardMarkup, Message

from handlers import keyboards
from handlers.buttons import (
    AcceptCase,
    AskOriginal,
    AskRejectReason,
    AssigneesInside,
    AssignTo,
    BackToDispatchCard,
    Button,
    ChooseAssignee,
    DuplicateOf,
    DuplicateTypedNumber,
    RejectForReason,
    RejectTypedReason,
    SendDispatchCard,
)
from handlers.dispatch_card import ASKS_WHY, REJECT_REASONS, card_buttons, card_text, why_it_came
from handlers.fit import escape
from handlers.full_text import fitted_card
from handlers.i18n import Translate, duration, translator
from handlers.questions import Accepts
from handlers.texts import category_label, state_name
from handlers.turn import ButtonOutcome, Outgoing, PressHandler, Replies, Turn, press_step
from handlers.typed_text import too_long
from storage import areas, cases, dispatch, people
from storage.dispatch import DispatchError, Scope
from storage.map_index import AreaIndex
from storage.models import Case
from storage.policy import DispatchAction, DispatchRefusal
from storage.vocab import Level, Question
from storage.vocab import Role as RoleName

log = logging.getLogger(__name__)

MAX_AREA_BUTTONS = 40
# A refusal that leaves the case where it was shows the card again as it now stands.
REDRAWN_AFTER = (DispatchRefusal.STATE, DispatchRefusal.NOT_ASSIGNABLE, DispatchRefusal.UNREACHABLE,
                 DispatchRefusal.NEVER_OPENED)
# A typed number that names no case (this dispatcher may name) is asked for again.
ASKED_AGAIN = (DispatchRefusal.NO_SUCH_CASE, DispatchRefusal.SAME_CASE)


def _problem(_: Translate, error: DispatchError) -> str:
    case = error.case
    number = case.number if case else ""
    texts = {
        DispatchRefusal.NOT_YOURS: _("Only a dispatcher of this case's area can do that."),
        DispatchRefusal.STATE: _("Case {number} is already {state}; nothing was changed."),
        DispatchRefusal.NOT_ASSIGNABLE: _("That person no longer works in your area. Please choose again."),
        DispatchRefusal.UNREACHABLE: _("That person has blocked the bot and cannot get the task. Please choose someone else."),
        DispatchRefusal.NEVER_OPENED: _("That person has never opened the bot, so the bot cannot send them the task. "
                                        "Please choose someone else, or ask them to open the bot and press Start."),
        DispatchRefusal.NO_SUCH_CASE: _("There is no case with that number. Check it and type it again, or /cancel."),
        DispatchRefusal.SAME_CASE: _("That is this case's own number. Type the number of the earlier case, or /cancel."),
        DispatchRefusal.ORIGINAL_CLOSED: _("Case {number} is already finished, so it cannot be the original. "
                                           "Reject this case instead."),
    }
    return texts[error.reason].format(number=number, state=state_name(_, case.state) if case else "")


# --- the case card's buttons ------------------------------------------------------------------------

CaseButton = TypeVar("CaseButton", bound=AcceptCase | ChooseAssignee | AssigneesInside | AssignTo |
                                         AskRejectReason | RejectForReason | RejectTypedReason |
                                         AskOriginal | DuplicateOf | DuplicateTypedNumber |
                                         BackToDispatchCard | SendDispatchCard)
CaseStep = Callable[[Turn, Case, CaseButton], Awaitable[ButtonOutcome]]


def _on_case(step: CaseStep[CaseButton]) -> PressHandler:
    """A dispatcher's button step, given the case once the presser may decide on it (a dispatcher of
    its area, or holding it). A decision the store refuses says why, over the card as it now stands."""

    async def checked(turn: Turn, pressed: CaseButton) -> ButtonOutcome:
        case = await cases.case_by_id(turn.session, pressed.case)
        try:
            if case is None or not await dispatch.may_dispatch(turn.session, await turn.index(), turn.person.id, case):
                log.info("update %s: %s refused for person %s", turn.update_id, pressed.PREFIX, turn.person.id)
                raise DispatchError(DispatchRefusal.NOT_YOURS)
            return await step(turn, case, pressed)
        except DispatchError as error:
            outcome = ButtonOutcome(notice=_problem(turn._, error), alert=True)
            if error.case is not None and error.reason in REDRAWN_AFTER:
                outcome.edit_text, outcome.markup = await _card(turn, error.case.id)
            return outcome

    return press_step(checked)


async def _card(turn: Turn, case_id: int) -> tuple[str, InlineKeyboardMarkup | None]:
    case = await cases.case_by_id(turn.session, case_id)
    assert case is not None  # a case is never deleted
    text = await card_text(turn.session, turn.rt, await turn.index(), turn.person, case)
    return fitted_card(turn._, text, card_buttons(turn._, case), case.id)


async def _redrawn(turn: Turn, case_id: int, notice: str | None) -> ButtonOutcome:
    text, markup = await _card(turn, case_id)
    return ButtonOutcome(notice=notice, edit_text=text, markup=markup)


async def accept(turn: Turn, case: Case, pressed: AcceptCase) -> ButtonOutcome:
    await dispatch.accept_as_is(turn.session, await turn.index(), case.id, turn.person.id, turn.now)
    return await _redrawn(turn, case.id, turn._("Accepted. Now assign it, or decide later from /queue."))


# --- assigning ---------------------------------------------------------------------------------------


async def _picker(turn: Turn, index: AreaIndex, scope: Scope, case: Case, code: str) -> InlineKeyboardMarkup:
    """People of a grid with their open cases, or the areas inside a larger area, and the way back up."""
    parent = index.parent_of.get(code)
    up = parent if parent is not None and scope.covers(index, parent) else None
    if index.level_of(code) == Level.GRID:
        found = [(person.id, person.name, role == RoleName.WORKER, count)
                 for person, role, count in await dispatch.assignable_people(turn.session, code)]
        return keyboards.grid_people(turn._, case.id, code, found, up)
    inside = [c for c in index.children_of(code) if index.level_of(c) != Level.MICROGRID][:MAX_AREA_BUTTONS]
    names = await areas.area_names(turn.session, inside)
    return keyboards.areas_to_assign_in(turn._, case.id, [(c, names.get(c, c)) for c in inside], up)


async def choose_assignee(turn: Turn, case: Case, pressed: ChooseAssignee | AssigneesInside) -> ButtonOutcome:
    """Where to look for whom to give the case to: the case's grid at first, then the area pressed."""
    _ = turn._
    dispatch.check(DispatchAction.ASSIGN, case)
    index = await turn.index()
    scope = await dispatch.scope_of(turn.session, index, turn.person.id)
    code = pressed.area if isinstance(pressed, AssigneesInside) else dispatch.start_area(index, scope, case)
    if code is None:
        return ButtonOutcome(notice=_("No map yet, so there is nobody to give it to. Import one on the server: "
                                      "gridline grids import FILE"), alert=True)
    if code not in index.position or not scope.covers(index, code):
        return ButtonOutcome(notice=_("This button is not valid."))
    names = await areas.area_names(turn.session, [code])
    return ButtonOutcome(notice=_("Choose who gets it in {area}").format(area=names.get(code, code)),
                         markup=await _picker(turn, index, scope, case, code))


async def assign(turn: Turn, case: Case, pressed: AssignTo) -> ButtonOutcome:
    _case, assignee = await dispatch.assign_to(turn.session, await turn.index(), case.id, turn.person.id,
                                               pressed.person, turn.now)
    return await _redrawn(turn, case.id, turn._("Given to {name}.").format(name=assignee.name))


# --- rejecting and duplicates ------------------------------------------------------------------------


async def choose_reason(turn: Turn, case: Case, pressed: AskRejectReason) -> ButtonOutcome:
    dispatch.check(DispatchAction.REJECT, case)
    return ButtonOutcome(notice=turn._("Why is it not accepted? The citizen will read this."),
                         markup=keyboards.reject_reasons(turn._, case.id, REJECT_REASONS))


async def reject_for_usual_reason(turn: Turn, case: Case, pressed: RejectForReason) -> ButtonOutcome:
    if pressed.reason >= len(REJECT_REASONS):
        return ButtonOutcome(notice=turn._("This button is not valid."))
    reporter = await people.person_by_id(turn.session, case.reporter_id) if case.reporter_id is not None else None
    # The reason is kept as the reporter will read it.
    reason = translator(reporter.language if reporter else turn.person.language)(REJECT_REASONS[pressed.reason])
    await dispatch.reject(turn.session, await turn.index(), case.id, turn.person.id, reason, turn.now)
    return await _redrawn(turn, case.id, turn._("Not accepted; the citizen has been told why."))


async def ask_typed_reason(turn: Turn, case: Case, pressed: RejectTypedReason) -> ButtonOutcome:
    dispatch.check(DispatchAction.REJECT, case)
    text = turn._("Type why case <b>{number}</b> is not accepted. The citizen will read it. /cancel to stop.")
    return _ask(turn, Question.REJECT_REASON, case, text)


async def ask_typed_number(turn: Turn, case: Case, pressed: DuplicateTypedNumber) -> ButtonOutcome:
    dispatch.check(DispatchAction.DUPLICATE, case)
    text = turn._("Type the number of the earlier case that <b>{number}</b> repeats, e.g. 261123-0042. /cancel to stop.")
    return _ask(turn, Question.DUPLICATE_NUMBER, case, text)


def _ask(turn: Turn, question: Question, case: Case, text: str) -> ButtonOutcome:
    people.await_answer(turn.person, question, case.id)
    return ButtonOutcome(messages=[Outgoing(text.format(number=case.number))])


async def choose_original(turn: Turn, case: Case, pressed: AskOriginal) -> ButtonOutcome:
    _ = turn._
    dispatch.check(DispatchAction.DUPLICATE, case)
    found = [(original.id, _("{number} · {category} · {metres} m").format(
        number=original.number, category=category_label(turn.rt, original.category_code, turn.person.language),
        metres=round(metres))) for original, metres in await dispatch.nearby_originals(turn.session, case)]
    notice = _("Open cases nearby are listed; or type the number.") if found else _("No open case nearby; type the number.")
    return ButtonOutcome(notice=notice, markup=keyboards.originals(_, case.id, found))


async def duplicate_of(turn: Turn, case: Case, pressed: DuplicateOf) -> ButtonOutcome:
    index = await turn.index()
    original = await cases.case_by_id(turn.session, pressed.original)
    if original is None or not await dispatch.may_name_original(turn.session, index, turn.person.id, case, original):
        log.warning("duplicate of case %s refused for person %s: not offered", pressed.original, turn.person.id)
        return ButtonOutcome(notice=turn._("This button is not valid."))
    await dispatch.mark_duplicate(turn.session, index, case.id, turn.person.id, original.number, turn.now)
    notice = turn._("Marked as the same as {number}; its reporters now follow that case.").format(number=original.number)
    return await _redrawn(turn, case.id, notice)


async def back_to_card(turn: Turn, case: Case, pressed: BackToDispatchCard) -> ButtonOutcome:
    return await _redrawn(turn, case.id, None)


async def send_card(turn: Turn, case: Case, pressed: SendDispatchCard) -> ButtonOutcome:
    await dispatch.queue_card(turn.session, turn.person.id, case.id, turn.now)
    return ButtonOutcome()


PRESSES: dict[type[Button], PressHandler] = {
    AcceptCase: _on_case(accept),
    ChooseAssignee: _on_case(choose_assignee),
    AssigneesInside: _on_case(choose_assignee),
    AssignTo: _on_case(assign),
    AskRejectReason: _on_case(choose_reason),
    RejectForReason: _on_case(reject_for_usual_reason),
    RejectTypedReason: _on_case(ask_typed_reason),
    AskOriginal: _on_case(choose_original),
    DuplicateOf: _on_case(duplicate_of),
    DuplicateTypedNumber: _on_case(ask_typed_number),
    BackToDispatchCard: _on_case(back_to_card),
    SendDispatchCard: _on_case(send_card),
}


# --- typed answers -------------------------------------------------------------------------------------


async def _typed(turn: Turn, text: str, decide: Callable[[int, str], Awaitable[str]], limit: int | None = None) -> Replies:
    """A typed answer about the case the question is on: `decide(case_id, answer)` carries it out and
    says what happened. Nothing typed ends the question; one over `limit` characters, or a number that
    names no case, is asked for again."""
    case_id = turn.person.awaiting_ref
    answer = text.strip()
    if case_id is None or not answer:
        people.stop_awaiting(turn.person)
        return []
    if limit is not None and (refusal := too_long(turn._, answer, limit)) is not None:
        return [refusal]
    try:
        done = await decide(case_id, answer)
    except DispatchError as error:
        if error.reason not in ASKED_AGAIN:
            people.stop_awaiting(turn.person)
        return [Outgoing(_problem(turn._, error))]
    people.stop_awaiting(turn.person)
    return [Outgoing(done)]


async def take_reject_reason(turn: Turn, text: str) -> Replies:
    """Why the case is not accepted, in the dispatcher's words (the citizen reads them)."""

    async def decide(case_id: int, reason: str) -> str:
        case = await dispatch.reject(turn.session, await turn.index(), case_id, turn.person.id, reason, turn.now)
        return turn._("⛔ Case <b>{number}</b> is not accepted; the citizen has been told why.").format(number=case.number)

    return await _typed(turn, text, decide, dispatch.MAX_REASON)


async def take_original_number(turn: Turn, text: str) -> Replies:
    """The number of the earlier case this one repeats."""

    async def decide(case_id: int, number: str) -> str:
        case, original = await dispatch.mark_duplicate(turn.session, await turn.index(), case_id, turn.person.id,
                                                       number, turn.now)
        return turn._("🔗 Case <b>{number}</b> is marked as the same as <b>{original}</b>; its reporters now follow "
                      "that case.").format(number=case.number, original=original.number)

    return await _typed(turn, text, decide)


ANSWERS = {
    Question.REJECT_REASON: Accepts(text=take_reject_reason),
    Question.DUPLICATE_NUMBER: Accepts(text=take_original_number),
}


# --- /queue ------------------------------------------------------------------------------------------


async def show_queue(turn: Turn, message: Message) -> Replies:
    """/queue: the cases waiting for this dispatcher's decision, oldest first."""
    _ = turn._
    index = await turn.index()
    if not await dispatch.scope_of(turn.session, index, turn.person.id):
        return [Outgoing(_("Only dispatchers have a queue. /whoami shows your roles."))]
    waiting = await dispatch.waiting_for(turn.session, index, turn.person.id)
    if not waiting:
        return [Outgoing(_("Nothing is waiting for you. 👍"))]
    language = turn.person.language
    lines = [_("🗂 <b>Waiting for you: {count}</b>").format(count=len(waiting))]
    for i, case in enumerate(waiting, 1):
        lines.append(_("{n}. <b>{number}</b> · {category} · {why} · {age} ago").format(
            n=i, number=case.number, category=escape(category_label(turn.rt, case.category_code, language)),
            why=why_it_came(_, case) if case.state in ASKS_WHY else state_name(_, case.state),
            age=duration(turn.now - case.created_at, language)))
    return [Outgoing("\n".join(lines), keyboards.dispatch_queue([(case.id, case.number) for case in waiting]))]
