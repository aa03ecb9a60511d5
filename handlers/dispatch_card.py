"""The case card a dispatcher decides on: what, where, why it came to them, and what they can do."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.callbacks import button_data
from handlers.common import esc, tr
from handlers.fit import user
from handlers.i18n import N_, Translate, local_time
from handlers.runtime import Runtime
from handlers.texts import category_label, state_name
from storage import areas, cases
from storage.map_index import AreaIndex
from storage.models import Case, Person

# Reasons a dispatcher most often gives for not accepting a case; the citizen reads them.
REJECT_REASONS = (
    N_("It is outside the area this service covers."),
    N_("It is not a matter for the grid service (private property, or for the police or a court)."),
    N_("There is not enough information to find or judge the problem."),
    N_("It has already been fixed."),
)


def why_it_came(_: Translate, case: Case) -> str:
    if case.state == "escalated":
        return _("passed up to you from the grid")
    if case.placement == "outside":
        return _("the place is outside every grid")
    if case.placement == "typed" or case.lat is None:
        return _("the address was typed, not shared as a location")
    return _("no grid worker or leader is on duty for its grid")


async def where_text(session: AsyncSession, index: AreaIndex, _: Translate, case: Case) -> str:
    if case.area_code is not None:
        chain = index.chain(case.area_code)
        names = await areas.area_names(session, chain)
        place = " › ".join(esc(names[c]) for c in reversed(chain) if c in names)
    elif case.placement == "outside":
        place = _("outside the service area")
    else:
        place = _("not on the map")
    if case.address:
        return f"{user(case.address)} · {place}"
    if case.lat is not None and case.lon is not None:
        return f"{case.lat:.5f}, {case.lon:.5f} · {place}"
    return place


async def card_text(session: AsyncSession, rt: Runtime, index: AreaIndex, person: Person, case: Case) -> str:
    _ = tr(person)
    language = person.language
    lines = [
        _("🗂 <b>Case {number}</b> · {state}").format(number=case.number, state=state_name(_, case.state)),
        _("🏷 {category}").format(category=esc(category_label(rt, case.category_code, language))),
        _("📍 {where}").format(where=await where_text(session, index, _, case)),
    ]
    if case.description:
        lines.append(_("📝 {text}").format(text=user(case.description)))
    lines.append(_("🕑 Reported {reported} · due by {deadline}").format(
        reported=local_time(case.created_at, rt.settings.zone, language),
        deadline=local_time(case.deadline_at, rt.settings.zone, language)))
    if case.state in ("reported", "escalated"):
        lines.append(_("❓ Why you: {why}").format(why=why_it_came(_, case)))
    if case.duplicate_of_id is not None:
        original = await cases.case_by_id(session, case.duplicate_of_id)
        if original is not None:
            lines.append(_("🔗 Same problem as case {number}").format(number=original.number))
    elif case.state == "rejected":
        events = await cases.case_timeline(session, case.id)
        reason = next((e.note for e in reversed(events) if e.to_state == "rejected"), None)
        if reason:
            lines.append(_("Reason: {reason}").format(reason=user(reason)))
    elif case.assignee_id is not None and case.state in ("assigned", "in_progress"):
        holder = await session.get(Person, case.assignee_id)
        if holder is not None:
            lines.append(_("👷 With {name}").format(name=user(holder.name)))
    return "\n".join(lines)


def card_buttons(_: Translate, case: Case) -> InlineKeyboardMarkup | None:
    """The decisions the case's state still allows; none once it has left the dispatcher."""
    allowed = cases.TRANSITIONS[case.state]
    if case.state not in ("reported", "accepted", "escalated", "reopened"):
        return None
    rows: list[list[InlineKeyboardButton]] = []
    first = []
    if "accepted" in allowed and case.state != "accepted":
        first.append(InlineKeyboardButton(_("✅ Accept as is"), callback_data=button_data("d:acc", case.id)))
    if "assigned" in allowed:
        first.append(InlineKeyboardButton(_("👷 Assign"), callback_data=button_data("d:asg", case.id)))
    rows.append(first)
    if "rejected" in allowed:
        rows.append([
            InlineKeyboardButton(_("⛔ Reject"), callback_data=button_data("d:rej", case.id)),
            InlineKeyboardButton(_("🔗 Duplicate of…"), callback_data=button_data("d:dup", case.id)),
        ])
    return InlineKeyboardMarkup([row for row in rows if row])
