"""What a responder sees of a call-out: the alert with its buttons, follow-ups, the stand-down; and
their answers (coming / arrived / can't come), which they may change while it lasts."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers import keyboards
from handlers.callbacks import Pressed, button_data
from handlers.common import (
    KEEP,
    ButtonOutcome,
    Context,
    Outgoing,
    person_session,
    runtime,
    show_outcome,
    tr,
)
from handlers.fit import user
from handlers.i18n import Translate, local_time
from handlers.questions import Accepts, Place
from handlers.runtime import Runtime
from handlers.turn import Replies, Turn
from storage import mobilize, people
from storage.mobilize import MobilizeError
from storage.models import Mobilization, Person, Responder
from storage.vocab import Question

log = logging.getLogger(__name__)


def alert_text(_: Translate, rt: Runtime, language: str, mobilization: Mobilization, commander: str, again: bool) -> str:
    lines = []
    if mobilization.drill:
        lines.append(_("🧪 <b>DRILL – this is an exercise</b>"))
    if again:
        lines.append(_("🔔 Reminder: please answer."))
    lines.append(f"🚨 <b>{user(mobilization.headline)}</b>")
    if mobilization.instruction:
        lines.append(user(mobilization.instruction))
    if mobilization.need:
        lines.append(_("👥 {count} people needed").format(count=mobilization.need))
    if mobilization.meet_lat is not None:
        lines.append(_("📍 Meeting point: the pin above"))
    when = local_time(mobilization.sent_at or mobilization.created_at, rt.settings.zone, language)
    lines.append(_("From {name} · {when}").format(name=user(commander), when=when))
    return "\n".join(lines)


def answer_buttons(_: Translate, mobilization_id: int, given: str | None) -> InlineKeyboardMarkup:
    if given in ("coming", "arrived"):
        row = [InlineKeyboardButton(_("📍 Arrived") + (" ✓" if given == "arrived" else ""),
                                    callback_data=button_data("m:ans", mobilization_id, 1)),
               InlineKeyboardButton(_("❌ Can't come"), callback_data=button_data("m:ans", mobilization_id, 2))]
    else:
        row = [InlineKeyboardButton(_("✅ Coming"), callback_data=button_data("m:ans", mobilization_id, 0)),
               InlineKeyboardButton(_("❌ Can't come") + (" ✓" if given == "cannot" else ""),
                                    callback_data=button_data("m:ans", mobilization_id, 2))]
    return InlineKeyboardMarkup([row])


async def render_alert(session: AsyncSession, rt: Runtime, person: Person, mobilization_id: int,
                       again: bool) -> tuple[str, InlineKeyboardMarkup, tuple[float, float] | None] | None:
    mobilization = await session.get(Mobilization, mobilization_id)
    responder = await session.get(Responder, (mobilization_id, person.id))
    if mobilization is None or responder is None or mobilization.state != "active":
        return None
    if again and responder.answer is not None:
        return None  # answered since the re-alert was queued
    commander = await session.get(Person, mobilization.commander_id)
    _ = tr(person)
    text = alert_text(_, rt, person.language, mobilization, commander.name if commander else "", again)
    pin = (mobilization.meet_lat, mobilization.meet_lon) if mobilization.meet_lat is not None else None
    return text, answer_buttons(_, mobilization.id, responder.answer), pin


ANSWER_NAMES = {0: "coming", 1: "arrived", 2: "cannot"}
ARRIVED_WHERE = Question.ARRIVED_WHERE


async def take_arrival_location(session: AsyncSession, rt: Runtime, person: Person, lat: float, lon: float) -> list[Outgoing]:
    """The optional position of a responder who has arrived."""
    _ = tr(person)
    mobilization_id = person.awaiting_ref
    people.stop_awaiting(person)
    try:
        await mobilize.answer(session, mobilization_id or 0, person.id, "arrived", rt.clock.now(), (lat, lon))
    except MobilizeError:
        return [Outgoing(_("This call-out is over. Thank you."), keyboards.main_menu(_))]
    return [Outgoing(_("📍 Position added. Thank you."), keyboards.main_menu(_))]


async def on_answer_button(update: Update, context: Context, pressed: Pressed) -> None:
    rt = runtime(context)
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        given = ANSWER_NAMES.get(pressed.int_arg(1))
        try:
            if given is None:
                raise MobilizeError("invalid")
            mobilization = await mobilize.answer(session, pressed.int_arg(0), person.id, given, rt.clock.now())
            said = {"coming": _("Thank you – you are coming."), "arrived": _("Thank you – you have arrived."),
                    "cannot": _("Noted – you cannot come.")}[given]
            outcome = ButtonOutcome(notice=said, markup=answer_buttons(_, mobilization.id, given))
            if given == "arrived":
                people.await_answer(person, ARRIVED_WHERE, mobilization.id)
                outcome.messages.append(Outgoing(_("📍 To show the commander where you are, share your location "
                                                   "now (optional)."), keyboards.location_request(_)))
        except MobilizeError as error:
            log.info("update %s: answer refused: %s", update.update_id, error.reason)
            texts = {"over": _("This call-out is over. Thank you."),
                     "not_yours": _("This call-out was not sent to you."),
                     "invalid": _("This button is not valid.")}
            outcome = ButtonOutcome(notice=texts.get(error.reason, texts["invalid"]), alert=True,
                                    markup=None if error.reason == "over" else KEEP)
    await show_outcome(update, context, outcome)


async def _arrival_place(turn: Turn, place: Place) -> Replies:
    return await take_arrival_location(turn.session, turn.rt, turn.person, place.lat, place.lon)


ANSWERS = {Question.ARRIVED_WHERE: Accepts(place=_arrival_place, place_optional=True)}
