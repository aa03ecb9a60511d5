"""Official warnings in (CAP 1.2): the dispatcher's side. An alert posted to /cap/alerts (or found
in a polled feed) whose area touches micro-grids is drafted as a call-out (`storage/cap_in.py`) and
queued to the dispatchers of those areas; each sees the warning's words in their language, where,
and how many it reaches, and sends it with one tap, exactly as the composer's Send does (the
message becomes the live roll call), or dismisses it. The first dispatcher to decide decides for all.

```mermaid
stateDiagram-v2
    [*] --> Drafted: a CAP alert touching micro-grids (POST /cap/alerts, a feed)
    Drafted --> Drafted: a CAP Update (the draft changes; shown again)
    Drafted --> Live: 🚨 Send (a dispatcher of all its areas; becomes the board)
    Drafted --> [*]: ✖️ Dismiss, or a CAP Cancel (nothing is sent)
    Live --> Live: a CAP Update (a follow-up to responders)
    Live --> [*]: a CAP Cancel (stood down)
```
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Update

from handlers import callout_compose, keyboards
from handlers.buttons import Button, DismissCapDraft, SendCallOut, SendCapDraft
from handlers.callout_refusals import refused_as_alert
from handlers.fit import escape, user
from handlers.i18n import translator
from handlers.runtime import Runtime
from handlers.turn import ButtonOutcome, GridContext, PressHandler, Turn, press_step, run_turn, show_outcome
from storage import areas, cap_in
from storage.models import Person

SCOPE_NAMES_SHOWN = 5


async def render_draft(session: AsyncSession, rt: Runtime, person: Person,
                       alert_id: int) -> tuple[str, InlineKeyboardMarkup] | None:
    """The drafted call-out as a dispatcher is shown it, with Send and Dismiss; None once it was
    sent, dismissed or cancelled, or replaced by an Update (whose own message follows)."""
    _ = translator(person.language)
    found = await cap_in.draft_for(session, await rt.map.index(session), alert_id, person.language)
    if found is None:
        return None
    shown = found.micro_grids[:SCOPE_NAMES_SHOWN]
    names = await areas.area_names(session, shown)
    where = ", ".join(escape(names.get(c, c)) for c in shown) + (" …" if len(found.micro_grids) > SCOPE_NAMES_SHOWN else "")
    lines = [_("🚨 <b>Official warning</b> from {sender}: a call-out is drafted for you to confirm.").format(
        sender=user(found.record.sender)) if not found.updated else
        _("🔄 <b>Official warning updated</b> by {sender}: the drafted call-out changed.").format(
        sender=user(found.record.sender))]
    if found.mobilization.drill:
        lines.append(_("🧪 <b>DRILL – this is an exercise</b>"))
    info = found.info
    if info is not None:
        lines.append(f"<b>{user(info.headline or info.event)}</b>")
        if info.instruction or info.description:
            lines.append(user(info.instruction or info.description))
    if found.area:
        lines.append(_("Area: {area}").format(area=user(found.area)))
    lines.append(_("This will alert <b>{count}</b> people in {micro} micro-grid(s): {where}").format(
        count=found.reached, micro=len(found.micro_grids), where=where or "-"))
    return "\n".join(lines), keyboards.cap_draft(_, alert_id)


async def _send_pressed(update: Update, context: GridContext, pressed: Button) -> None:
    """🚨 Send: the dispatcher takes the draft and it is sent as the composer sends; the pressed
    message becomes the board."""
    query = update.callback_query
    assert query is not None and isinstance(pressed, SendCapDraft)
    board_message = query.message.message_id if query.message is not None else None

    async def send(turn: Turn, pressed: SendCapDraft) -> ButtonOutcome:
        draft = await cap_in.take_draft(turn.session, await turn.index(), pressed.alert, turn.person.id,
                                        turn.person.language)
        return await callout_compose.send(turn, SendCallOut(draft=draft.id, drill=int(draft.drill)), board_message)

    outcome = await run_turn(update, context, lambda turn: refused_as_alert(send)(turn, pressed))
    await show_outcome(update, context, outcome)


async def dismiss(turn: Turn, pressed: DismissCapDraft) -> ButtonOutcome:
    _ = turn._
    await cap_in.dismiss(turn.session, await turn.index(), pressed.alert, turn.person.id)
    return ButtonOutcome(edit_text=_("✖️ Dismissed. Nothing was sent."), markup=None)


PRESSES: dict[type[Button], PressHandler] = {
    SendCapDraft: _send_pressed,
    DismissCapDraft: press_step(refused_as_alert(dismiss)),
}
