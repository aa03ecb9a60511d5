"""Joint handling in the chat (主协办): a dispatcher adds co-holders with /cohold, each co-holder
gets a card for their part and marks it done or says why not; the main holder resolves once every
part is done, or resolves anyway with a reason.

```mermaid
stateDiagram-v2
    [*] --> Part: /cohold NUMBER AREA… (a dispatcher of the case; the main holder is its assignee)
    Part --> Done: ✅ My part is done (the main holder hears)
    Part --> PART_CANNOT: 🙅 Cannot do it
    PART_CANNOT --> Cannot: a reason (the main holder hears it)
    Part --> Waived: the main holder resolves anyway
    state MainHolder {
        [*] --> Resolve: ✅ Resolve with parts open
        Resolve --> RESOLVE_ANYWAY: ✅ Resolve anyway
        RESOLVE_ANYWAY --> RESOLVING: a reason (recorded on each open part)
    }
```

The states in capitals are questions (`storage.vocab.Question`); /cancel leaves any of them. Every
press is checked against the store (`storage.joint`): a part's buttons are its holder's, while it
is open and its case is open work.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Message

from handlers import keyboards
from handlers.buttons import Button, PartCannot, PartDone, ResolveAnyway
from handlers.fit import escape, user
from handlers.i18n import Translate, relative, translator
from handlers.questions import Accepts
from handlers.runtime import Runtime
from handlers.texts import category_label, part_label
from handlers.turn import ButtonOutcome, Outgoing, PressHandler, Replies, Turn, press_step
from handlers.typed_text import too_long
from storage import cases, joint, people, tasks
from storage.joint import PartError, PartRefusal
from storage.models import CasePart, Person
from storage.tasks import TaskError
from storage.vocab import N_, PartState, Question

# The notices storage/joint.py queues, marked here as well: the extraction (babel.cfg) reads handlers/, not storage/.
_QUEUED = (N_("🤝 {name} finished their part of task <b>{number}</b>."),
           N_("🤝 {name} cannot do their part of task <b>{number}</b>: {reason}"),
           N_("⏰ The part of case <b>{number}</b> given to {name} is overdue."))
assert set(_QUEUED) == {joint.PART_DONE, joint.PART_CANNOT, joint.PART_OVERDUE}


def _problem(_: Translate, error: PartError) -> str:
    texts = {
        PartRefusal.NOT_DISPATCHER: _("Only a dispatcher of that case can add co-holders."),
        PartRefusal.NO_SUCH_AREA: _("There is no area with that code."),
        PartRefusal.NOBODY_THERE: _("Nobody in that area can take a part of it."),
        PartRefusal.STATE: _("That case or part has moved on; nothing was changed."),
        PartRefusal.NO_MAIN: _("Give the case to its main holder first, then add co-holders."),
        PartRefusal.NOT_YOURS: _("This part is not yours."),
    }
    return texts[error.reason]


async def render_part(session: AsyncSession, rt: Runtime, person: Person, part_id: int,
                      stage: int) -> tuple[str, InlineKeyboardMarkup | None] | None:
    """A co-holder's card for their part (a reminder when `stage` > 0), while it is open and theirs."""
    part = await session.get(CasePart, part_id)
    if part is None or part.holder_id != person.id or part.state != PartState.OPEN:
        return None
    case = await cases.case_by_id(session, part.case_id)
    if case is None or case.state not in joint.JOINT_STATES:
        return None
    _ = translator(person.language)
    main = await cases.person_name(session, case.assignee_id)
    lines = []
    if stage == 1:
        lines.append(_("⏰ Reminder: half the time for your part has passed."))
    elif stage >= 2:
        lines.append(_("⏰ Your part is due now."))
    lines += [
        _("🤝 <b>Your part of case {number}</b> (main holder: {name})").format(number=case.number, name=escape(main)),
        escape(category_label(rt, case.category_code, person.language)),
    ]
    if case.description:
        lines.append(user(case.description))
    if case.address:
        lines.append(user(case.address))
    lines.append(_("Due {when}").format(when=relative(part.deadline_at - rt.clock.now(), person.language)))
    return "\n".join(lines), keyboards.part_card(_, part.id)


async def cohold(turn: Turn, message: Message) -> Replies:
    """/cohold NUMBER AREA [AREA…]: co-holders for a case, one part per area."""
    _ = turn._
    words = (message.text or "").split()[1:]
    if len(words) < 2:
        return [Outgoing(_("Usage: /cohold CASE-NUMBER AREA-CODE [AREA-CODE …] — each area's person gets a part "
                           "of the case (joint handling)."))]
    number, areas = words[0], words[1:6]
    index = await turn.index()
    lines = []
    for area in areas:
        try:
            case, _part, holder = await joint.give_part(turn.session, index, number, turn.person.id, area, turn.now)
        except PartError as error:
            lines.append(f"{escape(area)}: {_problem(_, error)}")
            if error.reason is PartRefusal.NOT_DISPATCHER:
                break
            continue
        lines.append(_("🤝 {area}: {name} has a part of case <b>{number}</b>.").format(
            area=escape(area), name=escape(holder.name), number=case.number))
    return [Outgoing("\n".join(lines))]


