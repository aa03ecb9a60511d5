"""A citizen follows their cases: /mycases, each case's timeline, and rating the result."""

from __future__ import annotations

import logging

from telegram import Update

from handlers import keyboards
from handlers.callbacks import Pressed
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
from handlers.fit import shorten, user
from handlers.full_text import fitted_card
from handlers.i18n import Translate, local_time
from handlers.questions import Accepts
from handlers.runtime import Runtime
from handlers.texts import STATE_ICONS, category_label, state_name
from handlers.turn import Replies, Turn
from storage import cases, people, tasks
from storage.models import Case, CaseEvent, Person
from storage.vocab import Question

log = logging.getLogger(__name__)

PER_PAGE = 10
REOPEN_REASON = Question.REOPEN_REASON








def _list_page(rt: Runtime, person: Person, page_cases: list[Case], total: int, page: int) -> Outgoing:
    _ = tr(person)
    if total == 0:
        return Outgoing(_("You have no reports yet. Tap 📷 Report a problem to send one."))
    pages = (total + PER_PAGE - 1) // PER_PAGE
    header = _("<b>Your reports</b> ({total}), page {page} of {pages}. Tap one to see its history.").format(
        total=total, page=page + 1, pages=pages
    )
    entries = [
        (c.id, shorten(f"{STATE_ICONS.get(c.state, '')} {c.number} · {category_label(rt, c.category_code, person.language)}", 60))
        for c in page_cases
    ]
    return Outgoing(header, keyboards.case_list(_, entries, page, (page + 1) * PER_PAGE < total))


async def my_cases(update: Update, context: Context) -> None:
    rt = runtime(context)
    async with person_session(update, context) as (session, person):
        page_cases, total = await cases.followed_cases_page(session, person.id, 0, PER_PAGE)
        message = _list_page(rt, person, page_cases, total, 0)
    await send_all(context.bot, update.effective_chat.id, [message])


def _event_line(rt: Runtime, person: Person, event: CaseEvent, _: Translate) -> str:
    when = local_time(event.at, rt.settings.zone, person.language)
    if event.kind == "state":
        what = f"{STATE_ICONS.get(event.to_state or '', '')} {state_name(_, event.to_state or '')}"
    elif event.kind == "photos":
        what = _("➕ Photos added by another resident")
    elif event.kind == "on_site":
        what = _("📍 A grid worker was on site")
    elif event.kind == "upstream":
        what = _("🏙 Update from the city platform")
    else:
        what = _("💬 Comment")
    line = f"{when} — {what}"
    note = cases.note_for_citizens(event)
    if note:
        line += f"\n      {user(note)}"
    return line


def timeline_text(rt: Runtime, person: Person, case: Case, events: list[CaseEvent]) -> str:
    _ = tr(person)
    lines = [
        _("<b>Case {number}</b> · {state}").format(number=case.number, state=state_name(_, case.state)),
        _("🏷 {category}").format(category=esc(category_label(rt, case.category_code, person.language))),
    ]
    if case.description:
        lines.append(_("📝 {text}").format(text=user(case.description)))
    if case.state not in cases.FINAL_STATES:
        lines.append(_("⏰ Due by {deadline}").format(deadline=local_time(case.deadline_at, rt.settings.zone, person.language)))
    lines.append("")
    shown = [event for event in events if event.kind in cases.CITIZEN_STEPS]
    lines.extend(_event_line(rt, person, event, _) for event in shown[-30:])
    return "\n".join(lines)


async def on_case_button(update: Update, context: Context, pressed: Pressed) -> None:
    rt = runtime(context)
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        if pressed.action == "c:list":
            page = max(0, pressed.int_arg(0))
            page_cases, total = await cases.followed_cases_page(session, person.id, page, PER_PAGE)
            listing = _list_page(rt, person, page_cases, total, page)
            outcome = ButtonOutcome(edit_text=listing.text, markup=listing.markup)
        elif pressed.action == "c:open":
            try:
                case = await cases.followed_case(session, pressed.int_arg(0), person.id)
            except cases.NotYourCase:
                log.warning("update %s: case %s is not theirs", update.update_id, pressed.args[0])
                outcome = ButtonOutcome(notice=_("This button is not valid."))
            else:
                events = await cases.case_timeline(session, case.id)
                text, markup = fitted_card(_, timeline_text(rt, person, case, events), keyboards.back_to_list(_, 0), case.id)
                outcome = ButtonOutcome(edit_text=text, markup=markup)
        else:
            outcome = await _rate(rt, session, person, pressed, update.update_id)
    await show_outcome(update, context, outcome)


async def _rate(rt: Runtime, session, person: Person, pressed: Pressed, update_id: int) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    satisfied = pressed.args[1] == "1"
    try:
        case = await cases.rate_case(session, pressed.int_arg(0), person.id, satisfied, rt.clock.now())
    except (cases.NotYourCase, LookupError):
        log.warning("update %s: rating for case %s not theirs", update_id, pressed.args[0])
        return ButtonOutcome(notice=_("This button is not valid."))
    except cases.CaseStateError as error:
        return ButtonOutcome(
            notice=_("Case {number} is now “{state}”; this button no longer applies.").format(
                number=error.case.number, state=state_name(_, error.case.state)),
            markup=None,
        )
    if satisfied:
        text = _("👍 Thank you! Case <b>{number}</b> is closed.").format(number=case.number)
        return ButtonOutcome(notice=_("Thank you!"), markup=None, messages=[Outgoing(text)])
    await tasks.back_after_reopen(session, await rt.map.index(session), case, rt.clock.now())
    people.await_answer(person, REOPEN_REASON, case.id)
    text = _("🔁 Case <b>{number}</b> is reopened and goes back to the worker. What is still wrong? "
             "Type a few words, or /cancel.").format(number=case.number)
    return ButtonOutcome(notice=_("Reopened"), markup=None, messages=[Outgoing(text)])


async def take_reopen_reason(session, rt: Runtime, person: Person, text: str) -> list[Outgoing]:  # type: ignore[no-untyped-def]
    """The citizen's reason for not being satisfied, kept in the case's history."""
    _ = tr(person)
    case_id = person.awaiting_ref
    reason = text.strip()
    if (refusal := too_long(_, reason, cases.MAX_COMMENT)) is not None:
        return [refusal]  # still waiting for the reason, shorter
    people.stop_awaiting(person)
    if case_id is None:
        return []
    event = await cases.add_comment(session, case_id, person.id, reason, rt.clock.now())
    case = await cases.case_by_id(session, case_id)
    await tasks.pass_on_citizen_comment(session, case, event.id, rt.clock.now())
    return [Outgoing(_("Thank you, we passed it on."), keyboards.main_menu(_))]


async def _reopen_reason(turn: Turn, text: str) -> Replies:
    return await take_reopen_reason(turn.session, turn.rt, turn.person, text)


ANSWERS = {Question.REOPEN_REASON: Accepts(text=_reopen_reason)}
