"""The whole of a person's words that a card had to shorten, one tap away.

A card whose description (or a step's note) was cut to fit Telegram gets a "Full text" button;
pressing it sends that text whole, in as many messages as it takes. The button names a case and,
for a note, one of its steps; the store decides whether the person may read it.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup

from handlers import keyboards
from handlers.buttons import Button, ShowFullText
from handlers.fit import TEXT_LIMIT, escape, fit, parts, telegram_length
from handlers.i18n import Translate, local_time
from handlers.turn import ButtonOutcome, Outgoing, PressHandler, Turn, press_step
from storage import cases, dispatch, tasks
from storage.models import Case
from storage.vocab import CaseState

log = logging.getLogger(__name__)


def fitted_card(_: Translate, text: str, markup: InlineKeyboardMarkup | None, case_id: int,
                event_id: int = 0) -> tuple[str, InlineKeyboardMarkup | None]:
    """A card's text made to fit Telegram and its buttons, with "Full text" under them when a
    person's words were shortened (`event_id` names the step whose note it is, 0 the description)."""
    fitted = fit(text, TEXT_LIMIT)
    if not fitted.shortened:
        return fitted.text, markup
    return fitted.text, keyboards.with_full_text(_, markup, case_id, event_id)


async def _readable_text(turn: Turn, case: Case, event_id: int) -> str | None:
    """The description (or the step's note) if this person may read it: staff who may act on the
    case read every note, and with the description why the citizen reopened it; the people who
    follow the case read what citizens may read."""
    _, session, person_id = turn._, turn.session, turn.person.id
    index = await turn.index()
    staff = await tasks.may_see_task(session, index, person_id, case) or \
        await dispatch.may_dispatch(session, index, person_id, case)
    if not staff:
        try:
            await cases.followed_case(session, case.id, person_id)
        except cases.NotYourCase:
            return None
    if event_id == 0 and not staff:
        # A resident's button is under the case's history, where the notes are shortened as well.
        return await _history_for_citizens(turn, case)
    if event_id == 0:
        reason = await cases.reopen_reason(session, case) if case.state == CaseState.REOPENED else None
        texts = [case.description or "", _("Reason: {reason}").format(reason=reason) if reason else ""]
        return "\n\n".join(text for text in texts if text)
    event = next((event for event in await cases.case_timeline(session, case.id) if event.id == event_id), None)
    if event is None:
        return None  # no such step, or one of another case
    return event.note if staff else cases.note_for_citizens(event)


async def _history_for_citizens(turn: Turn, case: Case) -> str:
    """The description and every note of the history a resident reads, each note with its time."""
    texts = [case.description or ""]
    for event in await cases.case_timeline(turn.session, case.id):
        note = cases.note_for_citizens(event)
        if note:
            texts.append(f"{local_time(event.at, turn.rt.settings.zone, turn.person.language)} — {note}")
    return "\n\n".join(text for text in texts if text)


def full_text_messages(_: Translate, number: str, text: str) -> list[Outgoing]:
    """The text whole, each message within Telegram's limit with a header saying which part it is."""
    widest = _("📄 <b>{number}</b>, full text ({part}/{count}):").format(number=number, part=99, count=99)
    pieces = parts(text, TEXT_LIMIT - telegram_length(widest) - 1)
    messages = []
    for position, piece in enumerate(pieces, 1):
        header = (_("📄 <b>{number}</b>, full text ({part}/{count}):").format(number=number, part=position, count=len(pieces))
                  if len(pieces) > 1 else _("📄 <b>{number}</b>, full text:").format(number=number))
        messages.append(Outgoing(header + "\n" + escape(piece)))
    return messages


async def show_full_text(turn: Turn, pressed: ShowFullText) -> ButtonOutcome:
    _ = turn._
    case = await cases.case_by_id(turn.session, pressed.case)
    text = await _readable_text(turn, case, pressed.step) if case is not None else None
    if case is None or not text:
        log.warning("update %s: full text of %s refused for person %s", turn.update_id, pressed, turn.person.id)
        return ButtonOutcome(notice=_("This button is not valid."))
    return ButtonOutcome(messages=full_text_messages(_, case.number, text))


PRESSES: dict[type[Button], PressHandler] = {ShowFullText: press_step(show_full_text)}
