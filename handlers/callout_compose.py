"""/mobilize: a commander puts a call-out together (where, who, what), sees it as recipients will,
and sends it with one tap (or as a drill); the message with the Send button becomes the live roll
call (`handlers/callout_board.py`). The draft and its rules are in `storage/callout_drafts.py`:
each step here hands it the pressed or typed value and shows what comes next.

```mermaid
stateDiagram-v2
    [*] --> Where: /mobilize without plans, or ✏️ New call-out under the plans (handlers/callout_plans.py)
    Where --> Where: 📂 open an area, ⬆️ up, tick ✅ / untick ⬜ an area
    Where --> CALLOUT_POINT: 📍 Around a point
    CALLOUT_POINT --> Radius: a location (the centre)
    Radius --> Who: 100 m … 1000 m
    Where --> Who: Next (something ticked)
    Who --> Who: tick a kind of responder, or all
    Who --> What: Next
    What --> CALLOUT_HEADLINE: ✏️ Write my own
    What --> CALLOUT_INSTRUCTION: a template (its headline)
    CALLOUT_HEADLINE --> CALLOUT_INSTRUCTION: the typed headline
    CALLOUT_INSTRUCTION --> CALLOUT_MEETING: the typed instruction
    CALLOUT_MEETING --> Need: a location, or No meeting point
    Need --> Preview: any, or how many
    Preview --> [*]: 🚨 Send now / 🧪 Send as a drill (the board, callout_command)
    Preview --> [*]: ✖️ Cancel
```
"""

from __future__ import annotations

from collections.abc import Callable

from telegram import InlineKeyboardMarkup, Message, Update

from handlers import keyboards
from handlers.buttons import (
    Button,
    CallOutAreasInside,
    CallOutAroundPoint,
    CallOutRadius,
    ChooseCallOutMessage,
    ChooseCallOutResponders,
    DropCallOutDraft,
    NoMeetingPoint,
    PeopleNeeded,
    SendCallOut,
    ToggleCallOutArea,
    ToggleResponderTag,
    UseCallOutTemplate,
)
from handlers.callout_answers import alert_text
from handlers.callout_board import board_markup, board_text
from handlers.callout_refusals import refusal, refused_as_alert, typed_words
from handlers.fit import escape
from handlers.i18n import Translate
from handlers.questions import Accepts, Place
from handlers.turn import (
    ButtonOutcome,
    GridContext,
    Outgoing,
    PressHandler,
    Replies,
    Turn,
    press_step,
    run_turn,
    show_outcome,
)
from storage import areas, callout_drafts, callout_scope, callouts, people, waves
from storage.callout_drafts import NEEDS, RADII, TEMPLATES, DraftStep
from storage.callout_scope import GRID_WORKERS, TAG_OPTIONS, Command
from storage.callouts import CallOutError, Refusal
from storage.map_index import AreaIndex
from storage.models import Mobilization
from storage.vocab import N_, Level, Question

MAX_AREA_BUTTONS = 40
SCOPE_NAMES_SHOWN = 5

TEMPLATE_HEADLINES = {
    "flood": N_("🌊 Flood: water is rising"),
    "fire": N_("🔥 Fire"),
    "missing": N_("🔎 Missing person"),
    "evacuate": N_("🚪 Evacuation"),
    "doors": N_("🚪 Door-to-door check"),
    "free": N_("✏️ Write my own"),
}
TAG_LABELS = {
    "party_member": N_("party members"),
    "volunteer": N_("volunteers"),
    "property_staff": N_("property staff"),
    "building_head": N_("building heads"),
    GRID_WORKERS: N_("grid workers"),
}
# The steps that wait for the commander's next message, and the question each records.
ASKED = {
    DraftStep.POINT: Question.CALLOUT_POINT,
    DraftStep.HEADLINE: Question.CALLOUT_HEADLINE,
    DraftStep.INSTRUCTION: Question.CALLOUT_INSTRUCTION,
    DraftStep.MEETING: Question.CALLOUT_MEETING,
}


async def start(turn: Turn, message: Message) -> Replies:
    """A new draft (see `compose`); /mobilize itself goes to `callout_plans.mobilize`, plans first."""
    return await compose(turn)


async def compose(turn: Turn) -> Replies:
    """A new draft, starting at where (at the commander's own area when they have one)."""
    _ = turn._
    command = await callout_scope.command_of(turn.session, turn.person.id)
    if not command:
        return [Outgoing(refusal(_, Refusal.NO_COMMAND))]
    draft = await callout_drafts.start_draft(turn.session, turn.person.id, turn.now)
    home = sorted(command.areas)[0] if len(command.areas) == 1 and not command.everywhere else None
    return [Outgoing(_("🚨 <b>Call out responders</b>\n1/3 Where? Tick micro-grids or whole areas, or use a point."),
                     await _where(turn, await turn.index(), command, draft, home))]


