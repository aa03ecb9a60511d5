"""A case becomes a call-out (平转急), and the commander stops a call-out's waves.

On a dispatcher's case card, or a grid leader's task card, "🚨 Call out around this case" opens the
call-out composer's preview with everything preset from the case (`storage/case_callouts.py`): the
micro-grids within 300 m of its point, a headline and instruction from its category and place,
the case's point as the meeting point. The commander sends it, or adjusts who, the message and how
many are needed through the composer (`handlers/callout_compose.py`). The case's history keeps the
call-out; its citizens are not told.

```mermaid
stateDiagram-v2
    [*] --> Preview: 🚨 Call out around this case (a leader or dispatcher of the case's area)
    Preview --> Who: ✏️ Adjust who, message, how many (the composer from "Who?")
    Preview --> Board: 🚨 Send now / 🧪 Send as a drill (callout_compose)
    Preview --> [*]: ✖️ Cancel
    Board --> Board: ⏹ Stop waves (while waves still go out)
```
"""

from __future__ import annotations

from handlers import keyboards
from handlers.buttons import Button, CallOutAroundCase, StopWaves
from handlers.callout_board import board_markup, board_text
from handlers.callout_compose import preview as callout_preview
from handlers.callout_refusals import refused_as_alert
from handlers.texts import category_label
from handlers.turn import ButtonOutcome, Outgoing, PressHandler, Turn, press_step
from storage import areas, callouts, case_callouts, cases, waves
from storage.callouts import CallOutError, Refusal
from storage.models import Case


async def _place(turn: Turn, case: Case) -> str:
    """Where the case is, in a few words: its address, or the name of its area."""
    if case.address:
        return " ".join(case.address.split())
    names = await areas.area_names(turn.session, [case.area_code] if case.area_code else [])
    return names.get(case.area_code or "", case.area_code or "")


async def call_out_around(turn: Turn, pressed: CallOutAroundCase) -> ButtonOutcome:
    """A draft around the case, shown as its preview with Send and Adjust."""
    _ = turn._
    case = await cases.case_by_id(turn.session, pressed.case)
    if case is None:
        raise CallOutError(Refusal.NOT_YOURS)
    what = category_label(turn.rt, case.category_code, turn.person.language)
    place = await _place(turn, case)
    headline = _("{what} at {place}").format(what=what, place=place)
    instruction = _("Case {number}: please come to the pin (the case's place) and help; "
                    "tell the commander when you are there.").format(number=case.number)
    draft = await case_callouts.draft_around_case(turn.session, await turn.index(), turn.person.id, case, headline,
                                                  instruction, turn.now)
    preview = await callout_preview(turn, draft)
    preview[-1].markup = keyboards.case_callout_send(_, draft.id)
    intro = _("🚨 <b>Call out around case {number}</b>: the micro-grids within {metres} m, the message from the case. "
              "Send it, or adjust it.").format(number=case.number, metres=case_callouts.CASE_RADIUS_M)
    return ButtonOutcome(messages=[Outgoing(intro), *preview])


async def stop_waves(turn: Turn, pressed: StopWaves) -> ButtonOutcome:
    """No more waves by themselves: the board says so and loses the button."""
    _ = turn._
    mobilization = await waves.stop_waves(turn.session, pressed.callout, turn.person.id)
    text = await board_text(turn.session, turn.person.language, mobilization, turn.now)
    callouts.keep_board(mobilization, text)
    return ButtonOutcome(notice=_("⏹ Waves stopped: nobody more is called by themselves."), edit_text=text,
                         markup=board_markup(_, mobilization))


PRESSES: dict[type[Button], PressHandler] = {
    CallOutAroundCase: press_step(refused_as_alert(call_out_around)),
    StopWaves: press_step(refused_as_alert(stop_waves)),
}
