"""A report leaves the citizen's hands: submitted as a new case (and routed at once), or its
photos added to the open case of the same kind nearby that the summary offered."""

from __future__ import annotations

import logging

from handlers.buttons import AddToCase, ReportAnyway, SubmitReport
from handlers.i18n import local_time
from handlers.texts import time_limit
from handlers.turn import ButtonOutcome, Outgoing, Turn
from storage import cases, drafts, routing
from storage.models import ReportDraft
from storage.vocab import DraftStatus, LocationSource

log = logging.getLogger(__name__)


async def submit(turn: Turn, draft: ReportDraft, _pressed: SubmitReport | ReportAnyway) -> ButtonOutcome:
    """Submit (or "Report anyway", despite a case of the same kind nearby): a new case, routed."""
    _, rt, now = turn._, turn.rt, turn.now
    assert draft.category_code is not None  # the summary's buttons come once the report is complete
    case = await cases.submit_case(
        turn.session,
        cases.NewCase(
            reporter_id=turn.person.id,
            category_code=draft.category_code,
            description=draft.description,
            lat=draft.lat,
            lon=draft.lon,
            address=draft.address,
            location_source=draft.location_source or LocationSource.TYPED,
            photo_ids=drafts.photo_ids(draft),
            answers=draft.answers,
        ),
        now,
        rt.settings.zone,
    )
    drafts.finish(draft, DraftStatus.SUBMITTED, case.id, now)
    await routing.route_case(turn.session, case, await turn.index(), now)
    text = _(
        "✅ Thank you! Your report is case <b>{number}</b>.\n"
        "It should be handled within {limit}, by {deadline}.\n"
        "We will message you at every step. See /mycases any time."
    ).format(
        number=case.number,
        limit=time_limit(rt, case.category_code, turn.person.language),
        deadline=local_time(case.deadline_at, rt.settings.zone, turn.person.language),
    )
    return ButtonOutcome(notice=_("Submitted"), markup=None, messages=[Outgoing(text, await turn.menu())])


async def add_to_case(turn: Turn, draft: ReportDraft, pressed: AddToCase) -> ButtonOutcome:
    """The draft's photos join the nearby case; the store re-checks that the summary offers it."""
    _ = turn._
    try:
        case = await drafts.merge_into_offered_case(turn.session, draft, pressed.case, turn.now)
    except drafts.NotOffered:
        # Not a case this report's summary offered: a forged button. Nothing of that case is shown.
        log.warning("merge of draft %s into case %s refused: not offered", draft.id, pressed.case)
        return ButtonOutcome(notice=_("This button is not valid."), alert=True)
    except cases.CaseStateError:
        return ButtonOutcome(notice=_("That case is no longer open. Tap “Report anyway” to send yours."), alert=True)
    text = _("➕ Thank you! Your photos were added to case <b>{number}</b>. You will hear of its progress.").format(
        number=case.number
    )
    return ButtonOutcome(notice=_("Added"), markup=None, messages=[Outgoing(text, await turn.menu())])


async def after_the_end(turn: Turn, draft: ReportDraft) -> ButtonOutcome:
    """A press on a report that is no longer open: where it went."""
    _ = turn._
    if draft.status == DraftStatus.SUBMITTED and draft.case_id:
        case = await cases.case_by_id(turn.session, draft.case_id)
        assert case is not None
        return ButtonOutcome(notice=_("Already submitted as case {number}.").format(number=case.number), markup=None)
    if draft.status == DraftStatus.MERGED and draft.case_id:
        case = await cases.case_by_id(turn.session, draft.case_id)
        assert case is not None
        return ButtonOutcome(notice=_("Your photos were already added to case {number}.").format(number=case.number),
                             markup=None)
    return ButtonOutcome(notice=_("This report was cancelled."), markup=None)