# --- what is shown next ---------------------------------------------------------------------------


async def _where(turn: Turn, index: AreaIndex, command: Command, draft: Mobilization, at: str | None) -> InlineKeyboardMarkup:
    """The areas at `at` to tick or open, the point, and Next."""
    choices = callout_drafts.area_choices(index, command, at)
    inside = choices.inside[:MAX_AREA_BUTTONS]
    names = await areas.area_names(turn.session, [*([choices.whole] if choices.whole else []), *inside])
    whole = (choices.whole, names.get(choices.whole, choices.whole)) if choices.whole else None
    return keyboards.callout_where(turn._, draft.id, set(draft.area_codes), whole,
                                   [(code, names.get(code, code), index.level_of(code) == Level.MICROGRID) for code in inside],
                                   choices.up)


def _who(_: Translate, draft: Mobilization) -> InlineKeyboardMarkup:
    return keyboards.callout_who(_, draft.id, [(_(TAG_LABELS[tag]), tag in draft.tags) for tag in TAG_OPTIONS])


async def preview(turn: Turn, draft: Mobilization) -> list[Outgoing]:
    """The alert exactly as recipients will see it, how many it reaches, and the Send buttons."""
    _ = turn._
    micro, reached = await callout_scope.scope_of(turn.session, await turn.index(), draft)
    shown = micro[:SCOPE_NAMES_SHOWN]
    names = await areas.area_names(turn.session, shown)
    where = ", ".join(escape(names.get(c, c)) for c in shown) + (" …" if len(micro) > SCOPE_NAMES_SHOWN else "")
    sample = alert_text(_, turn.rt.settings.zone, turn.person.language, draft, turn.person.name, False)
    away = await callouts.absent(turn.session, reached, turn.now)
    summary = _("This will alert <b>{count}</b> people in {micro} micro-grid(s): {where}").format(
        count=len(reached) - len(away), micro=len(micro), where=where or "-")
    if away:
        summary += "\n" + _("🏖 Away: {count}").format(count=len(away))
    if waves.waves_wanted(draft):
        summary += "\n" + _("🌊 In waves: while fewer than {need} are coming, more are called every {minutes} min "
                             "(the next kind ticked, then the micro-grids next door).").format(
            need=draft.need, minutes=draft.wave_minutes)
    return [Outgoing(_("Preview – recipients will see:") + "\n\n" + sample),
            Outgoing(summary, keyboards.with_save_as_plan(_, draft.id, keyboards.callout_send(_, draft.id)))]


async def _next(turn: Turn, draft: Mobilization, step: DraftStep) -> list[Outgoing]:
    """Ask for `step`: its prompt, and the question recorded where the answer is a message."""
    _ = turn._
    if step in ASKED:
        people.await_answer(turn.person, ASKED[step], draft.id)
    elif step == DraftStep.NEED:
        people.stop_awaiting(turn.person)
    match step:
        case DraftStep.POINT:
            return [Outgoing(_("📍 Send the location of the centre (📎 → Location)."), keyboards.location_request(_))]
        case DraftStep.RADIUS:
            return [Outgoing(_("How far around it?"), keyboards.callout_radius(_, draft.id, RADII))]
        case DraftStep.WHO:
            return [Outgoing(_("🚨 <b>Call out responders</b>\n2/3 Who?"), _who(_, draft))]
        case DraftStep.WHAT:
            return [Outgoing(_("🚨 <b>Call out responders</b>\n3/3 What is happening?"),
                             keyboards.callout_templates(draft.id, [_(TEMPLATE_HEADLINES[t]) for t in TEMPLATES]))]
        case DraftStep.HEADLINE:
            return [Outgoing(_("Type a short headline (what is happening)."))]
        case DraftStep.INSTRUCTION:
            return [Outgoing(_("Type the instruction: what should people do, and where?"))]
        case DraftStep.MEETING:
            return [Outgoing(_("📍 Send the meeting point as a location, or tap No meeting point."),
                             keyboards.callout_no_meeting_point(_, draft.id))]
        case DraftStep.NEED:
            return [Outgoing(_("How many people are needed?"), keyboards.callout_need(_, draft.id, NEEDS))]
        case DraftStep.PREVIEW:
            return await preview(turn, draft)


