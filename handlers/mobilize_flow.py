"""/mobilize: a commander puts a call-out together (where, who, what), sees it as recipients will,
and sends it with one tap; the message with the Send button becomes the live roll call."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers import keyboards
from handlers.callbacks import Pressed, button_data
from handlers.callout import alert_text
from handlers.common import (
    ButtonOutcome,
    Context,
    Outgoing,
    esc,
    person_session,
    runtime,
    send_all,
    show_outcome,
    too_long,
    tr,
)
from handlers.fit import TEXT_LIMIT, fit, shorten, user
from handlers.i18n import N_, Translate, duration, local_time
from handlers.questions import Accepts, Place
from handlers.runtime import Runtime
from handlers.turn import Replies, Turn
from storage import areas, mobilize, people
from storage.map_index import AreaIndex
from storage.mobilize import GRID_WORKERS, RESPONDER_TAGS, MobilizeError
from storage.models import Mobilization, Person
from storage.vocab import Question

log = logging.getLogger(__name__)

POINT = Question.CALLOUT_POINT
HEADLINE = Question.CALLOUT_HEADLINE
INSTRUCTION = Question.CALLOUT_INSTRUCTION
MEETING = Question.CALLOUT_MEETING
UPDATE = Question.CALLOUT_UPDATE
QUESTIONS = (POINT, HEADLINE, INSTRUCTION, MEETING, UPDATE)
RADII = (100, 300, 500, 1000)
NEEDS = (5, 10, 20, 50)
MAX_BUTTONS = 40

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


def _problem(_: Translate, reason: str) -> str:
    return {
        "not_yours": _("This call-out is not yours."),
        "already_sent": _("This call-out has already been sent."),
        "nobody": _("Nobody is in this scope with these tags: nothing was sent. Choose a wider scope or other people."),
        "outside": _("That is outside your area: nothing was sent."),
        "over": _("This call-out is over."),
        "invalid": _("This button is not valid."),
        "no_command": _("Only grid leaders, dispatchers and administrators can call out responders."),
    }[reason]


async def start(update: Update, context: Context) -> None:
    rt = runtime(context)
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        command = await mobilize.command_of(session, person.id)
        if not command:
            message = Outgoing(_problem(_, "no_command"))
        else:
            draft = await mobilize.start_draft(session, person.id, rt.clock.now())
            index = await rt.map.index(session)
            home = sorted(command.areas)[0] if len(command.areas) == 1 and not command.everywhere else None
            message = Outgoing(_("🚨 <b>Call out responders</b>\n1/3 Where? Tick micro-grids or whole areas, or use a point."),
                               await _where_buttons(session, index, command, _, draft, home))
    await send_all(context.bot, update.effective_chat.id, [message])


async def _where_buttons(session: AsyncSession, index: AreaIndex, command: mobilize.Command, _: Translate,
                         draft: Mobilization, code: str | None) -> InlineKeyboardMarkup:
    """Areas to tick (a micro-grid, or a whole larger area) or to open, the point, and Next."""
    chosen = set(draft.area_codes)
    rows: list[list[InlineKeyboardButton]] = []
    if code is None:
        inside = index.children_of(None) if command.everywhere else sorted(command.areas)
    else:
        # Above the commander's own areas only the way down to them is shown, never their neighbours.
        inside = [child for child in index.children_of(code) if command.leads_to(index, child)]
        if command.covers(index, code):
            mark = "✅" if code in chosen else "⬜"
            names = await areas.area_names(session, [code])
            rows.append([InlineKeyboardButton(shorten(_("{mark} All of {area}").format(mark=mark, area=names.get(code, code)), 60),
                                              callback_data=button_data("m:tg", draft.id, code))])
    inside = inside[:MAX_BUTTONS]
    names = await areas.area_names(session, inside)
    buttons = []
    for child in inside:
        if index.level_of(child) == "microgrid":
            mark = "✅" if child in chosen else "⬜"
            buttons.append(InlineKeyboardButton(shorten(f"{mark} {names.get(child, child)}", 40), callback_data=button_data("m:tg", draft.id, child)))
        else:
            buttons.append(InlineKeyboardButton(shorten(f"📂 {names.get(child, child)}", 40), callback_data=button_data("m:in", draft.id, child)))
    rows += [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    last = [InlineKeyboardButton(_("📍 Around a point"), callback_data=button_data("m:pt", draft.id))]
    parent = index.parent_of.get(code) if code else None
    if parent is not None and command.covers(index, parent):
        last.insert(0, InlineKeyboardButton(_("⬆️ Up"), callback_data=button_data("m:in", draft.id, parent)))
    rows.append(last)
    if chosen:
        rows.append([InlineKeyboardButton(_("Next ➡️ ({count} chosen)").format(count=len(chosen)),
                                          callback_data=button_data("m:who", draft.id))])
    return InlineKeyboardMarkup(rows)


def _who_buttons(_: Translate, draft: Mobilization) -> InlineKeyboardMarkup:
    chosen = set(draft.tags)
    rows = [[InlineKeyboardButton(("✅ " if not chosen else "⬜ ") + _("All responders"),
                                  callback_data=button_data("m:tag", draft.id, 0))]]
    for number, tag in enumerate((*RESPONDER_TAGS, GRID_WORKERS), 1):
        mark = "✅" if tag in chosen else "⬜"
        rows.append([InlineKeyboardButton(f"{mark} {_(TAG_LABELS[tag])}", callback_data=button_data("m:tag", draft.id, number))])
    rows.append([InlineKeyboardButton(_("Next ➡️"), callback_data=button_data("m:what", draft.id))])
    return InlineKeyboardMarkup(rows)


def _what_buttons(_: Translate, draft: Mobilization) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(_(TEMPLATE_HEADLINES[t]), callback_data=button_data("m:tpl", draft.id, i))
               for i, t in enumerate(mobilize.TEMPLATES)]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def _need_buttons(_: Translate, draft: Mobilization) -> InlineKeyboardMarkup:
    row = [InlineKeyboardButton(_("Any"), callback_data=button_data("m:need", draft.id, 0))]
    row += [InlineKeyboardButton(str(n), callback_data=button_data("m:need", draft.id, n)) for n in NEEDS]
    return InlineKeyboardMarkup([row])


async def _preview(session: AsyncSession, rt: Runtime, person: Person, draft: Mobilization) -> list[Outgoing]:
    """The alert exactly as recipients will see it, how many it reaches, and the Send buttons."""
    _ = tr(person)
    index = await rt.map.index(session)
    micro, reached = await mobilize.scope_of(session, index, draft)
    names = await areas.area_names(session, micro[:5])
    where = ", ".join(esc(names.get(c, c)) for c in micro[:5]) + (" …" if len(micro) > 5 else "")
    sample = alert_text(_, rt, person.language, draft, person.name, False)
    summary = _("This will alert <b>{count}</b> people in {micro} micro-grid(s): {where}").format(
        count=len(reached), micro=len(micro), where=where or "-")
    buttons = InlineKeyboardMarkup([
        [InlineKeyboardButton(_("🚨 Send now"), callback_data=button_data("m:go", draft.id, 0))],
        [InlineKeyboardButton(_("🧪 Send as a drill"), callback_data=button_data("m:go", draft.id, 1)),
         InlineKeyboardButton(_("✖️ Cancel"), callback_data=button_data("m:x", draft.id))],
    ])
    return [Outgoing(_("Preview – recipients will see:") + "\n\n" + sample),
            Outgoing(summary, buttons)]


Step = Callable[[AsyncSession, Runtime, Person, Mobilization, Pressed], Awaitable[ButtonOutcome]]


async def on_mobilize_button(update: Update, context: Context, pressed: Pressed) -> None:
    rt = runtime(context)
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        try:
            if pressed.action in BOARD_ACTIONS:
                outcome = await BOARD_ACTIONS[pressed.action](session, rt, person, pressed)
            else:
                draft = await mobilize.draft_of(session, pressed.int_arg(0), person.id)
                outcome = await STEPS[pressed.action](session, rt, person, draft, pressed)
                if pressed.action == "m:go" and update.callback_query.message is not None:
                    # The message with the Send button becomes the live roll call.
                    draft.board_message_id = update.callback_query.message.message_id
        except MobilizeError as error:
            log.info("update %s: %s refused: %s", update.update_id, pressed.action, error.reason)
            outcome = ButtonOutcome(notice=_problem(_, error.reason), alert=True)
    await show_outcome(update, context, outcome)


async def _open_area(session, rt, person, draft, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    index = await rt.map.index(session)
    command = await mobilize.command_of(session, person.id)
    code = pressed.args[1]
    if code not in index.position or not command.leads_to(index, code):
        raise MobilizeError("outside")
    return ButtonOutcome(markup=await _where_buttons(session, index, command, _, draft, code))


async def _toggle_area(session, rt, person, draft, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    index = await rt.map.index(session)
    command = await mobilize.command_of(session, person.id)
    code = pressed.args[1]
    if code not in index.position or not command.covers(index, code):
        raise MobilizeError("outside")
    chosen = list(draft.area_codes)
    draft.area_codes = [c for c in chosen if c != code] if code in chosen else [*chosen, code]
    draft.center_lat = draft.center_lon = draft.radius_m = None
    at = code if index.level_of(code) != "microgrid" else index.parent_of.get(code)
    return ButtonOutcome(markup=await _where_buttons(session, index, command, _, draft, at))


async def _ask_point(session, rt, person, draft, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    people.await_answer(person, POINT, draft.id)
    return ButtonOutcome(messages=[Outgoing(_("📍 Send the location of the centre (📎 → Location)."), keyboards.location_request(_))])


async def _radius(session, rt, person, draft, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    metres = pressed.int_arg(1)
    if metres not in RADII or draft.center_lat is None:
        raise MobilizeError("invalid")
    index = await rt.map.index(session)
    command = await mobilize.command_of(session, person.id)
    found = mobilize.micro_grids_around(index, draft.center_lat, draft.center_lon, metres)
    if not found or not all(command.covers(index, c) for c in found):
        raise MobilizeError("outside" if found else "nobody")
    draft.radius_m = metres
    draft.area_codes = found
    return await _who(session, rt, person, draft, pressed)


async def _who(session, rt, person, draft, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    if not draft.area_codes:
        raise MobilizeError("invalid")
    return ButtonOutcome(edit_text=_("🚨 <b>Call out responders</b>\n2/3 Who?"), markup=_who_buttons(_, draft))


async def _toggle_tag(session, rt, person, draft, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    number = pressed.int_arg(1)
    options = (*RESPONDER_TAGS, GRID_WORKERS)
    if number == 0:
        draft.tags = []
    elif number <= len(options):
        tag = options[number - 1]
        draft.tags = [t for t in draft.tags if t != tag] if tag in draft.tags else [*draft.tags, tag]
    else:
        raise MobilizeError("invalid")
    return ButtonOutcome(markup=_who_buttons(_, draft))


async def _what(session, rt, person, draft, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    return ButtonOutcome(edit_text=_("🚨 <b>Call out responders</b>\n3/3 What is happening?"), markup=_what_buttons(_, draft))


async def _template(session, rt, person, draft, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    number = pressed.int_arg(1)
    if number >= len(mobilize.TEMPLATES):
        raise MobilizeError("invalid")
    draft.template = mobilize.TEMPLATES[number]
    if draft.template == "free":
        people.await_answer(person, HEADLINE, draft.id)
        return ButtonOutcome(markup=None, messages=[Outgoing(_("Type a short headline (what is happening)."))])
    draft.headline = _(TEMPLATE_HEADLINES[draft.template])
    people.await_answer(person, INSTRUCTION, draft.id)
    return ButtonOutcome(markup=None, messages=[Outgoing(_("Type the instruction: what should people do, and where?"))])


async def _skip_meeting(session, rt, person, draft, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    people.stop_awaiting(person)
    draft.meet_lat = draft.meet_lon = None
    return ButtonOutcome(markup=None, messages=[Outgoing(_("How many people are needed?"), _need_buttons(_, draft))])


async def _need(session, rt, person, draft, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    number = pressed.int_arg(1)
    if number != 0 and number not in NEEDS:
        raise MobilizeError("invalid")
    draft.need = number or None
    return ButtonOutcome(markup=None, messages=await _preview(session, rt, person, draft))


async def _send(session, rt, person, draft, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    index = await rt.map.index(session)
    drill = pressed.int_arg(1) == 1
    mobilization, count = await mobilize.send(session, index, draft.id, person.id, rt.clock.now(), drill)
    text = await board_text(session, rt, person, mobilization)
    mobilization.board_text = text
    mobilization.board_edited_at = rt.clock.now()
    return ButtonOutcome(notice=_("Sent to {count} people.").format(count=count), edit_text=text,
                         markup=board_buttons(_, mobilization))


async def _cancel(session, rt, person, draft, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    draft.state = "dropped"
    return ButtonOutcome(edit_text=_("✖️ Call-out cancelled. Nothing was sent."), markup=None)


STEPS: dict[str, Step] = {
    "m:in": _open_area,
    "m:tg": _toggle_area,
    "m:pt": _ask_point,
    "m:rad": _radius,
    "m:who": _who,
    "m:tag": _toggle_tag,
    "m:what": _what,
    "m:tpl": _template,
    "m:nomeet": _skip_meeting,
    "m:need": _need,
    "m:go": _send,
    "m:x": _cancel,
}


# --- typed answers and locations during the conversation ---------------------------------------------


async def take_typed_answer(session: AsyncSession, rt: Runtime, person: Person, text: str) -> list[Outgoing]:
    _ = tr(person)
    question, ref = person.awaiting, person.awaiting_ref
    words = " ".join(text.split())
    if not words or ref is None:
        return [Outgoing(_("Please type a few words, or /cancel."))]
    limits = {HEADLINE: mobilize.MAX_HEADLINE, INSTRUCTION: mobilize.MAX_INSTRUCTION, UPDATE: mobilize.MAX_UPDATE}
    limit = limits.get(question)
    if limit is not None and (refusal := too_long(_, words, limit)) is not None:
        return [refusal]  # still waiting: the same question, shorter
    if question == UPDATE:
        people.stop_awaiting(person)
        try:
            count = await mobilize.follow_up(session, ref, person.id, words, rt.clock.now())
        except MobilizeError as error:
            return [Outgoing(_problem(_, error.reason))]
        return [Outgoing(_("📢 Update sent to {count} people.").format(count=count))]
    try:
        draft = await mobilize.draft_of(session, ref, person.id)
    except MobilizeError as error:
        people.stop_awaiting(person)
        return [Outgoing(_problem(_, error.reason))]
    if question == HEADLINE:
        draft.headline = words
        people.await_answer(person, INSTRUCTION, draft.id)
        return [Outgoing(_("Type the instruction: what should people do, and where?"))]
    if question == INSTRUCTION:
        draft.instruction = words
        people.await_answer(person, MEETING, draft.id)
        skip = InlineKeyboardMarkup([[InlineKeyboardButton(_("No meeting point"), callback_data=button_data("m:nomeet", draft.id))]])
        return [Outgoing(_("📍 Send the meeting point as a location, or tap No meeting point."), skip)]
    if question == POINT:
        return [Outgoing(_("📍 Please send a location (📎 → Location), or /cancel."))]
    return [Outgoing(_("📍 Send the meeting point as a location, or tap No meeting point."))]


async def take_location(session: AsyncSession, rt: Runtime, person: Person, lat: float, lon: float) -> list[Outgoing]:
    """The centre of "around a point", or the meeting point."""
    _ = tr(person)
    question, ref = person.awaiting, person.awaiting_ref
    people.stop_awaiting(person)
    try:
        draft = await mobilize.draft_of(session, ref or 0, person.id)
    except MobilizeError as error:
        return [Outgoing(_problem(_, error.reason), keyboards.main_menu(_))]
    if question == POINT:
        draft.center_lat, draft.center_lon = lat, lon
        row = [InlineKeyboardButton(_("{metres} m").format(metres=m), callback_data=button_data("m:rad", draft.id, m)) for m in RADII]
        return [Outgoing(_("📍 Centre set."), keyboards.main_menu(_)), Outgoing(_("How far around it?"), InlineKeyboardMarkup([row]))]
    draft.meet_lat, draft.meet_lon = lat, lon
    return [Outgoing(_("📍 Meeting point set."), keyboards.main_menu(_)),
            Outgoing(_("How many people are needed?"), _need_buttons(_, draft))]


# --- /mobilizations ------------------------------------------------------------------------------------


async def show_recent(update: Update, context: Context) -> None:
    rt = runtime(context)
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        if not await mobilize.command_of(session, person.id):
            text = _problem(_, "no_command")
        else:
            lines = [_("🚨 <b>Your recent call-outs</b>")]
            for mobilization in await mobilize.recent(session, person.id):
                call = await mobilize.roll_call(session, mobilization.id)
                when = local_time(mobilization.sent_at or mobilization.created_at, rt.settings.zone, person.language)
                state = _("over") if mobilization.state == "over" else _("active")
                lines.append(_("#{id} {drill}<b>{headline}</b> · {when} · {state}\n   {total} called: {coming} coming, "
                               "{arrived} arrived, {cannot} can't, {none} no answer, {unreachable} unreachable").format(
                    id=mobilization.id, drill="🧪 " if mobilization.drill else "", headline=user(mobilization.headline),
                    when=when, state=state, total=call.total, coming=call.count("coming"), arrived=call.count("arrived"),
                    cannot=call.count("cannot"), none=call.count("none"), unreachable=call.count("unreachable")))
            text = "\n".join(lines) if len(lines) > 1 else _("You have not called anyone out yet. /mobilize starts one.")
    await send_all(context.bot, update.effective_chat.id, [Outgoing(text)])


# --- the live board ----------------------------------------------------------------------------------


async def board_text(session: AsyncSession, rt: Runtime, person: Person, mobilization: Mobilization) -> str:
    _ = tr(person)
    call = await mobilize.roll_call(session, mobilization.id)
    since = duration(rt.clock.now() - (mobilization.sent_at or rt.clock.now()), person.language)
    head = [_("🧪 DRILL") if mobilization.drill else "",
            f"🚨 <b>{user(mobilization.headline)}</b>",
            _("Sent {since} ago · delivered {delivered}/{total}").format(since=since, delivered=call.delivered, total=call.total)]
    if mobilization.state == "over":
        head.append(_("🛑 Stood down"))
    lines = [line for line in head if line]
    labels = {"coming": _("✅ Coming"), "arrived": _("📍 Arrived"), "cannot": _("❌ Can't come"),
              "none": _("⏳ Not answered"), "unreachable": _("🚫 Unreachable")}
    for answer in ("coming", "arrived", "cannot", "none", "unreachable"):
        names = call.names[answer]
        shown = ", ".join(user(n) for n in names[:15]) + (" …" if len(names) > 15 else "")
        lines.append(f"{labels[answer]}: <b>{len(names)}</b>" + (f" – {shown}" if names and answer != "none" else ""))
    if mobilization.need:
        lines.append(_("👥 Needed: {need}").format(need=mobilization.need))
    return fit("\n".join(lines), TEXT_LIMIT).text


def board_buttons(_: Translate, mobilization: Mobilization) -> InlineKeyboardMarkup | None:
    if mobilization.state != "active":
        return None
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(_("🔔 Re-alert non-responders"), callback_data=button_data("m:re", mobilization.id))],
        [InlineKeyboardButton(_("📢 Update"), callback_data=button_data("m:up", mobilization.id)),
         InlineKeyboardButton(_("🛑 Stand down"), callback_data=button_data("m:end", mobilization.id))],
    ])


async def _realert(session, rt, person, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    count = await mobilize.realert(session, pressed.int_arg(0), person.id, rt.clock.now())
    return ButtonOutcome(notice=_("Alerted again: {count} people.").format(count=count))


async def _ask_update(session, rt, person, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    mobilization = await session.get(Mobilization, pressed.int_arg(0))
    if mobilization is None or mobilization.commander_id != person.id:
        raise MobilizeError("not_yours")
    if mobilization.state != "active":
        raise MobilizeError("over")
    people.await_answer(person, UPDATE, mobilization.id)
    return ButtonOutcome(messages=[Outgoing(_("Type the update for everyone who got the call-out, or /cancel."))])


async def _stand_down(session, rt, person, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    count = await mobilize.stand_down(session, pressed.int_arg(0), person.id, rt.clock.now())
    mobilization = await session.get(Mobilization, pressed.int_arg(0))
    text = await board_text(session, rt, person, mobilization)
    mobilization.board_text = text
    return ButtonOutcome(notice=_("Stood down; {count} people are told.").format(count=count), edit_text=text, markup=None)


async def _widen(session, rt, person, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    index = await rt.map.index(session)
    count = await mobilize.widen(session, index, pressed.int_arg(0), person.id, pressed.int_arg(1) == 1, rt.clock.now())
    return ButtonOutcome(notice=_("Widened: {count} more people alerted.").format(count=count), markup=None)


def widen_offer(_: Translate, mobilization: Mobilization, coming: int) -> tuple[str, InlineKeyboardMarkup]:
    text = _("⚠️ Only {coming} of the {need} people needed are coming to “{headline}”. Call more?").format(
        coming=coming, need=mobilization.need, headline=user(mobilization.headline))
    return text, InlineKeyboardMarkup([
        [InlineKeyboardButton(_("➕ Neighbouring micro-grids"), callback_data=button_data("m:wd", mobilization.id, 0))],
        [InlineKeyboardButton(_("➕ The whole grid"), callback_data=button_data("m:wd", mobilization.id, 1))],
    ])


BOARD_ACTIONS = {"m:re": _realert, "m:up": _ask_update, "m:end": _stand_down, "m:wd": _widen}


async def _typed(turn: Turn, text: str) -> Replies:
    return await take_typed_answer(turn.session, turn.rt, turn.person, text)


async def _place(turn: Turn, place: Place) -> Replies:
    return await take_location(turn.session, turn.rt, turn.person, place.lat, place.lon)


ANSWERS = {
    Question.CALLOUT_POINT: Accepts(text=_typed, place=_place),
    Question.CALLOUT_HEADLINE: Accepts(text=_typed),
    Question.CALLOUT_INSTRUCTION: Accepts(text=_typed),
    Question.CALLOUT_MEETING: Accepts(text=_typed, place=_place),
    Question.CALLOUT_UPDATE: Accepts(text=_typed),
}
