"""A commander's call-out while it lasts: re-alert those who have not answered, send everyone a
follow-up, widen it when too few are coming, stand it down; and /mobilizations, the recent
call-outs with their outcome. The live roll call itself is `handlers/callout_board.py`.

```mermaid
stateDiagram-v2
    [*] --> Active: 🚨 Send now / 🧪 Send as a drill (callout_compose)
    Active --> Active: 🔔 Re-alert non-responders
    Active --> CALLOUT_UPDATE: 📢 Update
    CALLOUT_UPDATE --> Active: the typed update, sent to everyone reached
    Active --> Active: ➕ Neighbouring micro-grids / The whole grid (offered when short of people)
    Active --> Over: 🛑 Stand down (everyone reached is told)
    Over --> [*]
```
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Message

from handlers import keyboards
from handlers.buttons import Button, FollowUpCallOut, RealertCallOut, StandDown, WidenCallOut
from handlers.callout_board import board_text
from handlers.callout_refusals import refusal, refused_as_alert, typed_words
from handlers.fit import user
from handlers.i18n import local_time, translator
from handlers.questions import Accepts
from handlers.turn import ButtonOutcome, Outgoing, PressHandler, Replies, Turn, press_step
from storage import callout_scope, callouts, people
from storage.callouts import NOT_ANSWERED, UNREACHABLE, CallOutError, Refusal
from storage.models import Person
from storage.vocab import CallOutAnswer, CallOutState, Question


async def realert(turn: Turn, pressed: RealertCallOut) -> ButtonOutcome:
    _ = turn._
    count = await callouts.realert(turn.session, pressed.callout, turn.person.id, turn.now)
    return ButtonOutcome(notice=_("Alerted again: {count} people.").format(count=count))


async def ask_follow_up(turn: Turn, pressed: FollowUpCallOut) -> ButtonOutcome:
    _ = turn._
    mobilization = await callouts.live_commanded(turn.session, pressed.callout, turn.person.id)
    people.await_answer(turn.person, Question.CALLOUT_UPDATE, mobilization.id)
    return ButtonOutcome(messages=[Outgoing(_("Type the update for everyone who got the call-out, or /cancel."))])


async def take_follow_up(turn: Turn, text: str) -> Replies:
    """The typed follow-up, sent to everyone the call-out reached."""
    _ = turn._
    words, refused = typed_words(_, text, turn.person.awaiting_ref, callouts.MAX_UPDATE)
    if refused is not None:
        return [refused]  # still waiting: the same question, shorter
    mobilization_id = turn.person.awaiting_ref or 0
    people.stop_awaiting(turn.person)
    try:
        count = await callouts.follow_up(turn.session, mobilization_id, turn.person.id, words, turn.now)
    except CallOutError as error:
        return [Outgoing(refusal(_, error.reason))]
    return [Outgoing(_("📢 Update sent to {count} people.").format(count=count))]


async def stand_down(turn: Turn, pressed: StandDown) -> ButtonOutcome:
    """It is over: everyone reached is told, and the board says so, without its buttons."""
    _ = turn._
    count = await callouts.stand_down(turn.session, pressed.callout, turn.person.id, turn.now)
    mobilization = await callouts.commanded(turn.session, pressed.callout, turn.person.id)
    text = await board_text(turn.session, turn.person.language, mobilization, turn.now)
    callouts.keep_board(mobilization, text)
    return ButtonOutcome(notice=_("Stood down; {count} people are told.").format(count=count), edit_text=text, markup=None)


async def widen(turn: Turn, pressed: WidenCallOut) -> ButtonOutcome:
    _ = turn._
    count = await callouts.widen(turn.session, await turn.index(), pressed.callout, turn.person.id, pressed.whole_grids == 1,
                                 turn.now)
    return ButtonOutcome(notice=_("Widened: {count} more people alerted.").format(count=count), markup=None)


async def widen_offer(session: AsyncSession, person: Person, mobilization_id: int) -> tuple[str, InlineKeyboardMarkup] | None:
    """The queued offer to widen a call-out, as it is sent: None once it is over or enough are coming."""
    wanted = await callouts.widening_wanted(session, mobilization_id)
    if wanted is None:
        return None
    mobilization, coming = wanted
    _ = translator(person.language)
    text = _("⚠️ Only {coming} of the {need} people needed are coming to “{headline}”. Call more?").format(
        coming=coming, need=mobilization.need, headline=user(mobilization.headline))
    return text, keyboards.callout_widen(_, mobilization.id)


async def show_recent(turn: Turn, message: Message) -> Replies:
    """/mobilizations: the commander's recent call-outs and how each was answered."""
    _ = turn._
    if not await callout_scope.command_of(turn.session, turn.person.id):
        return [Outgoing(refusal(_, Refusal.NO_COMMAND))]
    lines = [_("🚨 <b>Your recent call-outs</b>")]
    for mobilization in await callouts.recent(turn.session, turn.person.id):
        call = await callouts.roll_call(turn.session, mobilization.id)
        when = local_time(mobilization.sent_at or mobilization.created_at, turn.rt.settings.zone, turn.person.language)
        state = _("over") if mobilization.state == CallOutState.OVER else _("active")
        lines.append(_("#{id} {drill}<b>{headline}</b> · {when} · {state}\n   {total} called: {coming} coming, "
                       "{arrived} arrived, {cannot} can't, {none} no answer, {unreachable} unreachable").format(
            id=mobilization.id, drill="🧪 " if mobilization.drill else "", headline=user(mobilization.headline),
            when=when, state=state, total=call.total, coming=call.count(CallOutAnswer.COMING),
            arrived=call.count(CallOutAnswer.ARRIVED), cannot=call.count(CallOutAnswer.CANNOT),
            none=call.count(NOT_ANSWERED), unreachable=call.count(UNREACHABLE)))
    return [Outgoing("\n".join(lines) if len(lines) > 1 else _("You have not called anyone out yet. /mobilize starts one."))]


PRESSES: dict[type[Button], PressHandler] = {
    RealertCallOut: press_step(refused_as_alert(realert)),
    FollowUpCallOut: press_step(refused_as_alert(ask_follow_up)),
    StandDown: press_step(refused_as_alert(stand_down)),
    WidenCallOut: press_step(refused_as_alert(widen)),
}
ANSWERS = {Question.CALLOUT_UPDATE: Accepts(text=take_follow_up)}
