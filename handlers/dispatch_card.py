"""The case card a dispatcher decides on: what, where, why it came to them, and what they can do."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup

from handlers import keyboards
from handlers.fit import escape, user
from handlers.i18n import Translate, local_time, translator
from handlers.question_texts import answer_lines
from handlers.runtime import Runtime
from handlers.texts import category_label, state_name
from storage import areas, case_callouts, cases, dispatch, people, policy
from storage.map_index import AreaIndex
from storage.models import Case, Person
from storage.vocab import N_, CaseState

# Reasons a dispatcher most often gives for not accepting a case; the citizen reads them.
REJECT_REASONS = (
    N_("It is outside the area this service covers."),
    N_("It is not a matter for the grid service (private property, or for the police or a court)."),
    N_("There is not enough information to find or judge the problem."),
    N_("It has already been fixed."),
)
# A case in these states came to the dispatcher for a reason the card says (`why_it_came`).
ASKS_WHY = (CaseState.REPORTED, CaseState.ESCALATED)


def why_it_came(_: Translate, case: Case) -> str:
    """Why a case waits for a dispatcher rather than for a grid worker."""
    if case.state == CaseState.ESCALATED:
        return _("passed up to you from the grid")
    if case.placement == "outside":
        return _("the place is outside every grid")
    if case.placement == "typed" or case.lat is None:
        return _("the address was typed, not shared as a location")
    return _("no grid worker or leader is on duty for its grid")


async def where_text(session: AsyncSession, index: AreaIndex, _: Translate, case: Case) -> str:
    """The address or the point, and the areas it lies in, largest first."""
    if case.area_code is not None:
        chain = index.chain(case.area_code)
        names = await areas.area_names(session, chain)
        place = " › ".join(escape(names[c]) for c in reversed(chain) if c in names)
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
    """The case as a dispatcher decides on it: what, where, when, why them, and how it ended."""
    _ = translator(person.language)
    language = person.language
    lines = [
        _("🗂 <b>Case {number}</b> · {state}").format(number=case.number, state=state_name(_, case.state)),
        _("🏷 {category}").format(category=escape(category_label(rt, case.category_code, language))),
        _("📍 {where}").format(where=await where_text(session, index, _, case)),
    ]
    if case.description:
        lines.append(_("📝 {text}").format(text=user(case.description)))
    lines += answer_lines(_, rt, language, case.category_code, case.answers)
    lines.append(_("🕑 Reported {reported} · due by {deadline}").format(
        reported=local_time(case.created_at, rt.settings.zone, language),
        deadline=local_time(case.deadline_at, rt.settings.zone, language)))
    if case.state in ASKS_WHY:
        lines.append(_("❓ Why you: {why}").format(why=why_it_came(_, case)))
    if case.duplicate_of_id is not None:
        original = await cases.case_by_id(session, case.duplicate_of_id)
        if original is not None:
            lines.append(_("🔗 Same problem as case {number}").format(number=original.number))
    elif case.state == CaseState.REJECTED:
        reason = await dispatch.rejection_reason(session, case)
        if reason:
            lines.append(_("Reason: {reason}").format(reason=user(reason)))
    elif case.assignee_id is not None and case.state in (CaseState.ASSIGNED, CaseState.IN_PROGRESS):
        holder = await people.person_by_id(session, case.assignee_id)
        if holder is not None:
            lines.append(_("👷 With {name}").format(name=user(holder.name)))
    lines += await callout_lines(session, _, case)
    return "\n".join(lines)


async def callout_lines(session: AsyncSession, _: Translate, case: Case) -> list[str]:
    """The call-outs sent around the case (its history keeps them), with their roll calls."""
    return [_("🚨 Called out #{id} “{headline}” · {alerted} alerted, {coming} coming").format(
        id=found.mobilization.id, headline=user(found.mobilization.headline or ""), alerted=found.call.total,
        coming=found.call.coming) for found in await case_callouts.callouts_of_case(session, case.id)]


def card_buttons(_: Translate, case: Case) -> InlineKeyboardMarkup | None:
    """The decisions the case's state still allows (`storage.policy`, which the store checks again);
    none once it has left the dispatchers. Drawn only for whom may dispatch it (the caller checked),
    who, while deciding on it, may also call out the responders around it when it is on the map."""
    markup = keyboards.dispatch_card(_, case.id, policy.dispatch_actions(case.state, decides=True))
    if markup is None or not case_callouts.callable_around(case):
        return markup
    return keyboards.with_case_callout(_, markup, case.id)
