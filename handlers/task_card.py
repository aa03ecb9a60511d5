"""The task card a grid worker or leader acts on, and the reminders and digest that point at it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.callbacks import button_data
from handlers.common import esc, tr
from handlers.dispatch_card import where_text
from handlers.fit import user
from handlers.i18n import Translate
from handlers.runtime import Runtime
from handlers.texts import category_label, deadline_line, state_name
from storage import cases, tasks
from storage.map_index import AreaIndex
from storage.models import Case, Person
from storage.tasks import Standing


async def card_text(session: AsyncSession, rt: Runtime, index: AreaIndex, person: Person, case: Case,
                    header: str | None = None) -> str:
    _ = tr(person)
    language = person.language
    now = rt.clock.now()
    lines = [header] if header else []
    lines += [
        _("📋 <b>Task {number}</b> · {state}").format(number=case.number, state=state_name(_, case.state)),
        _("🏷 {category}").format(category=esc(category_label(rt, case.category_code, language))),
        _("📍 {where}").format(where=await where_text(session, index, _, case)),
    ]
    if case.description:
        lines.append(_("📝 {text}").format(text=user(case.description)))
    if case.state in cases.OPEN_STATES:
        lines.append(deadline_line(rt, _, language, case, now))
    if case.state == "reopened":
        reason = await cases.reopen_reason(session, case)
        lines.append(_("🔁 The citizen is not satisfied.") + (" " + _("Reason: {reason}").format(reason=user(reason)) if reason else ""))
    if case.assignee_id not in (None, person.id) and case.state in cases.OPEN_STATES:
        holder = await session.get(Person, case.assignee_id)
        if holder is not None:
            lines.append(_("👷 With {name}").format(name=user(holder.name)))
    return "\n".join(lines)


def card_buttons(_: Translate, case: Case, who: Standing) -> InlineKeyboardMarkup | None:
    """What this person can still do with the task; none once it is finished or not theirs."""
    rows: list[list[InlineKeyboardButton]] = []
    waiting = case.state in tasks.WAITING_STATES and case.accepted_at is None and (case.state != "escalated" or who.holder)
    if waiting and (who.holder or who.colleague or who.leader):
        first = [InlineKeyboardButton(_("✅ Accept"), callback_data=button_data("t:acc", case.id))]
        if who.holder and case.state != "escalated":
            first.append(InlineKeyboardButton(_("🙅 Not mine"), callback_data=button_data("t:no", case.id)))
        rows.append(first)
    if case.state == "in_progress" and who.holder:
        rows.append([InlineKeyboardButton(_("📍 On site"), callback_data=button_data("t:site", case.id)),
                     InlineKeyboardButton(_("✅ Resolve"), callback_data=button_data("t:res", case.id))])
        rows.append([InlineKeyboardButton(_("⏫ Escalate"), callback_data=button_data("t:esc", case.id)),
                     InlineKeyboardButton(_("↩️ Hand back"), callback_data=button_data("t:back", case.id))])
    if who.leader and case.state in (*tasks.WORK_STATES, "escalated") and (waiting or who.holder):
        leader_row = [InlineKeyboardButton(_("👷 Give to a worker"), callback_data=button_data("t:give", case.id))]
        if who.holder and waiting:
            leader_row.append(InlineKeyboardButton(_("⏫ Escalate"), callback_data=button_data("t:esc", case.id)))
        rows.append(leader_row)
    return InlineKeyboardMarkup(rows) if rows else None


def reminder_header(_: Translate, stage: int | None, nudge: bool) -> str | None:
    if nudge:
        return _("🔔 <b>Reminder: this task is waiting for you to accept it.</b>")
    headers = {
        1: _("🔔 <b>Half of the time for this task has passed.</b>"),
        2: _("🔔 <b>80% of the time for this task has passed.</b>"),
        3: _("🚨 <b>This task has reached its deadline.</b>"),
    }
    return headers.get(stage or 0)


async def digest_text(session: AsyncSession, rt: Runtime, index: AreaIndex, person: Person) -> str | None:
    """The morning digest: open, due today, overdue; None when nothing is open any more."""
    _ = tr(person)
    now = rt.clock.now()
    counts = await tasks.task_counts(session, index, person.id, now, rt.settings.zone)
    if counts.open == 0:
        return None
    return "\n".join([
        _("☀️ <b>Good morning, {name}.</b> Your work today:").format(name=esc(person.name)),
        _("📋 Open: {count}").format(count=counts.open),
        _("⏰ Due today: {count}").format(count=counts.due_today),
        _("⚠️ Overdue: {count}").format(count=counts.overdue),
        _("/tasks lists them."),
    ])
