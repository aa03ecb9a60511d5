"""A citizen follows their cases: /mycases, each case's timeline, and rating the result.

Rating a resolved case "not satisfied" reopens it and asks why; the next typed text is the reason.

```mermaid
stateDiagram-v2
    [*] --> resolved: a worker resolves the case (the citizen is asked to rate it)
    resolved --> [*]: 👍 Satisfied (closed)
    resolved --> reopen_reason: 👎 Not satisfied (reopened, back to the worker)
    reopen_reason --> [*]: a few words (passed on to the worker), /cancel
```
"""

from __future__ import annotations

import logging

from telegram import Message

from handlers import keyboards
from handlers.buttons import Button, ListMyCases, OpenMyCase, RateCase
from handlers.fit import escape, shorten, user
from handlers.full_text import fitted_card
from handlers.i18n import Translate, local_time
from handlers.question_texts import answer_lines
from handlers.questions import Accepts
from handlers.texts import STATE_ICONS, category_label, state_name
from handlers.turn import ButtonOutcome, Outgoing, PressHandler, Replies, Turn, press_step
from handlers.typed_text import too_long
from storage import cases, people, tasks
from storage.models import Case, CaseEvent
from storage.vocab import FINAL_STATES, Question

log = logging.getLogger(__name__)

PER_PAGE = 10


def _list_page(turn: Turn, page_cases: list[Case], total: int, page: int) -> Outgoing:
    _ = turn._
    if total == 0:
        return Outgoing(_("You have no reports yet. Tap 📷 Report a problem to send one."))
    pages = (total + PER_PAGE - 1) // PER_PAGE
    header = _("<b>Your reports</b> ({total}), page {page} of {pages}. Tap one to see its history.").format(
        total=total, page=page + 1, pages=pages
    )
    language = turn.person.language
    entries = [
        (c.id, shorten(f"{STATE_ICONS.get(c.state, '')} {c.number} · {category_label(turn.rt, c.category_code, language)}", 60))
        for c in page_cases
    ]
    return Outgoing(header, keyboards.case_list(_, entries, page, (page + 1) * PER_PAGE < total))


async def my_cases(turn: Turn, _message: Message) -> Replies:
    page_cases, total = await cases.followed_cases_page(turn.session, turn.person.id, 0, PER_PAGE)
    return [_list_page(turn, page_cases, total, 0)]


async def list_page(turn: Turn, pressed: ListMyCases) -> ButtonOutcome:
    page = max(0, pressed.page)
    page_cases, total = await cases.followed_cases_page(turn.session, turn.person.id, page, PER_PAGE)
    listing = _list_page(turn, page_cases, total, page)
    return ButtonOutcome(edit_text=listing.text, markup=listing.markup)


def _event_line(turn: Turn, event: CaseEvent, _: Translate) -> str:
    when = local_time(event.at, turn.rt.settings.zone, turn.person.language)
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


def timeline_text(turn: Turn, case: Case, events: list[CaseEvent]) -> str:
    _ = turn._
    rt, language = turn.rt, turn.person.language
    lines = [
        _("<b>Case {number}</b> · {state}").format(number=case.number, state=state_name(_, case.state)),
        _("🏷 {category}").format(category=escape(category_label(rt, case.category_code, language))),
    ]
    if case.description:
        lines.append(_("📝 {text}").format(text=user(case.description)))
    lines += answer_lines(_, rt, language, case.category_code, case.answers)
    if case.state not in FINAL_STATES:
        lines.append(_("⏰ Due by {deadline}").format(deadline=local_time(case.deadline_at, rt.settings.zone, language)))
    lines.append("")
    shown = [event for event in events if event.kind in cases.CITIZEN_STEPS]
    lines.extend(_event_line(turn, event, _) for event in shown[-30:])
    return "\n".join(lines)


async def open_case(turn: Turn, pressed: OpenMyCase) -> ButtonOutcome:
    _ = turn._
    try:
        case = await cases.followed_case(turn.session, pressed.case, turn.person.id)
    except cases.NotYourCase:
        log.warning("update %s: case %s is not theirs", turn.update_id, pressed.case)
        return ButtonOutcome(notice=_("This button is not valid."))
    events = await cases.case_timeline(turn.session, case.id)
    text, markup = fitted_card(_, timeline_text(turn, case, events), keyboards.back_to_list(_, 0), case.id)
    return ButtonOutcome(edit_text=text, markup=markup)


async def rate(turn: Turn, pressed: RateCase) -> ButtonOutcome:
    _ = turn._
    satisfied = pressed.satisfied == 1
    try:
        case = await cases.rate_case(turn.session, pressed.case, turn.person.id, satisfied, turn.now)
    except (cases.NotYourCase, LookupError):
        log.warning("update %s: rating for case %s not theirs", turn.update_id, pressed.case)
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
    await tasks.back_after_reopen(turn.session, await turn.index(), case, turn.now)
    people.await_answer(turn.person, Question.REOPEN_REASON, case.id)
    text = _("🔁 Case <b>{number}</b> is reopened and goes back to the worker. What is still wrong? "
             "Type a few words, or /cancel.").format(number=case.number)
    return ButtonOutcome(notice=_("Reopened"), markup=None, messages=[Outgoing(text)])


async def take_reopen_reason(turn: Turn, text: str) -> Replies:
    """The citizen's reason for not being satisfied, kept in the case's history."""
    _ = turn._
    case_id = turn.person.awaiting_ref
    reason = text.strip()
    if (refusal := too_long(_, reason, cases.MAX_COMMENT)) is not None:
        return [refusal]  # still waiting for the reason, shorter
    people.stop_awaiting(turn.person)
    if case_id is None:
        return []
    event = await cases.add_comment(turn.session, case_id, turn.person.id, reason, turn.now)
    case = await cases.case_by_id(turn.session, case_id)
    assert case is not None  # the comment was just added to it
    await tasks.pass_on_citizen_comment(turn.session, case, event.id, turn.now)
    return [Outgoing(_("Thank you, we passed it on."), await turn.menu())]


PRESSES: dict[type[Button], PressHandler] = {
    ListMyCases: press_step(list_page),
    OpenMyCase: press_step(open_case),
    RateCase: press_step(rate),
}

ANSWERS = {Question.REOPEN_REASON: Accepts(text=take_reopen_reason)}
