"""A responder's side of a call-out: the alert with its buttons, and their answer (coming, arrived,
can't come), which they may change while it lasts; on arrival they may share where they are.

```mermaid
stateDiagram-v2
    [*] --> Alerted: the alert (again while unanswered, see callout_board)
    Alerted --> Coming: ✅ Coming
    Alerted --> Cannot: ❌ Can't come
    Coming --> Arrived: 📍 Arrived
    Coming --> Cannot: ❌ Can't come
    Cannot --> Coming: ✅ Coming
    Arrived --> Cannot: ❌ Can't come
    Arrived --> ARRIVED_WHERE: asked where they are
    ARRIVED_WHERE --> Arrived: a location (optional; anything else ends the question)
    Alerted --> [*]: stood down (answers are then refused)
    Cannot --> Away: 🏖 I'm away (under a reminder too; handlers/away.py)
```
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup

from handlers import keyboards
from handlers.buttons import AnswerCallOut, Button
from handlers.fit import user
from handlers.i18n import Translate, local_time, translator
from handlers.questions import Accepts, Place
from handlers.runtime import Runtime
from handlers.turn import KEEP, ButtonOutcome, Outgoing, PressHandler, Replies, Turn, press_step
from storage import callouts, people, plans
from storage.callouts import CallOutError, Refusal
from storage.models import Mobilization, Person
from storage.vocab import CallOutAnswer, Question

log = logging.getLogger(__name__)


def alert_text(_: Translate, zone: ZoneInfo, language: str, mobilization: Mobilization, commander: str, again: bool,
               words: tuple[str, str | None] | None = None) -> str:
    """The alert as a responder reads it (and as the commander's preview shows it); `words`, the
    headline and instruction in the reader's language where the call-out has them (a plan's)."""
    headline, instruction = words or (mobilization.headline, mobilization.instruction)
    lines = []
    if mobilization.drill:
        lines.append(_("🧪 <b>DRILL – this is an exercise</b>"))
    if again:
        lines.append(_("🔔 Reminder: please answer."))
    lines.append(f"🚨 <b>{user(headline)}</b>")
    if instruction:
        lines.append(user(instruction))
    if mobilization.need:
        lines.append(_("👥 {count} people needed").format(count=mobilization.need))
    if mobilization.meet_lat is not None:
        lines.append(_("📍 Meeting point: the pin above"))
    when = local_time(mobilization.sent_at or mobilization.created_at, zone, language)
    lines.append(_("From {name} · {when}").format(name=user(commander), when=when))
    return "\n".join(lines)


async def render_alert(session: AsyncSession, rt: Runtime, person: Person, mobilization_id: int,
                       again: bool) -> tuple[str, InlineKeyboardMarkup, tuple[float, float] | None] | None:
    """The queued alert as it is sent: its text, the answer buttons, and the meeting point's pin;
    None when there is nothing to send any more."""
    found = await callouts.alert_for(session, mobilization_id, person.id, again)
    if found is None:
        return None
    mobilization = found.mobilization
    _ = translator(person.language)
    words = await plans.words_for(session, mobilization, person.language)
    text = alert_text(_, rt.settings.zone, person.language, mobilization, found.commander, again, words)
    pin = (mobilization.meet_lat, mobilization.meet_lon) \
        if mobilization.meet_lat is not None and mobilization.meet_lon is not None else None
    # Until they say they are coming, a responder may say they are away (and are then skipped).
    answers = keyboards.callout_answer(_, mobilization.id, found.answer) \
        if found.answer in (CallOutAnswer.COMING, CallOutAnswer.ARRIVED) \
        else keyboards.callout_answer_with_away(_, mobilization.id, found.answer)
    return text, answers, pin


async def answer(turn: Turn, pressed: AnswerCallOut) -> ButtonOutcome:
    """Coming, arrived or can't come; the buttons then show the answer given."""
    _ = turn._
    try:
        if pressed.answer >= len(keyboards.CALLOUT_ANSWERS):
            raise CallOutError(Refusal.INVALID)
        given = keyboards.CALLOUT_ANSWERS[pressed.answer]
        mobilization = await callouts.answer(turn.session, pressed.callout, turn.person.id, given, turn.now)
    except CallOutError as error:
        log.info("update %s: answer refused: %s", turn.update_id, error.reason)
        refusals = {Refusal.OVER: _("This call-out is over. Thank you."),
                    Refusal.NOT_YOURS: _("This call-out was not sent to you.")}
        return ButtonOutcome(notice=refusals.get(error.reason, _("This button is not valid.")), alert=True,
                             markup=None if error.reason == Refusal.OVER else KEEP)
    said = {CallOutAnswer.COMING: _("Thank you – you are coming."),
            CallOutAnswer.ARRIVED: _("Thank you – you have arrived."),
            CallOutAnswer.CANNOT: _("Noted – you cannot come.")}
    answers = keyboards.callout_answer_with_away(_, mobilization.id, given) if given == CallOutAnswer.CANNOT \
        else keyboards.callout_answer(_, mobilization.id, given)
    outcome = ButtonOutcome(notice=said[given], markup=answers)
    if given == CallOutAnswer.ARRIVED:
        people.await_answer(turn.person, Question.ARRIVED_WHERE, mobilization.id)
        outcome.messages.append(Outgoing(_("📍 To show the commander where you are, share your location "
                                           "now (optional)."), keyboards.location_request(_)))
    return outcome


async def take_arrival_place(turn: Turn, place: Place) -> Replies:
    """Where a responder who has arrived is (optional)."""
    _ = turn._
    mobilization_id = turn.person.awaiting_ref
    people.stop_awaiting(turn.person)
    try:
        await callouts.answer(turn.session, mobilization_id or 0, turn.person.id, CallOutAnswer.ARRIVED, turn.now,
                              (place.lat, place.lon))
    except CallOutError:
        return [Outgoing(_("This call-out is over. Thank you."), await turn.menu())]
    return [Outgoing(_("📍 Position added. Thank you."), await turn.menu())]


PRESSES: dict[type[Button], PressHandler] = {AnswerCallOut: press_step(answer)}
ANSWERS = {Question.ARRIVED_WHERE: Accepts(place=take_arrival_place, place_optional=True)}
