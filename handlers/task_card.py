"""The task card a grid worker or leader acts on, and the reminders and digest that point at it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup

from handlers import keyboards
from handlers.dispatch_card import callout_lines, where_text
from handlers.fit import escape, user
from handlers.i18n import Translate, local_time, translator
from handlers.question_texts import answer_lines
from handlers.runtime import Runtime
from handlers.texts import category_label, deadline_line, part_label, state_name
from storage import case_callouts, cases, joint, people, policy, tasks
from storage.map_index import AreaIndex
from storage.models import Case, Person
from storage.policy import Standing
from storage.vocab import OPEN_STATES, CaseState


async def card_text(session: AsyncSession, rt: Runtime, index: AreaIndex, person: Person, case: Case,
                    header: str | None = None) -> str:
    _ = translator(person.language)
    language = person.language
    now = rt.clock.now()
    lines = [header] if header else []
    lines += [
        _("📋 <b>Task {number}</b> · {state}").format(number=case.number, state=state_name(_, case.state)),
        _("🏷 {category}").format(category=escape(category_label(rt, case.category_code, language))),
        _("📍 {where}").format(where=await where_text(session, index, _, case)),
    ]
    if case.description:
        lines.append(_("📝 {text}").format(text=user(case.description)))
    lines += answer_lines(_, rt, language, case.category_code, case.answers)
    if case.state in OPEN_STATES:
        lines.append(deadline_line(rt, _, language, case, now))
    step = tasks.late_step(case)
    if step is not None:  # the step the case is in has a limit of its own
        when = local_time(step[1], rt.settings.zone, language)
        lines.append(_("📥 Accept by {when}").format(when=when) if step[0] == tasks.LATE_TO_ACCEPT
                     else _("📍 On site by {when}").format(when=when))
    if case.state == CaseState.REOPENED:
        reason = await cases.reopen_reason(session, case)
        why = " " + _("Reason: {reason}").format(reason=user(reason)) if reason else ""
        lines.append(_("🔁 The citizen is not satisfied.") + why)
    if case.assignee_id is not None and case.assignee_id != person.id and case.state in OPEN_STATES:
        holder = await people.person_by_id(session, case.assignee_id)
        if holder is not None:
            lines.append(_("👷 With {name}").format(name=user(holder.name)))
    for part, name in await joint.parts_of(session, case.id):  # joint handling (主协办): each co-holder's part
        lines.append(_("🤝 {name}: {state}").format(name=escape(name), state=part_label(_, part.state)))
    lines += await callout_lines(session, _, case)
    return "\n".join(lines)


def card_buttons(_: Translate, case: Case, who: Standing) -> InlineKeyboardMarkup | None:
    """What this person may do with the task now (`storage.policy`, which the store checks again);
    none once it is finished or not theirs. The grid's leader may also call out the responders
    around it while it is open and on the map."""
    markup = keyboards.task_card(_, case.id, policy.task_actions(case.state, case.accepted_at is not None, who))
    return keyboards.with_case_callout(_, markup, case.id) if who.leader and case_callouts.callable_around(case) else markup


def reminder_header(_: Translate, stage: int | None, nudge: bool) -> str | None:
    if nudge:
        return _("🔔 <b>Reminder: this task is waiting for you to accept it.</b>")
    headers = {
        1: _("🔔 <b>Half of the time for this task has passed.</b>"),
        2: _("🔔 <b>80 percent of the time for this task has passed.</b>"),
        3: _("🚨 <b>This task has reached its deadline.</b>"),
        tasks.LATE_TO_ACCEPT: _("⏰ <b>The time to accept this task is up.</b>"),
        tasks.LATE_ON_SITE: _("⏰ <b>The time to be on site for this task is up.</b> Tap 📍 On site when you are there."),
    }
    return headers.get(stage or 0)


async def digest_text(session: AsyncSession, rt: Runtime, index: AreaIndex, person: Person) -> str | None:
    """The morning digest: open, due today, overdue; None when nothing is open any more."""
    _ = translator(person.language)
    now = rt.clock.now()
    counts = await tasks.task_counts(session, index, person.id, now, rt.settings.zone)
    if counts.open == 0:
        return None
    return "\n".join([
        _("☀️ <b>Good morning, {name}.</b> Your work today:").format(name=escape(person.name)),
        _("📋 Open: {count}").format(count=counts.open),
        _("⏰ Due today: {count}").format(count=counts.due_today),
        _("⚠️ Overdue: {count}").format(count=counts.overdue),
        _("/tasks lists them."),
    ])
