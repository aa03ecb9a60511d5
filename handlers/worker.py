"""Grid workers and leaders in the chat: the task card's buttons, the reasons, after-photos and
position they send in answer, and /tasks.

The task's life as its worker sees it. Which buttons the card shows is `storage.policy.task_actions`,
and the store checks every press and every answer again by the same rules; a question the worker
owes an answer to is kept in the store (`Question`), so it survives a restart.

```mermaid
stateDiagram-v2
    [*] --> Waiting: a task card (assigned, reopened, or passed up to a leader)
    Waiting --> AtWork: ✅ Accept (holder, colleague or leader, the first one has it)
    Waiting --> NOT_MINE: 🙅 Not mine
    Waiting --> ESCALATE: ⏫ Escalate (a leader holding it)
    Waiting --> Given: 👷 Give to a worker (the leader), then the worker
    AtWork --> ON_SITE: 📍 On site
    ON_SITE --> AtWork: a location (optional)
    AtWork --> RESOLVING: ✅ Resolve
    RESOLVING --> RESOLVING: after-photos (up to five)
    RESOLVING --> Resolved: a note for the citizen (a photo first)
    AtWork --> ESCALATE: ⏫ Escalate
    AtWork --> HAND_BACK: ↩️ Hand back
    NOT_MINE --> HandedBack: a reason
    HAND_BACK --> HandedBack: a reason
    ESCALATE --> PassedUp: a reason
    Given --> [*]
    Resolved --> [*]
    HandedBack --> [*]
    PassedUp --> [*]
```

The states in capitals are questions (`storage.vocab.Question`); /cancel leaves any of them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import InlineKeyboardMarkup, Message

from handlers import keyboards
from handlers.buttons import (
    AcceptTask,
    BackToTaskCard,
    Button,
    ChooseWorker,
    EscalateTask,
    GiveTaskTo,
    HandBackTask,
    NotMyTask,
    OnSite,
    ResolveTask,
    SendTaskCard,
)
from handlers.fit import escape
from handlers.full_text import fitted_card
from handlers.i18n import Translate, relative
from handlers.questions import Accepts, PhotoIn, Place
from handlers.task_card import card_buttons, card_text
from handlers.texts import category_label, state_name
from handlers.turn import ButtonOutcome, Outgoing, PressHandler, Replies, Turn, press_step
from handlers.typed_text import too_long
from storage import cases, joint, people, tasks
from storage.models import Case
from storage.policy import Standing, TaskAction, TaskRefusal
from storage.tasks import TaskError
from storage.vocab import CaseState, Question

log = logging.getLogger(__name__)


def _problem(_: Translate, error: TaskError) -> str:
    case = error.case
    texts = {
        TaskRefusal.NOT_YOURS: _("This task is not for you: only the grid's workers and leader can act on it."),
        TaskRefusal.NOT_HOLDER: _("Only the person who holds this task can do that."),
        TaskRefusal.TAKEN: _("{name} has already taken this task on."),
        TaskRefusal.STATE: _("Task {number} is already {state}; nothing was changed."),
        TaskRefusal.NOBODY_ABOVE: _("There is nobody above to pass it to. Please call your dispatcher."),
        TaskRefusal.NOT_ASSIGNABLE: _("That person is not a worker of this grid any more. Please choose again."),
        TaskRefusal.UNREACHABLE: _("That person has blocked the bot and cannot get the task. Please choose someone else."),
        TaskRefusal.NEVER_OPENED: _("That person has never opened the bot, so the bot cannot send them the task. "
                                    "Please choose someone else, or ask them to open the bot and press Start."),
        TaskRefusal.NO_PHOTO: _("Please send at least one photo of the fixed problem first, then a short note."),
        TaskRefusal.NO_DRAFT: _("Tap ✅ Resolve on the task first."),
        TaskRefusal.PARTS_OPEN: _("Co-holders' parts of task {number} are still open."),
    }
    return texts[error.reason].format(number=case.number if case else "", name=escape(error.other or ""),
                                      state=state_name(_, case.state) if case else "")


# --- the task card's buttons ------------------------------------------------------------------------

TaskButton = TypeVar("TaskButton", bound=AcceptTask | NotMyTask | OnSite | ResolveTask | EscalateTask |
                                         HandBackTask | ChooseWorker | GiveTaskTo | BackToTaskCard |
                                         SendTaskCard)
TaskStep = Callable[[Turn, Case, Standing, TaskButton], Awaitable[ButtonOutcome]]


def _on_task(step: TaskStep[TaskButton]) -> PressHandler:
    """A task button's step, given the task and how the presser stands to it once they may see it.
    A step the store refuses says why, over the card as the task now stands."""

    async def checked(turn: Turn, pressed: TaskButton) -> ButtonOutcome:
        case = await cases.case_by_id(turn.session, pressed.case)
        who = await tasks.standing(turn.session, await turn.index(), turn.person.id, case) if case else None
        try:
            if case is None or who is None or not who.may_see(case):
                log.info("update %s: %s refused for person %s", turn.update_id, pressed.PREFIX, turn.person.id)
                raise TaskError(TaskRefusal.NOT_YOURS)
            return await step(turn, case, who, pressed)
        except TaskError as error:
            outcome = ButtonOutcome(notice=_problem(turn._, error), alert=True)
            if error.case is not None and error.reason is not TaskRefusal.NOT_YOURS:
                outcome.edit_text, outcome.markup = await _card(turn, error.case.id)
            return outcome

    return press_step(checked)


async def _card(turn: Turn, case_id: int) -> tuple[str, InlineKeyboardMarkup | None]:
    case = await cases.case_by_id(turn.session, case_id)
    assert case is not None  # a task is never deleted
    index = await turn.index()
    who = await tasks.standing(turn.session, index, turn.person.id, case)
    text = await card_text(turn.session, turn.rt, index, turn.person, case)
    return fitted_card(turn._, text, card_buttons(turn._, case, who), case.id)


async def _redrawn(turn: Turn, case_id: int, notice: str | None, messages: list[Outgoing] | None = None) -> ButtonOutcome:
    text, markup = await _card(turn, case_id)
    return ButtonOutcome(notice=notice, edit_text=text, markup=markup, messages=messages or [])


async def accept(turn: Turn, case: Case, who: Standing, pressed: AcceptTask) -> ButtonOutcome:
    await tasks.accept(turn.session, await turn.index(), case.id, turn.person.id, turn.now)
    return await _redrawn(turn, case.id, turn._("Accepted. The citizen has been told."))


async def on_site(turn: Turn, case: Case, who: Standing, pressed: OnSite) -> ButtonOutcome:
    _ = turn._
    await tasks.on_site(turn.session, await turn.index(), case.id, turn.person.id, turn.now)
    people.await_answer(turn.person, Question.ON_SITE, case.id)
    prompt = Outgoing(_("📍 Marked on site. To add your position, share your location now (optional)."),
                      keyboards.location_request(_))
    return await _redrawn(turn, case.id, _("On site"), [prompt])


async def resolve(turn: Turn, case: Case, who: Standing, pressed: ResolveTask) -> ButtonOutcome:
    _ = turn._
    tasks.check(TaskAction.RESOLVE, case, who)
    still_open = await joint.open_parts(turn.session, case.id)
    if still_open:
        names = ", ".join(escape(name) for _part, name in still_open)
        offer = Outgoing(_("🤝 Parts of task <b>{number}</b> are still open: {names}. It can be resolved when they are "
                           "done, or anyway with a reason.").format(number=case.number, names=names),
                         keyboards.resolve_anyway(_, case.id))
        return ButtonOutcome(notice=_("Parts still open"), messages=[offer])
    await tasks.start_resolving(turn.session, await turn.index(), case.id, turn.person.id, turn.now)
    people.await_answer(turn.person, Question.RESOLVING, case.id)
    prompt = _("📷 Send one or more photos of the fixed problem (after), then type a short note for the citizen. "
               "/cancel to stop.")
    return ButtonOutcome(notice=_("Resolve: photos, then a note"), messages=[Outgoing(prompt)])


async def ask_why_not_mine(turn: Turn, case: Case, who: Standing, pressed: NotMyTask) -> ButtonOutcome:
    tasks.check(TaskAction.NOT_MINE, case, who)
    text = turn._("Why is task <b>{number}</b> not yours? Type a few words; it goes back to whoever sent it. "
                  "/cancel to stop.")
    return _ask(turn, Question.NOT_MINE, case, text)


async def ask_why_hand_back(turn: Turn, case: Case, who: Standing, pressed: HandBackTask) -> ButtonOutcome:
    tasks.check(TaskAction.HAND_BACK, case, who)
    text = turn._("Why are you handing task <b>{number}</b> back? Type a few words. /cancel to stop.")
    return _ask(turn, Question.HAND_BACK, case, text)


async def ask_why_escalate(turn: Turn, case: Case, who: Standing, pressed: EscalateTask) -> ButtonOutcome:
    tasks.check(TaskAction.ESCALATE, case, who)
    text = turn._("Why should task <b>{number}</b> go up a level? Type a few words. /cancel to stop.")
    return _ask(turn, Question.ESCALATE, case, text)


def _ask(turn: Turn, question: Question, case: Case, text: str) -> ButtonOutcome:
    people.await_answer(turn.person, question, case.id)
    return ButtonOutcome(messages=[Outgoing(text.format(number=case.number))])


async def choose_worker(turn: Turn, case: Case, who: Standing, pressed: ChooseWorker) -> ButtonOutcome:
    tasks.check(TaskAction.GIVE, case, who)
    workers = await tasks.grid_workers(turn.session, await turn.index(), case)
    if not workers:
        return ButtonOutcome(notice=turn._("Nobody on duty here"), alert=True)
    choice = [(worker.id, worker.name, count) for worker, count in workers]
    return ButtonOutcome(markup=keyboards.workers_to_give(turn._, case.id, choice))


async def give(turn: Turn, case: Case, who: Standing, pressed: GiveTaskTo) -> ButtonOutcome:
    _case, worker = await tasks.give_to_worker(turn.session, await turn.index(), case.id, turn.person.id,
                                               pressed.person, turn.now)
    return await _redrawn(turn, case.id, turn._("Given to {name}.").format(name=worker.name))


async def back_to_card(turn: Turn, case: Case, who: Standing, pressed: BackToTaskCard) -> ButtonOutcome:
    return await _redrawn(turn, case.id, None)


async def send_card(turn: Turn, case: Case, who: Standing, pressed: SendTaskCard) -> ButtonOutcome:
    await tasks.queue_card(turn.session, turn.person.id, case.id, turn.now)
    return ButtonOutcome()


PRESSES: dict[type[Button], PressHandler] = {
    AcceptTask: _on_task(accept),
    NotMyTask: _on_task(ask_why_not_mine),
    OnSite: _on_task(on_site),
    ResolveTask: _on_task(resolve),
    EscalateTask: _on_task(ask_why_escalate),
    HandBackTask: _on_task(ask_why_hand_back),
    ChooseWorker: _on_task(choose_worker),
    GiveTaskTo: _on_task(give),
    BackToTaskCard: _on_task(back_to_card),
    SendTaskCard: _on_task(send_card),
}


# --- what a worker types or sends while a task question is open ---------------------------------------

Finish = Callable[[int, str], Awaitable[str]]


async def _typed(turn: Turn, text: str, limit: int, finish: Finish) -> Replies:
    """A typed answer about the task the question is on: `finish(case_id, answer)` carries it out
    and says what happened. Too long, or (resolving) no photo yet: asked again; refused: said why."""
    _ = turn._
    case_id = turn.person.awaiting_ref
    answer = " ".join(text.split())
    if not answer or case_id is None:
        return [Outgoing(_("Please type a few words, or /cancel."))]
    refusal = too_long(_, answer, limit)
    if refusal is not None:
        return [refusal]  # still waiting: the same question, shorter
    try:
        done = await finish(case_id, answer)
    except TaskError as error:
        if error.reason is TaskRefusal.NO_PHOTO:
            return [Outgoing(_problem(_, error))]  # still resolving: photos first
        people.stop_awaiting(turn.person)
        await tasks.drop_resolving(turn.session, turn.person.id)
        return [Outgoing(_problem(_, error), await turn.menu())]
    people.stop_awaiting(turn.person)
    return [Outgoing(done, await turn.menu())]


async def take_note(turn: Turn, text: str) -> Replies:
    """The note that resolves the task, with the after-photos sent before it."""

    async def finish(case_id: int, note: str) -> str:
        settings = turn.rt.settings
        case = await tasks.finish_resolving(turn.session, await turn.index(), turn.person.id, note, turn.now,
                                            settings.verify, settings.verifier)
        if case.state == CaseState.VERIFYING:
            return turn._("✅ Task <b>{number}</b> is resolved and goes to {name} to verify; the citizen is asked to "
                          "rate it once it is verified.").format(
                number=case.number, name=escape(await cases.person_name(turn.session, case.verifier_id)))
        return turn._("✅ Task <b>{number}</b> is resolved. The citizen has been told and asked to rate it.").format(
            number=case.number)

    return await _typed(turn, text, tasks.MAX_NOTE, finish)


async def take_reason_to_escalate(turn: Turn, text: str) -> Replies:
    async def finish(case_id: int, reason: str) -> str:
        case, target = await tasks.escalate(turn.session, await turn.index(), case_id, turn.person.id, reason, turn.now)
        return turn._("⏫ Task <b>{number}</b> went up to {name}.").format(number=case.number, name=escape(target.name))

    return await _typed(turn, text, tasks.MAX_REASON, finish)


async def take_reason_to_give_back(turn: Turn, text: str) -> Replies:
    """Why the task is not theirs, or why they hand it back: it goes back to whoever sent it."""

    async def finish(case_id: int, reason: str) -> str:
        case, target = await tasks.give_back(turn.session, await turn.index(), case_id, turn.person.id, reason, turn.now)
        return turn._("↩️ Task <b>{number}</b> went back to {name}.").format(
            number=case.number, name=escape(target.name) if target else "-")

    return await _typed(turn, text, tasks.MAX_REASON, finish)


async def take_after_photo(turn: Turn, sent: PhotoIn) -> Replies:
    """An after-photo for the task being resolved; a caption finishes the resolution with it."""
    _ = turn._
    count = await tasks.add_after_photo(turn.session, turn.person.id, sent.photo.id)
    if count is None:
        return [Outgoing(_("That is enough photos; now type a short note to finish."))]
    if sent.caption and sent.caption.strip():
        return await take_note(turn, sent.caption)
    if not tasks.first_of_album(turn.person, sent.media_group):
        return []  # one answer per album
    return [Outgoing(_("📷 After-photo received ({count}). Send more, or type a short note to finish.").format(count=count))]


async def take_on_site_position(turn: Turn, place: Place) -> Replies:
    """The position a worker shares after tapping On site (optional)."""
    _ = turn._
    case_id = turn.person.awaiting_ref
    people.stop_awaiting(turn.person)
    if case_id is not None:
        try:
            await tasks.add_position_to_on_site(turn.session, await turn.index(), case_id, turn.person.id,
                                                place.lat, place.lon, turn.now)
        except TaskError as error:
            return [Outgoing(_problem(_, error), await turn.menu())]
    return [Outgoing(_("📍 Position added. Thank you."), await turn.menu())]


ANSWERS = {
    Question.RESOLVING: Accepts(text=take_note, photo=take_after_photo),
    Question.NOT_MINE: Accepts(text=take_reason_to_give_back),
    Question.HAND_BACK: Accepts(text=take_reason_to_give_back),
    Question.ESCALATE: Accepts(text=take_reason_to_escalate),
    Question.ON_SITE: Accepts(place=take_on_site_position, place_optional=True),
}


# --- /tasks -------------------------------------------------------------------------------------------


async def show_tasks(turn: Turn, message: Message) -> Replies:
    """/tasks: a worker's open tasks (a leader's: also their grids'), the soonest deadline first."""
    _ = turn._
    held_parts = await joint.held_parts(turn.session, turn.person.id)
    if not held_parts and not await tasks.works_in_a_grid(turn.session, turn.person.id):
        return [Outgoing(_("Only grid workers and leaders have tasks. /whoami shows your roles."))]
    shown, total = await tasks.open_tasks(turn.session, await turn.index(), turn.person.id)
    if not shown and not held_parts:
        return [Outgoing(_("No open tasks. 👍"))]
    now, language = turn.now, turn.person.language
    lines = [_("📋 <b>Open tasks: {count}</b>").format(count=total)]
    for i, case in enumerate(shown, 1):
        line = _("{n}. {mark}<b>{number}</b> · {category} · {state} · due {when}").format(
            n=i, mark="⚠️ " if case.deadline_at <= now else "", number=case.number,
            category=escape(category_label(turn.rt, case.category_code, language)),
            state=state_name(_, case.state), when=relative(case.deadline_at - now, language))
        if case.assignee_id not in (None, turn.person.id):
            line += " · " + _("not yours")
        lines.append(line)
        parts = await joint.parts_of(turn.session, case.id)
        if parts:
            done = sum(1 for part, _name in parts if part.state != "open")
            lines.append("   " + _("🤝 parts done: {done} of {count}").format(done=done, count=len(parts)))
    if held_parts:
        lines.append(_("🤝 <b>Your parts of joint cases: {count}</b>").format(count=len(held_parts)))
        for part, case in held_parts:
            lines.append(_("· <b>{number}</b> · {category} · due {when}").format(
                number=case.number, category=escape(category_label(turn.rt, case.category_code, language)),
                when=relative(part.deadline_at - now, language)))
    if total > len(shown):
        lines.append(_("… and {count} more.").format(count=total - len(shown)))
    listed = [(case.id, case.number, case.deadline_at <= now) for case in shown]
    return [Outgoing("\n".join(lines), keyboards.task_list(listed))]