async def _edit_to(turn: Turn, draft: Mobilization, step: DraftStep) -> ButtonOutcome:
    """The pressed message becomes the prompt of `step`."""
    (prompt,) = await _next(turn, draft, step)
    return ButtonOutcome(edit_text=prompt.text, markup=prompt.markup)


async def _below(turn: Turn, draft: Mobilization, step: DraftStep) -> ButtonOutcome:
    """The pressed message loses its buttons; the prompt of `step` follows it."""
    return ButtonOutcome(markup=None, messages=await _next(turn, draft, step))


async def _draft(turn: Turn, draft_id: int) -> Mobilization:
    return await callout_drafts.draft_of(turn.session, draft_id, turn.person.id)


async def _commanding(turn: Turn) -> tuple[AreaIndex, Command]:
    """The map, and the areas the person commands on it."""
    return await turn.index(), await callout_scope.command_of(turn.session, turn.person.id)


# --- where ----------------------------------------------------------------------------------------


async def open_area(turn: Turn, pressed: CallOutAreasInside) -> ButtonOutcome:
    draft = await _draft(turn, pressed.draft)
    index, command = await _commanding(turn)
    at = callout_drafts.open_area(index, command, pressed.area)
    return ButtonOutcome(markup=await _where(turn, index, command, draft, at))


async def toggle_area(turn: Turn, pressed: ToggleCallOutArea) -> ButtonOutcome:
    draft = await _draft(turn, pressed.draft)
    index, command = await _commanding(turn)
    at = callout_drafts.toggle_area(draft, index, command, pressed.area)
    return ButtonOutcome(markup=await _where(turn, index, command, draft, at))


async def around_point(turn: Turn, pressed: CallOutAroundPoint) -> ButtonOutcome:
    draft = await _draft(turn, pressed.draft)
    return ButtonOutcome(messages=await _next(turn, draft, DraftStep.POINT))


async def choose_radius(turn: Turn, pressed: CallOutRadius) -> ButtonOutcome:
    draft = await _draft(turn, pressed.draft)
    index, command = await _commanding(turn)
    return await _edit_to(turn, draft, callout_drafts.choose_radius(draft, index, command, pressed.metres))


async def choose_responders(turn: Turn, pressed: ChooseCallOutResponders) -> ButtonOutcome:
    draft = await _draft(turn, pressed.draft)
    return await _edit_to(turn, draft, callout_drafts.who_next(draft))


# --- who and what ---------------------------------------------------------------------------------


async def toggle_tag(turn: Turn, pressed: ToggleResponderTag) -> ButtonOutcome:
    draft = await _draft(turn, pressed.draft)
    callout_drafts.toggle_tag(draft, pressed.tag)
    return ButtonOutcome(markup=_who(turn._, draft))


async def choose_message(turn: Turn, pressed: ChooseCallOutMessage) -> ButtonOutcome:
    draft = await _draft(turn, pressed.draft)
    return await _edit_to(turn, draft, DraftStep.WHAT)


async def use_template(turn: Turn, pressed: UseCallOutTemplate) -> ButtonOutcome:
    _ = turn._
    draft = await _draft(turn, pressed.draft)
    step = callout_drafts.choose_template(draft, pressed.template, lambda template: _(TEMPLATE_HEADLINES[template]))
    return await _below(turn, draft, step)


async def _typed(turn: Turn, text: str, limit: int | None, into: Callable[[Mobilization, str], DraftStep] | None,
                 reminder: str = "") -> Replies:
    """Typed text at one of the draft's questions: kept by `into`, or, where a location is awaited,
    the `reminder` of what to send."""
    _ = turn._
    words, refused = typed_words(_, text, turn.person.awaiting_ref, limit)
    if refused is not None:
        return [refused]
    try:
        draft = await _draft(turn, turn.person.awaiting_ref or 0)
    except CallOutError as error:
        people.stop_awaiting(turn.person)
        return [Outgoing(refusal(_, error.reason))]
    if into is None:
        return [Outgoing(reminder)]
    return await _next(turn, draft, into(draft, words))


async def take_headline(turn: Turn, text: str) -> Replies:
    return await _typed(turn, text, callout_drafts.MAX_HEADLINE, callout_drafts.set_headline)


async def take_instruction(turn: Turn, text: str) -> Replies:
    return await _typed(turn, text, callout_drafts.MAX_INSTRUCTION, callout_drafts.set_instruction)


async def text_for_the_centre(turn: Turn, text: str) -> Replies:
    _ = turn._
    return await _typed(turn, text, None, None, _("📍 Please send a location (📎 → Location), or /cancel."))


async def text_for_the_meeting_point(turn: Turn, text: str) -> Replies:
    _ = turn._
    return await _typed(turn, text, None, None, _("📍 Send the meeting point as a location, or tap No meeting point."))


