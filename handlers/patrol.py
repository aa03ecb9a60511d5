"""/checkin for workers on patrol (a live location counts until it ends) and /team for leaders."""

from __future__ import annotations

from telegram import Update

from handlers import keyboards
from handlers.common import (
    Context,
    Outgoing,
    esc,
    person_session,
    runtime,
    send_all,
    tr,
)
from handlers.i18n import local_time
from handlers.questions import Accepts, Place
from handlers.turn import Replies, Turn
from storage import patrol, people, tasks
from storage.vocab import Question

CHECKING_IN = Question.CHECKING_IN


async def start_checkin(update: Update, context: Context) -> None:
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        if not await tasks.works_in_a_grid(session, person.id):
            message = Outgoing(_("Only grid workers and leaders check in. /whoami shows your roles."))
        else:
            people.await_answer(person, CHECKING_IN, None)
            message = Outgoing(_("📍 Share your location to check in. A live location (📎 → Location → Share live "
                                 "location) counts until it ends."), keyboards.location_request(_))
    await send_all(context.bot, update.effective_chat.id, [message])


async def take_checkin(session, rt, person, lat: float, lon: float, live_for,  # type: ignore[no-untyped-def]
                       message_id: int) -> list[Outgoing]:
    _ = tr(person)
    people.stop_awaiting(person)
    now = rt.clock.now()
    row = await patrol.check_in(session, person.id, lat, lon, now, live_for, message_id)
    at = local_time(now, rt.settings.zone, person.language)
    if row.live_until is not None:
        text = _("✅ Checked in at {at}, live until {until}.").format(
            at=at, until=local_time(row.live_until, rt.settings.zone, person.language))
    else:
        text = _("✅ Checked in at {at}.").format(at=at)
    return [Outgoing(text, keyboards.main_menu(_))]


async def on_live_location_moved(update: Update, context: Context) -> None:
    """Telegram sends a live location's moves as edits of the same message."""
    message = update.edited_message
    if message is None or message.location is None or update.effective_user is None:
        return
    rt = runtime(context)
    async with person_session(update, context) as (session, person):
        await patrol.move_live(session, person.id, message.message_id, message.location.latitude,
                               message.location.longitude, rt.clock.now())


async def show_team(update: Update, context: Context) -> None:
    rt = runtime(context)
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        members = await patrol.team_of(session, person.id, rt.clock.now(), rt.settings.zone)
        leads = bool(await tasks.led_grids(session, person.id))
    if not leads:
        text = _("Only grid leaders have a team. /whoami shows your roles.")
    elif not members:
        text = _("Your grid has no workers yet. /invite adds one.")
    else:
        now = rt.clock.now()
        lines = [_("👥 <b>Your team today</b>")]
        for member in members:
            if member.last is None:
                seen = _("not checked in today")
            elif member.last.live_until is not None and member.last.live_until > now:
                seen = _("📍 out now (live until {until})").format(
                    until=local_time(member.last.live_until, rt.settings.zone, person.language))
            else:
                seen = _("checked in at {at}").format(at=local_time(member.last.at, rt.settings.zone, person.language))
            lines.append(_("👷 {name} · {seen} · {count} open").format(name=esc(member.person.name), seen=seen,
                                                                      count=member.open_cases))
        text = "\n".join(lines)
    await send_all(context.bot, update.effective_chat.id, [Outgoing(text)])


async def _checkin_place(turn: Turn, place: Place) -> Replies:
    return await take_checkin(turn.session, turn.rt, turn.person, place.lat, place.lon, place.live_period,
                              place.message_id)


ANSWERS = {Question.CHECKING_IN: Accepts(place=_checkin_place, place_optional=True)}
