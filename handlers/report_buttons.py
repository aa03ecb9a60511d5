"""The report's inline buttons: the place the photo carries, the category, no description, the
summary's Change and Cancel, and (from `report_submit`) Submit and Add my photos.

Every press names a draft. `PRESSES` says at which steps each button counts; `_on_draft` checks,
before any step runs, that the draft is the person's own, still open, and at one of those steps
(a button from an earlier step is out of date).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from handlers import keyboards, report_questions, report_submit
from handlers.buttons import (
    AddToCase,
    AnswerQuestion,
    BackToSummary,
    BackToTopCategories,
    Button,
    CancelReport,
    ChooseCategory,
    ChooseTopCategory,
    RedoPart,
    ReportAnyway,
    ShowChanges,
    SkipDescription,
    SkipQuestion,
    SubmitReport,
    UnsureOfCategory,
    UsePhotoPosition,
)
from handlers.citizen_report import after_location
from handlers.fit import escape
from handlers.report_prompts import step_prompt, summary
from handlers.texts import category_label
from handlers.turn import ButtonOutcome, Outgoing, PressHandler, Turn, press_step
from storage import drafts
from storage.drafts import FIELDS, DraftStep
from storage.models import ReportDraft
from storage.vocab import DraftStatus, LocationSource

log = logging.getLogger(__name__)


class _OnDraft(Protocol):
    @property
    def draft(self) -> int: ...


B = TypeVar("B", bound=_OnDraft)
DraftPress = Callable[[Turn, ReportDraft, B], Awaitable[ButtonOutcome]]


def _on_draft(step: DraftPress[B], *at: DraftStep) -> Callable[[Turn, B], Awaitable[ButtonOutcome]]:
    """The press's step, run only on the person's own open draft at one of the steps `at`."""

    async def checked(turn: Turn, pressed: B) -> ButtonOutcome:
        _ = turn._
        draft = await drafts.draft_of(turn.session, pressed.draft, turn.person.id)
        if draft is None:
            log.warning("update %s: report button for draft %s not theirs", turn.update_id, pressed.draft)
            return ButtonOutcome(notice=_("This button is not valid."))
        if draft.status != DraftStatus.OPEN:
            return await report_submit.after_the_end(turn, draft)
        if drafts.step_of(draft) not in at:
            return ButtonOutcome(notice=_("This button is out of date."))
        return await step(turn, draft, pressed)

    return checked


async def use_photo_position(turn: Turn, draft: ReportDraft, _pressed: UsePhotoPosition) -> ButtonOutcome:
    _ = turn._
    if draft.exif_lat is None or draft.exif_lon is None:
        return ButtonOutcome(notice=_("This button is out of date."), markup=None)
    if draft.lat is not None:
        return ButtonOutcome(notice=_("The report already has a location."), markup=None)
    drafts.set_location(draft, draft.exif_lat, draft.exif_lon, LocationSource.EXIF, None, turn.now)
    messages = await after_location(turn, draft)
    return ButtonOutcome(edit_text=_("📍 Using the place where the photo was taken."), markup=None, messages=list(messages))


async def choose_top_category(turn: Turn, draft: ReportDraft, pressed: ChooseTopCategory) -> ButtonOutcome:
    _ = turn._
    top = turn.rt.catalog.get(pressed.category)
    if top is None or top.parent_code is not None:
        return ButtonOutcome(notice=_("This button is out of date."))
    if not top.children:
        return await _categorised(turn, draft, top.code)
    return ButtonOutcome(
        edit_text=_("🏷 {category}: which one?").format(category=escape(top.name(turn.person.language))),
        markup=keyboards.sub_categories(_, turn.person.language, draft.id, top),
    )


async def back_to_top_categories(turn: Turn, draft: ReportDraft, _pressed: BackToTopCategories) -> ButtonOutcome:
    _ = turn._
    return ButtonOutcome(
        edit_text=_("🏷 What kind of problem is it?"),
        markup=keyboards.top_categories(_, turn.person.language, draft.id, turn.rt.catalog.top),
    )


async def choose_category(turn: Turn, draft: ReportDraft, pressed: ChooseCategory) -> ButtonOutcome:
    return await _categorised(turn, draft, pressed.category)


async def unsure_of_category(turn: Turn, draft: ReportDraft, _pressed: UnsureOfCategory) -> ButtonOutcome:
    return await _categorised(turn, draft, turn.rt.catalog.fallback_code())


async def _categorised(turn: Turn, draft: ReportDraft, code: str) -> ButtonOutcome:
    _ = turn._
    category = turn.rt.catalog.get(code)
    if category is None:
        return ButtonOutcome(notice=_("This button is out of date."))
    drafts.set_category(draft, code, turn.now, tuple(q.code for q in category.questions))
    drafts.advance(draft, turn.now)
    return ButtonOutcome(
        edit_text=_("🏷 Category: {category}").format(category=escape(category_label(turn.rt, code, turn.person.language))),
        markup=None,
        messages=await step_prompt(turn, draft),
    )


async def skip_description(turn: Turn, draft: ReportDraft, _pressed: SkipDescription) -> ButtonOutcome:
    _ = turn._
    drafts.set_description(draft, None, turn.now)
    drafts.advance(draft, turn.now)
    return ButtonOutcome(edit_text=_("📝 No description."), markup=None, messages=await step_prompt(turn, draft))


async def show_changes(turn: Turn, draft: ReportDraft, _pressed: ShowChanges) -> ButtonOutcome:
    return ButtonOutcome(markup=keyboards.change_choice(turn._, draft.id, answers=bool(draft.questions)))


async def back_to_summary(turn: Turn, draft: ReportDraft, _pressed: BackToSummary) -> ButtonOutcome:
    return ButtonOutcome(markup=(await summary(turn, draft)).markup)


async def redo_part(turn: Turn, draft: ReportDraft, pressed: RedoPart) -> ButtonOutcome:
    _ = turn._
    answers_again = pressed.part == DraftStep.QUESTIONS and bool(draft.questions)
    if pressed.part not in FIELDS and not answers_again:
        return ButtonOutcome(notice=_("This button is out of date."))
    part = DraftStep(pressed.part)
    drafts.reopen_field(draft, part, turn.now)
    messages = await step_prompt(turn, draft)
    if part == DraftStep.PHOTOS:
        messages = [Outgoing(_("📷 Send the new photos; the old ones were removed."), await turn.menu())]
    return ButtonOutcome(markup=None, messages=messages)


async def cancel_report(turn: Turn, draft: ReportDraft, _pressed: CancelReport) -> ButtonOutcome:
    drafts.finish(draft, DraftStatus.CANCELLED, None, turn.now)
    return ButtonOutcome(edit_text=turn._("✖️ Report cancelled. Nothing was sent."), markup=None)


# Each button, its step, and the steps at which it counts.
PRESSES: dict[type[Button], PressHandler] = {
    UsePhotoPosition: press_step(_on_draft(use_photo_position, DraftStep.PHOTOS, DraftStep.LOCATION)),
    ChooseTopCategory: press_step(_on_draft(choose_top_category, DraftStep.CATEGORY)),
    ChooseCategory: press_step(_on_draft(choose_category, DraftStep.CATEGORY)),
    UnsureOfCategory: press_step(_on_draft(unsure_of_category, DraftStep.CATEGORY)),
    BackToTopCategories: press_step(_on_draft(back_to_top_categories, DraftStep.CATEGORY)),
    SkipDescription: press_step(_on_draft(skip_description, DraftStep.DESCRIPTION)),
    AnswerQuestion: press_step(_on_draft(report_questions.answer_button, DraftStep.QUESTIONS)),
    SkipQuestion: press_step(_on_draft(report_questions.skip_button, DraftStep.QUESTIONS)),
    SubmitReport: press_step(_on_draft(report_submit.submit, DraftStep.CONFIRM)),
    ReportAnyway: press_step(_on_draft(report_submit.submit, DraftStep.CONFIRM)),
    AddToCase: press_step(_on_draft(report_submit.add_to_case, DraftStep.CONFIRM)),
    ShowChanges: press_step(_on_draft(show_changes, DraftStep.CONFIRM)),
    BackToSummary: press_step(_on_draft(back_to_summary, DraftStep.CONFIRM)),
    RedoPart: press_step(_on_draft(redo_part, DraftStep.CONFIRM)),
    CancelReport: press_step(_on_draft(cancel_report, *DraftStep)),  # at any step
}
