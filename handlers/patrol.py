"""/checkin for workers on patrol (a live location counts until it ends) and /team for leaders.

```mermaid
stateDiagram-v2
    [*] --> CHECKING_IN: /checkin (a grid worker or leader)
    CHECKING_IN --> CheckedIn: a location, or a live location
    CheckedIn --> CheckedIn: the live location moves (until it ends)
    CHECKING_IN --> [*]: anything else
```

CHECKING_IN is a question (`storage.vocab.Question`): the location is optional.
"""

from __future__ import annotations

from telegram import Message

from handlers import keyboards
from handlers.fit import escape
from handlers.i18n import local_time
from handlers.questions import Accepts, Place
from handlers.turn import Outgoing, Replies, Turn
from storage import patrol, people, tasks
from storage.vocab import Question


async def start_checkin(turn: Turn, message: Message) -> Replies:
    _ = turn._
    if not await tasks.works_in_a_grid(turn.session, turn.person.id):
        return [Outgoing(_("Only grid workers and leaders check in. /whoami shows your roles."))]
    people.await_answer(turn.person, Question.CHECKING_IN, None)
    return [Outgoing(_("📍 Share your location to check in. A live location (📎 → Location → Share live "
                       "location) counts until it ends."), keyboards.location_request(_))]


async def take_checkin(turn: Turn, place: Place) -> Replies:
    _ = turn._
    zone, language = turn.rt.settings.zone, turn.person.language
    people.stop_awaiting(turn.person)
    row = await patrol.check_in(turn.session, turn.person.id, place.lat, place.lon, turn.now, place.live_period,
                                place.message_id)
    at = local_time(turn.now, zone, language)
    if row.live_until is not None:
        text = _("✅ Checked in at {at}, live until {until}.").format(at=at, until=local_time(row.live_until, zone, language))
    else:
        text = _("✅ Checked in at {at}.").format(at=at)
    return [Outgoing(text, await turn.menu())]


ANSWERS = {Question.CHECKING_IN: Accepts(place=take_checkin, place_optional=True)}


async def move_live_location(turn: Turn, message: Message) -> Replies:
    """Telegram sends a live location's moves as edits of the same message: its check-in follows."""
    if message.location is not None:
        await patrol.move_live(turn.session, turn.person.id, message.message_id, message.location.latitude,
                               message.location.longitude, turn.now)
    return []


async def show_team(turn: Turn, message: Message) -> Replies:
    """/team: the workers of a leader's grids, where they checked in today and their open cases."""
    _ = turn._
    zone, language = turn.rt.settings.zone, turn.person.language
    members = await patrol.team_of(turn.session, turn.person.id, turn.now, zone)
    if not await tasks.led_grids(turn.session, turn.person.id):
        return [Outgoing(_("Only grid leaders have a team. /whoami shows your roles."))]
    if not members:
        return [Outgoing(_("Your grid has no workers yet. /invite adds one."))]
    lines = [_("👥 <b>Your team today</b>")]
    for member in members:
        if member.last is None:
            seen = _("not checked in today")
        elif member.last.live_until is not None and member.last.live_until > turn.now:
            seen = _("📍 out now (live until {until})").format(until=local_time(member.last.live_until, zone, language))
        else:
            seen = _("checked in at {at}").format(at=local_time(member.last.at, zone, language))
        lines.append(_("👷 {name} · {seen} · {count} open").format(name=escape(member.person.name), seen=seen,
                                                                  count=member.open_cases))
    return [Outgoing("\n".join(lines))]