async def part_done(turn: Turn, pressed: PartDone) -> ButtonOutcome:
    try:
        _part, case = await joint.mark_done(turn.session, pressed.part, turn.person.id, turn.now)
    except PartError as error:
        return ButtonOutcome(notice=_problem(turn._, error), alert=True)
    return ButtonOutcome(notice=turn._("Done"), edit_text=turn._("✅ Your part of case <b>{number}</b> is done. "
                                                                 "The main holder has been told.").format(
        number=case.number), markup=None)


async def ask_why_cannot(turn: Turn, pressed: PartCannot) -> ButtonOutcome:
    try:
        _part, case = await joint.part_for_update(turn.session, pressed.part, turn.person.id)
    except PartError as error:
        return ButtonOutcome(notice=_problem(turn._, error), alert=True)
    people.await_answer(turn.person, Question.PART_CANNOT, pressed.part)
    return ButtonOutcome(messages=[Outgoing(turn._("Why can your part of case <b>{number}</b> not be done? Type a few "
                                                   "words. /cancel to stop.").format(number=case.number))])


async def ask_why_anyway(turn: Turn, pressed: ResolveAnyway) -> ButtonOutcome:
    case = await cases.case_by_id(turn.session, pressed.case)
    who = await tasks.standing(turn.session, await turn.index(), turn.person.id, case) if case else None
    if case is None or who is None or not who.holder or not await joint.open_parts(turn.session, case.id):
        return ButtonOutcome(notice=turn._("That case or part has moved on; nothing was changed."), alert=True)
    people.await_answer(turn.person, Question.RESOLVE_ANYWAY, case.id)
    return ButtonOutcome(messages=[Outgoing(turn._("Why resolve case <b>{number}</b> with parts still open? Type a "
                                                   "few words; they are recorded. /cancel to stop.").format(
        number=case.number))])


PRESSES: dict[type[Button], PressHandler] = {
    PartDone: press_step(part_done),
    PartCannot: press_step(ask_why_cannot),
    ResolveAnyway: press_step(ask_why_anyway),
}


def _reason(turn: Turn, text: str) -> tuple[str, Outgoing | None]:
    reason = " ".join(text.split())
    if not reason:
        return reason, Outgoing(turn._("Please type a few words, or /cancel."))
    return reason, too_long(turn._, reason, joint.MAX_REASON)


async def take_why_cannot(turn: Turn, text: str) -> Replies:
    reason, refusal = _reason(turn, text)
    if refusal is not None or turn.person.awaiting_ref is None:
        return [refusal or Outgoing(turn._("Please type a few words, or /cancel."))]
    part_id = turn.person.awaiting_ref
    people.stop_awaiting(turn.person)
    try:
        _part, case = await joint.cannot(turn.session, part_id, turn.person.id, reason, turn.now)
    except PartError as error:
        return [Outgoing(_problem(turn._, error), await turn.menu())]
    return [Outgoing(turn._("🙅 Noted: your part of case <b>{number}</b> cannot be done. The main holder has been "
                            "told why.").format(number=case.number), await turn.menu())]


async def take_why_anyway(turn: Turn, text: str) -> Replies:
    """The main holder's reason to resolve with parts open: recorded, then the usual resolving."""
    reason, refusal = _reason(turn, text)
    if refusal is not None or turn.person.awaiting_ref is None:
        return [refusal or Outgoing(turn._("Please type a few words, or /cancel."))]
    case_id = turn.person.awaiting_ref
    people.stop_awaiting(turn.person)
    try:
        await joint.waive_open_parts(turn.session, case_id, turn.person.id, reason, turn.now)
        await tasks.start_resolving(turn.session, await turn.index(), case_id, turn.person.id, turn.now)
    except (PartError, TaskError):
        return [Outgoing(turn._("That case or part has moved on; nothing was changed."), await turn.menu())]
    people.await_answer(turn.person, Question.RESOLVING, case_id)
    return [Outgoing(turn._("📷 Send one or more photos of the fixed problem (after), then type a short note for the "
                            "citizen. /cancel to stop."))]


ANSWERS = {
    Question.PART_CANNOT: Accepts(text=take_why_cannot),
    Question.RESOLVE_ANYWAY: Accepts(text=take_why_anyway),
}


async def parts_lines(turn: Turn, case_id: int) -> list[str]:
    """A case's parts, one line each, for the main holder's view."""
    return [turn._("🤝 {name}: {state}").format(name=escape(name), state=part_label(turn._, part.state))
            for part, name in await joint.parts_of(turn.session, case_id)]
