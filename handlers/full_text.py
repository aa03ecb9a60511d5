"""The whole of a person's words that a card had to shorten, one tap away.

A card whose description (or a step's note) was cut to fit Telegram gets a "Full text" button;
pressing it sends that text whole, in as many messages as it takes. The button names a case and,
for a note, one of its steps; the store decides whether the person may read it.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers.callbacks import Pressed, button_data
from handlers.common import (
    Context,
    Outgoing,
    answer_button,
    person_session,
    runtime,
    send_all,
    tr,
)
from handlers.fit import TEXT_LIMIT, Fitted, escape, fit, parts, telegram_length
from handlers.i18n import local_time
from handlers.runtime import Runtime
from storage import cases, dispatch, tasks
from storage.models import Case, CaseEvent, Person

log = logging.getLogger(__name__)


def with_full_text(_, fitted: Fitted, markup: InlineKeyboardMarkup | None, case_id: int,  # type: ignore[no-untyped-def]
                   event_id: int = 0) -> InlineKeyboardMarkup | None:
    """The card's buttons, and a "Full text" button under them when its words were shortened."""
    if not fitted.shortened:
        return markup
    rows = [list(row) for row in markup.inline_keyboard] if markup is not None else []
    rows.append([InlineKeyboardButton(_("📄 Full text"), callback_data=button_data("x:full", case_id, event_id))])
    return InlineKeyboardMarkup(rows)


def fitted_card(_, text: str, markup: InlineKeyboardMarkup | None, case_id: int,  # type: ignore[no-untyped-def]
                event_id: int = 0) -> tuple[str, InlineKeyboardMarkup | None]:
    """A card's text made to fit Telegram, with the button to read what was left out."""
    fitted = fit(text, TEXT_LIMIT)
    return fitted.text, with_full_text(_, fitted, markup, case_id, event_id)


async def _readable_text(session: AsyncSession, rt: Runtime, person: Person, case: Case, event_id: int) -> str | None:
    """The description (or the step's note) if this person may read it: staff who may act on the
    case read every note, and with the description why the citizen reopened it; the people who
    follow the case read what citizens may read."""
    _ = tr(person)
    index = await rt.map.index(session)
    staff = await tasks.may_see_task(session, index, person.id, case) or \
        await dispatch.may_dispatch(session, index, person.id, case)
    if not staff:
        try:
            await cases.followed_case(session, case.id, person.id)
        except cases.NotYourCase:
            return None
    if event_id == 0 and not staff:
        # A resident's button is under the case's history, where the notes are shortened as well.
        return await _history_for_citizens(session, rt, person, case)
    if event_id == 0:
        reason = await cases.reopen_reason(session, case) if case.state == "reopened" else None
        texts = [case.description or "", _("Reason: {reason}").format(reason=reason) if reason else ""]
        return "\n\n".join(text for text in texts if text)
    event = await session.get(CaseEvent, event_id)
    if event is None or event.case_id != case.id:
        return None
    return event.note if staff else cases.note_for_citizens(event)


async def _history_for_citizens(session: AsyncSession, rt: Runtime, person: Person, case: Case) -> str:
    """The description and every note of the history a resident reads, each note with its time."""
    texts = [case.description or ""]
    for event in await cases.case_timeline(session, case.id):
        note = cases.note_for_citizens(event)
        if note:
            texts.append(f"{local_time(event.at, rt.settings.zone, person.language)} — {note}")
    return "\n\n".join(text for text in texts if text)


def full_text_messages(_, number: str, text: str) -> list[Outgoing]:  # type: ignore[no-untyped-def]
    """The text whole, each message within Telegram's limit with a header saying which part it is."""
    widest = _("📄 <b>{number}</b>, full text ({part}/{count}):").format(number=number, part=99, count=99)
    pieces = parts(text, TEXT_LIMIT - telegram_length(widest) - 1)
    messages = []
    for position, piece in enumerate(pieces, 1):
        header = (_("📄 <b>{number}</b>, full text ({part}/{count}):").format(number=number, part=position, count=len(pieces))
                  if len(pieces) > 1 else _("📄 <b>{number}</b>, full text:").format(number=number))
        messages.append(Outgoing(header + "\n" + escape(piece)))
    return messages


async def on_full_text_button(update: Update, context: Context, pressed: Pressed) -> None:
    rt = runtime(context)
    query = update.callback_query
    assert query is not None
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        case = await cases.case_by_id(session, pressed.int_arg(0))
        text = await _readable_text(session, rt, person, case, pressed.int_arg(1)) if case is not None else None
        number = case.number if case is not None else ""
        person_id = person.id
    if not text:
        log.warning("update %s: full text of %s refused for person %s", update.update_id, pressed.args, person_id)
        await answer_button(query, _("This button is not valid."))
        return
    await answer_button(query)
    # To the person's own chat: a button on an inline message carries no chat at all.
    await send_all(context.bot, query.from_user.id, full_text_messages(_, number, text))