async def _placed(turn: Turn, place: Place, into: Callable[[Mobilization, float, float], DraftStep], said: str) -> Replies:
    """A location for the draft (the question ends whatever it finds), kept by `into`."""
    _ = turn._
    draft_id = turn.person.awaiting_ref
    people.stop_awaiting(turn.person)
    try:
        draft = await _draft(turn, draft_id or 0)
    except CallOutError as error:
        return [Outgoing(refusal(_, error.reason), await turn.menu())]
    step = into(draft, place.lat, place.lon)
    return [Outgoing(said, await turn.menu()), *await _next(turn, draft, step)]


async def take_centre(turn: Turn, place: Place) -> Replies:
    """The centre of "around a point"."""
    _ = turn._
    return await _placed(turn, place, callout_drafts.set_centre, _("📍 Centre set."))


async def take_meeting_point(turn: Turn, place: Place) -> Replies:
    _ = turn._
    return await _placed(turn, place, callout_drafts.set_meeting_point, _("📍 Meeting point set."))


async def no_meeting_point(turn: Turn, pressed: NoMeetingPoint) -> ButtonOutcome:
    draft = await _draft(turn, pressed.draft)
    return await _below(turn, draft, callout_drafts.skip_meeting_point(draft))


async def people_needed(turn: Turn, pressed: PeopleNeeded) -> ButtonOutcome:
    draft = await _draft(turn, pressed.draft)
    return await _below(turn, draft, callout_drafts.set_need(draft, pressed.number,
                                                             turn.rt.settings.callout_wave_minutes or None))


# --- sent, or cancelled ---------------------------------------------------------------------------


async def send(turn: Turn, pressed: SendCallOut, board_message: int | None) -> ButtonOutcome:
    """Send it (or a drill): the summary with the Send buttons, `board_message`, becomes the board."""
    _ = turn._
    mobilization, count = await callout_drafts.send(turn.session, await turn.index(), pressed.draft, turn.person.id,
                                                    turn.now, pressed.drill == 1)
    text = await board_text(turn.session, turn.person.language, mobilization, turn.now)
    callouts.keep_board(mobilization, text, edited_at=turn.now, message_id=board_message)
    return ButtonOutcome(notice=_("Sent to {count} people.").format(count=count), edit_text=text,
                         markup=board_markup(_, mobilization))


async def _send_pressed(update: Update, context: GridContext, pressed: Button) -> None:
    """Like every press, but the step learns which message was pressed: it becomes the board."""
    query = update.callback_query
    assert query is not None and isinstance(pressed, SendCallOut)
    board_message = query.message.message_id if query.message is not None else None

    async def send_from_here(turn: Turn, pressed: SendCallOut) -> ButtonOutcome:
        return await send(turn, pressed, board_message)

    outcome = await run_turn(update, context, lambda turn: refused_as_alert(send_from_here)(turn, pressed))
    await show_outcome(update, context, outcome)


async def drop(turn: Turn, pressed: DropCallOutDraft) -> ButtonOutcome:
    _ = turn._
    callout_drafts.drop(await _draft(turn, pressed.draft))
    return ButtonOutcome(edit_text=_("✖️ Call-out cancelled. Nothing was sent."), markup=None)


PRESSES: dict[type[Button], PressHandler] = {
    CallOutAreasInside: press_step(refused_as_alert(open_area)),
    ToggleCallOutArea: press_step(refused_as_alert(toggle_area)),
    CallOutAroundPoint: press_step(refused_as_alert(around_point)),
    CallOutRadius: press_step(refused_as_alert(choose_radius)),
    ChooseCallOutResponders: press_step(refused_as_alert(choose_responders)),
    ToggleResponderTag: press_step(refused_as_alert(toggle_tag)),
    ChooseCallOutMessage: press_step(refused_as_alert(choose_message)),
    UseCallOutTemplate: press_step(refused_as_alert(use_template)),
    NoMeetingPoint: press_step(refused_as_alert(no_meeting_point)),
    PeopleNeeded: press_step(refused_as_alert(people_needed)),
    SendCallOut: _send_pressed,
    DropCallOutDraft: press_step(refused_as_alert(drop)),
}
ANSWERS = {
    Question.CALLOUT_POINT: Accepts(text=text_for_the_centre, place=take_centre),
    Question.CALLOUT_HEADLINE: Accepts(text=take_headline),
    Question.CALLOUT_INSTRUCTION: Accepts(text=take_instruction),
    Question.CALLOUT_MEETING: Accepts(text=text_for_the_meeting_point, place=take_meeting_point),
}
