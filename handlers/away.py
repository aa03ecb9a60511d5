"""/away: a responder (or grid worker) says they are away until a date, so call-outs, plans and
waves skip them (the roll call counts them apart); "🏖 I'm away" under a reminder or a "can't
come" does the same from the alert. The store's side is `storage/waves.py`.

```mermaid
stateDiagram-v2
    [*] --> Choosing: /away (their state, and Today / 3 days / A week)
    [*] --> Away: /away 2026-12-24
    [*] --> Choosing: 🏖 I'm away (under an alert)
    Choosing --> Away: Today / 3 days / A week
    Away --> [*]: /away off, or 🔙 I'm back
```
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from telegram import Message

from handlers import keyboards
from handlers.buttons import AskAway, AwayFor, BackFromAway, Button
from handlers.callout_refusals import refused_as_alert
from handlers.i18n import Translate
from handlers.turn import ButtonOutcome, Outgoing, PressHandler, Replies, Turn, press_step
from storage import waves
from storage.callouts import CallOutError, Refusal

OFF = ("off", "back", "关闭", "取消")


def _until(turn: Turn, day: date) -> datetime:
    """The end of that local day: when the absence ends."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=turn.rt.settings.zone)


def _today(turn: Turn) -> date:
    return turn.now.astimezone(turn.rt.settings.zone).date()


def _last_day(turn: Turn, until: datetime) -> str:
    """The last local day of an absence ending at `until`, as 2026-12-24."""
    return (until.astimezone(turn.rt.settings.zone) - timedelta(days=1)).date().isoformat()


def _away_said(_: Translate, day: str) -> str:
    return _("🏖 You are away until {date} (inclusive): call-outs and their waves skip you. "
             "/away off when you are back.").format(date=day)


def _back_said(_: Translate) -> str:
    return _("🔙 Welcome back: call-outs reach you again.")


async def away_command(turn: Turn, message: Message) -> Replies:
    """/away, /away 2026-12-24, /away off."""
    _ = turn._
    if not await waves.may_be_away(turn.session, turn.person.id):
        return [Outgoing(_("Only responders and grid workers get call-outs, so only they can be away."))]
    words = (message.text or "").split()[1:]
    if not words:
        until = waves.away_until(turn.person, turn.now)
        state = _away_said(_, _last_day(turn, until)) if until else _("You are not away: call-outs reach you.")
        return [Outgoing(state + "\n" + _("Away until when? Tap, or type /away 2026-12-24."),
                         keyboards.away_choices(_, 0, until is not None))]
    if words[0].lower() in OFF:
        waves.set_away(turn.person, None, turn.now)
        return [Outgoing(_back_said(_))]
    try:
        day = date.fromisoformat(words[0])
    except ValueError:
        return [Outgoing(_("Write the date as /away 2026-12-24, or /away off when you are back."))]
    if day < _today(turn) or day > _today(turn) + timedelta(days=waves.MAX_AWAY_DAYS - 1):
        return [Outgoing(_("Give a date from today to a year ahead, as /away 2026-12-24."))]
    waves.set_away(turn.person, _until(turn, day), turn.now)
    return [Outgoing(_away_said(_, day.isoformat()))]


async def ask_away(turn: Turn, pressed: AskAway) -> ButtonOutcome:
    """"I'm away" under an alert: until when (the alert keeps its buttons)."""
    _ = turn._
    if pressed.callout:
        await waves.alerted(turn.session, pressed.callout, turn.person.id)
    away = waves.away_until(turn.person, turn.now) is not None
    return ButtonOutcome(messages=[Outgoing(_("Away until when?"), keyboards.away_choices(_, pressed.callout, away))])


async def away_for(turn: Turn, pressed: AwayFor) -> ButtonOutcome:
    _ = turn._
    if pressed.days not in keyboards.AWAY_DAYS:
        raise CallOutError(Refusal.INVALID)
    day = _today(turn) + timedelta(days=pressed.days)
    if pressed.callout:
        await waves.away_from(turn.session, pressed.callout, turn.person, _until(turn, day), turn.now)
    else:
        waves.set_away(turn.person, _until(turn, day), turn.now)
    return ButtonOutcome(edit_text=_away_said(_, day.isoformat()), markup=None)


async def back(turn: Turn, pressed: BackFromAway) -> ButtonOutcome:
    waves.set_away(turn.person, None, turn.now)
    return ButtonOutcome(edit_text=_back_said(turn._), markup=None)


PRESSES: dict[type[Button], PressHandler] = {
    AskAway: press_step(refused_as_alert(ask_away)),
    AwayFor: press_step(refused_as_alert(away_for)),
    BackFromAway: press_step(refused_as_alert(back)),
}
